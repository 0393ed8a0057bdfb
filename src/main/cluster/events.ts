// The cluster's event stream: one sequence per workspace, kept in a bounded ring for the GUI
// and appended to events.ndjson. The sequence number continues across reopening, so a client
// that asks for "everything after seq N" never sees a number twice.

import { appendFile, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClusterEvent, ClusterEventKind, EventQuery } from '../../shared/api'

export const EVENT_RING_SIZE = 5000
/** How much of events.ndjson is read back on open: enough for a full ring. */
const TAIL_BYTES = 4 * 1024 * 1024

export function eventsFilePath(workspace: string): string {
  return join(workspace, 'events.ndjson')
}

export interface NewEvent {
  readonly kind: ClusterEventKind
  readonly node?: number | null
  readonly message: string
  readonly data?: Record<string, unknown>
}

export class EventLog {
  private ring: ClusterEvent[] = []
  private writes: Promise<void> = Promise.resolve()
  /** Lines waiting for the append in flight: a burst of events becomes one write. */
  private queued: string[] = []
  private readonly listeners = new Set<(e: ClusterEvent) => void>()
  private writeError: Error | undefined

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

  /** Numbers, stores and broadcasts an event; the file append runs behind, in order. */
  emit(e: NewEvent): ClusterEvent {
    const event: ClusterEvent = {
      seq: ++this.seq,
      at: Date.now(),
      kind: e.kind,
      node: e.node ?? null,
      message: e.message,
      data: e.data ?? {},
    }
    this.ring.push(event)
    if (this.ring.length > this.capacity * 1.2) this.ring = this.ring.slice(-this.capacity)
    this.queued.push(JSON.stringify(event) + '\n')
    if (this.queued.length === 1) {
      this.writes = this.writes
        .then(() => {
          const text = this.queued.join('')
          this.queued = []
          return appendFile(this.path, text)
        })
        .catch((err: unknown) => {
          // The ring still has the events; flush() reports that the file does not.
          this.writeError ??= err as Error
        })
    }
    for (const l of this.listeners) l(event)
    return event
  }

  on(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The events after `after` (oldest first), filtered, at most `limit` (the newest ones). */
  query(q: EventQuery): ClusterEvent[] {
    const after = q.after ?? 0
    const kinds = q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined
    const held = this.ring.slice(-this.capacity)
    const out = held.filter(
      (e) =>
        e.seq > after &&
        (kinds === undefined || kinds.has(e.kind)) &&
        (q.node === undefined || e.node === q.node),
    )
    const limit = q.limit ?? 1000
    return out.length > limit ? out.slice(-limit) : out
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
  for (const line of lines) {
    if (line.trim() === '') continue
    try {
      const e = JSON.parse(line) as ClusterEvent
      // A line torn by a crash is skipped; the numbering continues from the last whole one.
      if (typeof e.seq === 'number' && typeof e.kind === 'string') events.push(e)
    } catch {
      continue
    }
  }
  return events
}
