// The cluster's event stream: one sequence per workspace, appended to events.ndjson, with the
// newest events kept in a bounded ring. The sequence number continues across reopening and
// across a destroyed cluster, so a client that asks for "everything after seq N" never sees a
// number twice. The file is the history: queries that reach past the ring read it backwards
// from the right place, and counts are kept over all of it, so a client never has to hold
// the whole history to filter or count it.

import { appendFile, open, rename, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import {
  eventMatches,
  type ClusterEvent,
  type ClusterEventKind,
  type EventCountQuery,
  type EventCounts,
  type EventQuery,
} from '../../shared/api'

export const EVENT_RING_SIZE = 5000
/** How much of events.ndjson is read back on open: enough for a full ring. */
const TAIL_BYTES = 4 * 1024 * 1024
/** The file is read in chunks of this size, so a query's memory does not grow with the file. */
const CHUNK_BYTES = 256 * 1024
const DEFAULT_QUERY_LIMIT = 1000

export function eventsFilePath(workspace: string): string {
  return join(workspace, 'events.ndjson')
}

export interface NewEvent {
  readonly kind: ClusterEventKind
  readonly node?: number | null
  readonly message: string
  readonly data?: Record<string, unknown>
}

/** Per node (null: cluster-wide events), per kind: how many events the history holds. */
type KindCounts = Map<number | null, Map<ClusterEventKind, number>>

interface Counted {
  readonly counts: KindCounts
  /** Every event, when the counts are of a filtered pass; otherwise their sum. */
  readonly all: number | undefined
  readonly lastSeq: number
}

export class EventLog {
  private ring: ClusterEvent[] = []
  private writes: Promise<void> = Promise.resolve()
  /** Lines waiting for the append in flight: a burst of events becomes one write. */
  private queued: string[] = []
  /** The next write replaces the file instead of appending to it (see clear). */
  private replaceFile = false
  private readonly listeners = new Set<(e: ClusterEvent) => void>()
  private writeError: Error | undefined
  /**
   * Counts over the whole history, built by one pass over the file the first time they are
   * asked for and kept current by emit. Opening stays fast however long the file is.
   */
  private counts: KindCounts | undefined
  private counting: Promise<KindCounts> | undefined
  /** Bumped by clear, so a count of the old file that finishes later is thrown away. */
  private epoch = 0

  private constructor(
    private readonly path: string,
    private seq: number,
    ring: ClusterEvent[],
    private readonly capacity: number,
  ) {
    this.ring = ring
  }

  /** Reads the tail of the workspace's events.ndjson to continue its numbering. */
  static async open(workspace: string, capacity = EVENT_RING_SIZE): Promise<EventLog> {
    const path = eventsFilePath(workspace)
    const earlier = await readTail(path)
    const ring = earlier.slice(-capacity)
    const last = earlier.at(-1)?.seq ?? 0
    return new EventLog(path, last, ring, capacity)
  }

  get lastSeq(): number {
    return this.seq
  }

  private number(e: NewEvent): ClusterEvent {
    return {
      seq: ++this.seq,
      at: Date.now(),
      kind: e.kind,
      node: e.node ?? null,
      message: e.message,
      data: e.data ?? {},
    }
  }

  /** Numbers, stores and broadcasts an event; the file append runs behind, in order. */
  emit(e: NewEvent): ClusterEvent {
    const event = this.number(e)
    this.ring.push(event)
    if (this.ring.length > this.capacity * 1.2) this.ring = this.ring.slice(-this.capacity)
    if (this.counts) countEvent(this.counts, event)
    this.write(JSON.stringify(event) + '\n')
    for (const l of this.listeners) l(event)
    return event
  }

  /**
   * Deletes the history and starts a new one with `e`, which keeps the numbering going (the
   * file is never empty again, so a reopen continues from it). Used when the cluster is
   * destroyed: its events go with the rest of its data.
   */
  clear(e: NewEvent): ClusterEvent {
    const event = this.number(e)
    this.ring = [event]
    this.epoch += 1
    this.counting = undefined
    this.counts = new Map()
    countEvent(this.counts, event)
    // Lines not written yet belong to the deleted history. A write already scheduled picks up
    // the replacement; an append in flight finishes first, and the replacement removes it.
    const scheduled = this.queued.length > 0
    this.queued = [JSON.stringify(event) + '\n']
    this.replaceFile = true
    if (!scheduled) this.scheduleWrite()
    for (const l of this.listeners) l(event)
    return event
  }

  private write(line: string): void {
    this.queued.push(line)
    if (this.queued.length === 1) this.scheduleWrite()
  }

  private scheduleWrite(): void {
    this.writes = this.writes
      .then(() => {
        const text = this.queued.join('')
        const replace = this.replaceFile
        this.queued = []
        this.replaceFile = false
        return replace ? replaceWith(this.path, text) : appendFile(this.path, text)
      })
      .catch((err: unknown) => {
        // The ring still has the events; flush() reports that the file does not.
        this.writeError ??= err as Error
      })
  }

  on(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * The events between `after` and `before` that match the filters, oldest first: the newest
   * `limit` of them. The ring answers when it holds enough; otherwise the file is read
   * backwards from `before` until enough match or the history ends.
   */
  async query(q: EventQuery): Promise<ClusterEvent[]> {
    const after = q.after ?? 0
    const before = q.before ?? Infinity
    const limit = q.limit ?? DEFAULT_QUERY_LIMIT
    const held = this.ring
    const fromRing = held.filter((e) => e.seq > after && e.seq < before && eventMatches(e, q))
    const oldestHeld = held[0]?.seq ?? this.seq + 1
    if (fromRing.length >= limit || oldestHeld <= after + 1) return fromRing.slice(-limit)
    // Events older than the ring are in the file once the appends so far have landed.
    await this.writes
    const older = await readBackwards(
      this.path,
      Math.min(before, oldestHeld),
      after,
      (e) => eventMatches(e, q),
      limit - fromRing.length,
    )
    return [...older, ...fromRing]
  }

  /** Counts over the whole history; see EventCounts. */
  async countEvents(q: EventCountQuery): Promise<EventCounts> {
    const text = q.text?.trim() ?? ''
    let counted: Counted
    if (text === '') {
      const counts = await this.allCounts()
      // emit keeps the counts current, so they cover everything numbered so far.
      counted = { counts, all: undefined, lastSeq: this.seq }
    } else {
      counted = await this.scanCounts(text)
    }
    const nodes = [...counted.counts.keys()]
      .filter((n): n is number => n !== null)
      .sort((a, b) => a - b)
    const kinds: Partial<Record<ClusterEventKind, number>> = {}
    let all = 0
    for (const [node, perKind] of counted.counts) {
      for (const [kind, n] of perKind) {
        all += n
        if (q.node === undefined || node === q.node) kinds[kind] = (kinds[kind] ?? 0) + n
      }
    }
    return { kinds, all: counted.all ?? all, nodes, lastSeq: counted.lastSeq }
  }

  private allCounts(): Promise<KindCounts> {
    if (this.counts) return Promise.resolve(this.counts)
    const epoch = this.epoch
    this.counting ??= (async (): Promise<KindCounts> => {
      await this.writes
      const upTo = this.seq
      const counts: KindCounts = new Map()
      await scanForward(this.path, (e) => {
        if (e.seq <= upTo) countEvent(counts, e)
      })
      // A clear during the pass made a new history, counted from its first event.
      if (epoch !== this.epoch && this.counts) return this.counts
      // Events emitted during the pass are in the ring and not counted yet.
      for (const e of this.ring) if (e.seq > upTo) countEvent(counts, e)
      this.counts = counts
      return counts
    })().finally(() => {
      this.counting = undefined
    })
    return this.counting
  }

  /** A text filter needs every message, so it is answered by a pass over the file each time. */
  private async scanCounts(text: string): Promise<Counted> {
    await this.writes
    const upTo = this.seq
    const counts: KindCounts = new Map()
    let all = 0
    await scanForward(this.path, (e) => {
      if (e.seq > upTo) return
      all += 1
      // Every node is recorded, matching or not: the node choices do not depend on the text.
      if (!counts.has(e.node)) counts.set(e.node, new Map())
      if (eventMatches(e, { text })) countEvent(counts, e)
    })
    return { counts, all, lastSeq: upTo }
  }

  /** Waits for every append so far; reports a failed write. */
  async flush(): Promise<void> {
    await this.writes
    if (this.writeError) {
      const e = this.writeError
      this.writeError = undefined
      throw new Error(`cannot append to ${this.path}: ${e.message}`)
    }
  }
}
function countEvent(counts: KindCounts, e: ClusterEvent): void {
  let perKind = counts.get(e.node)
  if (!perKind) counts.set(e.node, (perKind = new Map()))
  perKind.set(e.kind, (perKind.get(e.kind) ?? 0) + 1)
}

/** One line of events.ndjson, or undefined for a line torn by a crash (or an empty one). */
function parseLine(line: string): ClusterEvent | undefined {
  if (line.trim() === '') return undefined
  try {
    const e = JSON.parse(line) as ClusterEvent
    return typeof e.seq === 'number' && typeof e.kind === 'string' ? e : undefined
  } catch {
    return undefined
  }
}

/** Replaces the file whole: a crash leaves either the old history or the new one. */
async function replaceWith(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, path)
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Visits every whole event of the file in order, a chunk at a time. */
async function scanForward(path: string, visit: (e: ClusterEvent) => void): Promise<void> {
  const fh = await openIfExists(path)
  if (!fh) return
  try {
    let rest = Buffer.alloc(0)
    let position = 0
    for (;;) {
      const chunk = Buffer.alloc(CHUNK_BYTES)
      const { bytesRead } = await fh.read(chunk, 0, CHUNK_BYTES, position)
      if (bytesRead === 0) break
      position += bytesRead
      const buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)])
      const lastNewline = buf.lastIndexOf(0x0a)
      // Text is decoded only up to a newline, so no character is cut in two.
      for (const line of buf
        .subarray(0, lastNewline + 1)
        .toString('utf8')
        .split('\n')) {
        const e = parseLine(line)
        if (e) visit(e)
      }
      rest = buf.subarray(lastNewline + 1)
    }
    // A last line without its newline is an append in flight or torn by a crash: skipped.
  } finally {
    await fh.close()
  }
}

