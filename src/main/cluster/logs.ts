// The log inspector's reader. A running node is asked for its entries over the control channel;
// a stopped node's data directory is read as it lies on disk, through the same reader the node's
// own recovery uses (never through NeDB, whose load rewrites the file). Both give the same
// entries, so a page looks the same whether the node is up or down.

import { join } from 'node:path'
import type { Entry } from '../raft'
import type { NodeState } from '../node/raftnode'
import { readDataDir } from '../node/storage/recovery'
import { readDatafile } from '../node/storage/datafile'
import { SNAPSHOT_FILE, SNAPSHOT_ID, snapshotSchema } from '../node/storage/documents'
import {
  logCompareSchema,
  logQuerySchema,
  type LogCompare,
  type LogCompareQuery,
  type LogCompareRow,
  type LogEntryView,
  type LogPage,
  type LogQuery,
} from '../../shared/api'
import { describeEntry, entryFromJson, entryKind, entryWrites } from './logentry'

export { describeEntry } from './logentry'
export type { EntryDescription } from './logentry'

/** One node's log as the manager can reach it: live over the control channel, or on disk. */
export interface LogSource {
  readonly id: number
  readonly dataDir: string
  /** The node's last reported state (running), or the last one before it stopped. */
  readonly state: NodeState | undefined
  /** The control channel's readLog: entries in [lo, hi) as JSON; null when not running. */
  readonly live: ((lo: number, hi: number) => Promise<unknown[]>) | null
}

/** A node's log opened for reading: its marks, and its entries by range. */
export interface OpenLog {
  readonly node: number
  readonly source: 'live' | 'disk'
  readonly snapshotIndex: number
  readonly snapshotTerm: number
  readonly firstIndex: number
  readonly lastIndex: number
  readonly commit: number
  readonly applied: number
  /** Entries in [lo, hi) that the log holds (none at or below the snapshot). */
  read(lo: number, hi: number): Promise<Entry[]>
}

const DEFAULT_LIMIT = 100
/** Entries asked of a live node at once: large enough to be quick, small for one IPC message. */
const LIVE_CHUNK = 500
/** A filtered page stops scanning here and hands back `next`, so no call reads a whole log. */
const MAX_SCAN = 50_000

export async function openLog(src: LogSource): Promise<OpenLog> {
  const { live, state } = src
  if (live && state) {
    const snapshotTerm = await liveSnapshotTerm(src.dataDir, state.snapshotIndex)
    return {
      node: src.id,
      source: 'live',
      snapshotIndex: state.snapshotIndex,
      snapshotTerm,
      firstIndex: state.snapshotIndex + 1,
      lastIndex: state.lastIndex,
      commit: state.commit,
      applied: state.applied,
      read: async (lo, hi) => {
        const out: Entry[] = []
        for (let at = lo; at < hi; at += LIVE_CHUNK) {
          const got = await live(at, Math.min(hi, at + LIVE_CHUNK))
          for (const j of got) out.push(entryFromJson(j, src.id))
        }
        return out
      },
    }
  }
  let contents
  try {
    contents = await readDataDir(src.dataDir)
  } catch (e) {
    throw new Error(`node ${src.id}: cannot read its log: ${(e as Error).message}`)
  }
  const entries = contents.entries.map((l) => l.entry)
  const snapshotIndex = contents.snapshot?.meta.index ?? 0
  const commit = contents.hardState.commit
  // A stopped node has no applied index of its own: the state machine lives in the process.
  // Everything its stored hard state calls committed is what it applies first when restarted.
  const applied = commit
  return {
    node: src.id,
    source: 'disk',
    snapshotIndex,
    snapshotTerm: contents.snapshot?.meta.term ?? 0,
    firstIndex: snapshotIndex + 1,
    lastIndex: snapshotIndex + entries.length,
    commit,
    applied,
    read: (lo, hi) =>
      Promise.resolve(
        entries.slice(Math.max(0, lo - snapshotIndex - 1), Math.max(0, hi - snapshotIndex - 1)),
      ),
  }
}

/**
 * The term of a running node's snapshot, which its state report leaves out. snapshot.db is
 * appended to and renamed by the node, never edited in place, so reading it is safe.
 */
async function liveSnapshotTerm(dataDir: string, snapshotIndex: number): Promise<number> {
  if (snapshotIndex === 0) return 0
  try {
    const file = await readDatafile(join(dataDir, SNAPSHOT_FILE), snapshotSchema)
    const meta = file.docs.get(SNAPSHOT_ID)?.value.meta
    return meta?.index === snapshotIndex ? meta.term : 0
  } catch {
    return 0
  }
}

/** One page of a node's log, filtered, starting at `from`. */
export async function readLogPage(src: LogSource, query: LogQuery): Promise<LogPage> {
  const q = parse(logQuerySchema, query, 'log query')
  const log = await openLog(src)
  return pageOf(log, q)
}

export async function pageOf(log: OpenLog, q: LogQuery): Promise<LogPage> {
  const limit = q.limit ?? DEFAULT_LIMIT
  const to = Math.min(q.to ?? log.lastIndex, log.lastIndex)
  const kinds = q.kinds ? new Set(q.kinds) : undefined
  const matches = (e: Entry): boolean =>
    (kinds === undefined || kinds.has(entryKind(e))) &&
    (q.term === undefined || e.term === q.term) &&
    (q.key === undefined || entryWrites(e, q.key, q.prefix === true))

  const entries: LogEntryView[] = []
  let at = Math.max(q.from ?? log.firstIndex, log.firstIndex)
  const scanEnd = Math.min(to, at + MAX_SCAN - 1)
  while (at <= scanEnd && entries.length < limit) {
    const chunkEnd = Math.min(scanEnd, at + LIVE_CHUNK - 1)
    const chunk = await log.read(at, chunkEnd + 1)
    if (chunk.length === 0) {
      // Compacted under us since the node last reported: those indexes are in the snapshot now.
      at = chunkEnd + 1
      continue
    }
    for (const e of chunk) {
      at = e.index + 1
      if (!matches(e)) continue
      entries.push(view(log, e))
      if (entries.length === limit) break
    }
  }
  return {
    node: log.node,
    source: log.source,
    entries,
    snapshotIndex: log.snapshotIndex,
    snapshotTerm: log.snapshotTerm,
    firstIndex: log.firstIndex,
    lastIndex: log.lastIndex,
    commit: log.commit,
    applied: log.applied,
    next: at <= to ? at : null,
  }
}

function view(log: OpenLog, e: Entry): LogEntryView {
  return {
    ...describeEntry(e),
    committed: e.index <= log.commit,
    applied: e.index <= log.applied,
  }
}

/**
 * The nodes' logs side by side, one row per index: each node's term there (null where it has no
 * entry), and whether the nodes that hold the index disagree. By Log Matching (§5.3) the logs
 * are identical up to the last index at which their terms agree, so the terms suffice.
 */
export async function compareLogs(
  srcs: readonly LogSource[],
  query: LogCompareQuery,
): Promise<LogCompare> {
  const q = parse(logCompareSchema, query, 'log comparison')
  let chosen = srcs
  if (q.nodes) {
    const missing = q.nodes.filter((id) => !srcs.some((s) => s.id === id))
    if (missing.length > 0) {
      throw new Error(`cannot compare logs: no node ${missing.join(', ')} in this cluster`)
    }
    chosen = srcs.filter((s) => q.nodes?.includes(s.id))
  }
  const logs = await Promise.all(chosen.map(openLog))
  const limit = q.limit ?? DEFAULT_LIMIT
  const from = Math.max(1, q.from ?? Math.min(...logs.map((l) => l.firstIndex)))
  const last = Math.max(0, ...logs.map((l) => l.lastIndex))
  const hi = Math.min(last, from + limit - 1)
  const read = await Promise.all(
    logs.map(async (l) => new Map((await l.read(from, hi + 1)).map((e) => [e.index, e]))),
  )
  const rows: LogCompareRow[] = []
  for (let index = from; index <= hi; index++) {
    const terms: Record<string, number | null> = {}
    let summary = ''
    const seen = new Set<number>()
    logs.forEach((l, n) => {
      const e = read[n]?.get(index)
      terms[String(l.node)] = e ? e.term : null
      if (!e) return
      seen.add(e.term)
      if (!summary) summary = describeEntry(e).summary
    })
    rows.push({ index, terms, summary, diverges: seen.size > 1 })
  }
  return {
    nodes: logs.map((l) => l.node),
    rows,
    commit: Object.fromEntries(logs.map((l) => [String(l.node), l.commit])),
    snapshotIndex: Object.fromEntries(logs.map((l) => [String(l.node), l.snapshotIndex])),
    next: hi < last ? hi + 1 : null,
  }
}

interface Schema<T> {
  safeParse(
    v: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }
}

function parse<T>(schema: Schema<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : ''
  throw new Error(`bad ${what}: ${where}${issue?.message ?? 'invalid'}`)
}