/**
 * The newest `want` events with after < seq < before that `match` accepts, oldest first,
 * reading the file backwards from where `before` starts.
 */
async function readBackwards(
  path: string,
  before: number,
  after: number,
  match: (e: ClusterEvent) => boolean,
  want: number,
): Promise<ClusterEvent[]> {
  const found: ClusterEvent[] = []
  if (want <= 0) return found
  const fh = await openIfExists(path)
  if (!fh) return found
  try {
    const size = (await fh.stat()).size
    let end = Number.isFinite(before) ? await offsetAtOrAfter(fh, size, before) : size
    // The beginning of a line that starts in the chunk before, kept as bytes so that a
    // character cut in two by the chunk boundary is whole again before it is decoded.
    let head = Buffer.alloc(0)
    scan: while (end > 0) {
      const start = Math.max(0, end - CHUNK_BYTES)
      const chunk = Buffer.alloc(end - start)
      await fh.read(chunk, 0, chunk.length, start)
      const buf = Buffer.concat([chunk, head])
      end = start
      const firstNewline = start === 0 ? -1 : buf.indexOf(0x0a)
      if (start > 0 && firstNewline === -1) {
        head = buf
        continue
      }
      head = buf.subarray(0, Math.max(0, firstNewline))
      const lines = buf
        .subarray(firstNewline + 1)
        .toString('utf8')
        .split('\n')
      for (let i = lines.length - 1; i >= 0; i--) {
        const e = parseLine(lines[i] ?? '')
        if (!e) continue
        if (e.seq <= after) break scan
        if (e.seq < before && match(e)) {
          found.push(e)
          if (found.length >= want) break scan
        }
      }
    }
  } finally {
    await fh.close()
  }
  return found.reverse()
}

/**
 * A byte offset at or after the start of the first line whose seq is at least `seq`, and
 * close to it: lines are in seq order, so a bisection over the bytes finds it in a few reads
 * instead of a pass over the whole file.
 */
async function offsetAtOrAfter(fh: FileHandle, size: number, seq: number): Promise<number> {
  let lo = 0
  let hi = size
  while (hi - lo > CHUNK_BYTES) {
    const line = await firstLineFrom(fh, Math.floor((lo + hi) / 2), hi)
    // No whole event between the middle and hi: hi is as close as the bisection gets.
    if (!line) break
    if (line.seq >= seq) hi = line.start
    else lo = line.end
  }
  return hi
}

/** The first whole, readable line that starts at or after `from` and ends before `limit`. */
async function firstLineFrom(
  fh: FileHandle,
  from: number,
  limit: number,
): Promise<{ start: number; end: number; seq: number } | undefined> {
  // Reading from the byte before `from` tells whether a line starts exactly there.
  const at = from - 1
  const buf = Buffer.alloc(Math.min(64 * 1024, limit - at))
  const { bytesRead } = await fh.read(buf, 0, buf.length, at)
  const text = buf.subarray(0, bytesRead)
  let start = text.indexOf(0x0a) + 1
  if (start === 0) return undefined
  for (;;) {
    const nl = text.indexOf(0x0a, start)
    if (nl === -1) return undefined
    const e = parseLine(text.subarray(start, nl).toString('utf8'))
    if (e) return { start: at + start, end: at + nl + 1, seq: e.seq }
    start = nl + 1
  }
}

async function readTail(path: string): Promise<ClusterEvent[]> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0
  if (size === 0) return []
  const start = Math.max(0, size - TAIL_BYTES)
  const fh = await open(path, 'r')
  let text: string
  try {
    const buf = Buffer.alloc(size - start)
    await fh.read(buf, 0, buf.length, start)
    text = buf.toString('utf8')
  } finally {
    await fh.close()
  }
  const lines = text.split('\n')
  if (start > 0) lines.shift()
  const events: ClusterEvent[] = []
  // A line torn by a crash is skipped; the numbering continues from the last whole one.
  for (const line of lines) {
    const e = parseLine(line)
    if (e) events.push(e)
  }
  return events
}
