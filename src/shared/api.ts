// The contract every process agrees on: ClusterApi, one table of methods and one of events.
// Electron's IPC, the browser bridge (HTTP + WebSocket) and the CLI are all built from these
// two tables, so they can never disagree. Each method's arguments are a zod tuple: whoever
// receives a call over a boundary validates it with `parseArgs` before a handler sees it.
// No Node and no DOM here: this file compiles in both tsconfig projects.

import { z } from 'zod'
import type { ApiEventName, ApiMethodName } from './channels'
import { TIMING_LIMITS as L } from './defaults'

export {
  apiChannel,
  apiEventChannel,
  apiEventNames,
  apiMethodNames,
  type ApiEventName,
  type ApiMethodName,
} from './channels'

// ---------------------------------------------------------------------------------------------
// Views: what the API hands back. Plain JSON, so they cross IPC and sockets unchanged.

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** A node as the GUI and the CLI show it. */
export interface NodeView {
  readonly id: number
  readonly name: string
  /** "127.0.0.1:PORT" of the etcd v3 gRPC listener. */
  readonly client: string
  /** "127.0.0.1:PORT" of the Raft peer listener. */
  readonly peer: string
  /** What the manager knows of the process. */
  readonly process: 'running' | 'paused' | 'stopped' | 'starting' | 'stopping'
  readonly pid: number | null
  /** Voter or learner in the configuration the node itself knows; null when it never ran. */
  readonly member: 'voter' | 'learner' | 'removed' | null
  /** The last state the node reported; null until it reports one. */
  readonly raft: RaftStateView | null
  /** The last exit, when the process is not running. */
  readonly lastExit: NodeExitView | null
}

export interface RaftStateView {
  readonly role: Role
  readonly term: number
  /** 0 when the node knows no leader. */
  readonly leader: number
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly voters: readonly number[]
  readonly learners: readonly number[]
  /** The KV store's revision after the last applied entry. */
  readonly revision: number
}

export interface NodeExitView {
  readonly code: number | null
  readonly signal: string | null
  /** Wall-clock time of the exit, ms since the epoch. */
  readonly at: number
  /** The last lines the node wrote to its log before it exited. */
  readonly lastLines: readonly string[]
}

/** Faults on one directed link, from → to. */
export interface LinkFaultView {
  readonly from: number
  readonly to: number
  /** Probability in [0, 1] that a message on this link is dropped. */
  readonly drop: number
  readonly delayMs: number
  readonly blocked: boolean
}

export interface FaultsView {
  /** The partition groups in force; empty when the network is whole. */
  readonly partitions: readonly (readonly number[])[]
  /** Per-link delay and drop (not the blocks a partition makes). */
  readonly links: readonly LinkFaultView[]
  /** Nodes whose process is stopped with SIGSTOP. */
  readonly paused: readonly number[]
}

export interface TimingView {
  /** Milliseconds per Raft tick before slow motion. */
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  /** Applied entries between snapshots. */
  readonly snapshotCount: number
  /** Multiplies the tick: 1 is real time, 20 makes an election take seconds. */
  readonly slowMotion: number
}

export interface ClusterStatus {
  readonly workspace: string
  /** False when the workspace has no cluster yet (create one first). */
  readonly exists: boolean
  readonly name: string
  readonly nodes: readonly NodeView[]
  /** The node a majority of its voters follow, or null. */
  readonly leader: number | null
  readonly term: number
  readonly faults: FaultsView
  readonly timing: TimingView
  /** A membership change in progress, if any (adding, promoting, removing). */
  readonly pendingChange: string | null
}

/** Every kind of cluster event, in the order the CLI's help and the zod schema list them. */
export const clusterEventKinds = [
  'leaderElected',
  'termChanged',
  'roleChanged',
  'nodeStarted',
  'nodeExited',
  'nodeKilled',
  'nodePaused',
  'nodeResumed',
  'membershipChanged',
  'snapshotTaken',
  'snapshotInstalled',
  'faultChanged',
  'timingChanged',
  'keyChanged',
  'clusterCreated',
  /**
   * The first event after a destroy: the destroyed cluster's events were deleted with its
   * data, and this one keeps the numbering going and marks where the history starts.
   */
  'clusterDestroyed',
  'error',
] as const

export type ClusterEventKind = (typeof clusterEventKinds)[number]

export interface ClusterEvent {
  /** Strictly increasing within a workspace, so clients can ask for what they missed. */
  readonly seq: number
  /** Wall-clock ms since the epoch. */
  readonly at: number
  readonly kind: ClusterEventKind
  /** The node the event is about, if one. */
  readonly node: number | null
  /** One readable sentence. */
  readonly message: string
  /** The event's fields (term, role, exit code, key, revision, …). */
  readonly data: Readonly<Record<string, unknown>>
}

/** How many events the whole history holds, not only the part a client has loaded. */
export interface EventCounts {
  /** Per kind: the events that match the node and text filters (the kinds filter aside). */
  readonly kinds: Readonly<Partial<Record<ClusterEventKind, number>>>
  /** Every event the history holds, whatever the filters. */
  readonly all: number
  /** Every node the history mentions, removed ones too, whatever the filters. */
  readonly nodes: readonly number[]
  /** The counts cover every event up to this seq; a client adds the pushed events after it. */
  readonly lastSeq: number
}

export type EntryKind = 'normal' | 'confChange' | 'empty'

/** One log entry as the log inspector shows it. */
export interface LogEntryView {
  readonly index: number
  readonly term: number
  readonly kind: EntryKind
  /** The decoded command ("put /a = …", "addLearner 4", "lease grant 7 ttl=10"). */
  readonly summary: string
  /** The keys the entry writes, for filters and for the jump from a key to its entry. */
  readonly keys: readonly string[]
  /** The command as JSON (values as base64), for the detail pane and exports. */
  readonly command: unknown
  readonly committed: boolean
  readonly applied: boolean
}

export interface LogPage {
  readonly node: number
  /** Where the page came from: the live node over its control channel, or its files on disk. */
  readonly source: 'live' | 'disk'
  readonly entries: readonly LogEntryView[]
  /** Entries at or below snapshotIndex are compacted into the snapshot. */
  readonly snapshotIndex: number
  readonly snapshotTerm: number
  readonly firstIndex: number
  readonly lastIndex: number
  readonly commit: number
  readonly applied: number
  /** Pass as `from` to read the next page; null at the end. */
  readonly next: number | null
}

export interface LogCompareRow {
  readonly index: number
  /** Per node id: the entry's term there, or null where that node has no entry. */
  readonly terms: Readonly<Record<string, number | null>>
  readonly summary: string
  /** True where the nodes that hold the index disagree on its term. */
  readonly diverges: boolean
}

export interface LogCompare {
  readonly nodes: readonly number[]
  readonly rows: readonly LogCompareRow[]
  readonly commit: Readonly<Record<string, number>>
  readonly snapshotIndex: Readonly<Record<string, number>>
  readonly next: number | null
}

export interface KeyView {
  readonly key: string
  /** The value as base64; the viewers decide whether it is JSON, text or binary. */
  readonly value: string
  readonly size: number
  readonly createRevision: number
  readonly modRevision: number
  readonly version: number
  /** 0 when the key has no lease. */
  readonly lease: number
}

export interface KeyPage {
  readonly keys: readonly KeyView[]
  /** Keys matching the prefix in all (not only this page). */
  readonly count: number
  /** Pass as `after` to read the next page; null at the end. */
  readonly cursor: string | null
  readonly revision: number
}

export interface KeyRevisionView {
  readonly modRevision: number
  readonly version: number
  /** null where the key was deleted at this revision. */
  readonly value: string | null
}

export interface KeyDetail {
  readonly kv: KeyView | null
  /** The key's earlier values, newest first, back to the compaction point. */
  readonly history: readonly KeyRevisionView[]
  readonly revision: number
  readonly compactRevision: number
  readonly leaseTtl: number | null
}

export interface KeyWriteResult {
  /** False when a compare-and-swap found the key changed; `current` then shows what is there. */
  readonly ok: boolean
  readonly revision: number
  readonly current: KeyView | null
}

export interface ExportResult {
  readonly path: string
  readonly bytes: number
}

export interface ImportResult {
  readonly keys: number
  readonly revision: number
}

export interface Progress {
  /** Names the operation: "import", "export", "add node 4", … */
  readonly task: string
  readonly done: number
  /** null when the total is not known. */
  readonly total: number | null
  readonly message: string
}

export interface AppInfo {
  readonly name: string
  readonly version: string
  /** 'electron' or 'browser': what serves this API. */
  readonly host: 'electron' | 'browser' | 'cli'
}

// ---------------------------------------------------------------------------------------------
// Argument schemas.

const nodeId = z.number().int().min(1).max(1_000_000)
const port = z.number().int().min(1).max(65_535)

export const timingSchema = z
  .object({
    tickMs: z.number().int().min(L.tickMs.min).max(L.tickMs.max),
    electionTicks: z.number().int().min(L.electionTicks.min).max(L.electionTicks.max),
    heartbeatTicks: z.number().int().min(L.heartbeatTicks.min).max(L.heartbeatTicks.max),
    snapshotCount: z.number().int().min(L.snapshotCount.min).max(L.snapshotCount.max),
    slowMotion: z.number().min(L.slowMotion.min).max(L.slowMotion.max),
  })
  .partial()
  .strict()
  .refine(
    (t) =>
      t.electionTicks === undefined ||
      t.heartbeatTicks === undefined ||
      t.electionTicks > t.heartbeatTicks,
    { message: 'electionTicks must be greater than heartbeatTicks' },
  )

export type TimingInput = z.input<typeof timingSchema>

export const createClusterSchema = z
  .object({
    nodes: z.number().int().min(1).max(7),
    name: z.string().min(1).max(64).optional(),
    basePort: port.optional(),
    timing: timingSchema.optional(),
    /** Start the nodes once the cluster is written (default true). */
    start: z.boolean().optional(),
    /** Replace a cluster the workspace already holds (its data is deleted). */
    replace: z.boolean().optional(),
  })
  .strict()

export type CreateClusterInput = z.input<typeof createClusterSchema>

const linkFaultSchema = z
  .object({
    from: nodeId,
    to: nodeId,
    drop: z.number().min(0).max(1).optional(),
    delayMs: z.number().int().min(0).max(60_000).optional(),
    /** Apply to both directions (default true). */
    both: z.boolean().optional(),
  })
  .strict()

export type LinkFaultInput = z.input<typeof linkFaultSchema>

export const logQuerySchema = z
  .object({
    node: nodeId,
    /** First index to return (default: the first the node holds). */
    from: z.number().int().min(0).optional(),
    /** Last index to consider (inclusive). */
    to: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(5_000).optional(),
    kinds: z.array(z.enum(['normal', 'confChange', 'empty'])).optional(),
    /** Entries that write this key, or keys under it when `prefix` is true. */
    key: z.string().optional(),
    prefix: z.boolean().optional(),
    term: z.number().int().min(0).optional(),
  })
  .strict()

export type LogQuery = z.input<typeof logQuerySchema>

export const logCompareSchema = z
  .object({
    nodes: z.array(nodeId).min(1).max(7).optional(),
    from: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(5_000).optional(),
  })
  .strict()

export type LogCompareQuery = z.input<typeof logCompareSchema>

export const keyListSchema = z
  .object({
    prefix: z.string().optional(),
    /** A cursor from the previous page: keys strictly after it. */
    after: z.string().optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
    keysOnly: z.boolean().optional(),
  })
  .strict()

export type KeyListQuery = z.input<typeof keyListSchema>

/** Values travel as text unless `base64` says the string is base64 of raw bytes. */
export const keyPutSchema = z
  .object({
    key: z.string().min(1),
    value: z.string(),
    base64: z.boolean().optional(),
    /** Compare-and-swap: write only if the key's mod_revision is still this (0: only if absent). */
    expectModRevision: z.number().int().min(0).optional(),
    /** Attach to a new lease of this many seconds. */
    ttl: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()

export type KeyPutInput = z.input<typeof keyPutSchema>

export const keyDeleteSchema = z
  .object({
    key: z.string().min(1),
    /** Delete every key that starts with `key`. */
    prefix: z.boolean().optional(),
    expectModRevision: z.number().int().min(1).optional(),
  })
  .strict()

export type KeyDeleteInput = z.input<typeof keyDeleteSchema>

/** The JSON format of key import and export: `{ "keys": [{ "key", "value", "base64"? }] }`. */
export const keyDumpSchema = z
  .object({
    keys: z.array(
      z
        .object({ key: z.string().min(1), value: z.string(), base64: z.boolean().optional() })
        .strict(),
    ),
  })
  .strict()

export type KeyDump = z.infer<typeof keyDumpSchema>

export const exportSchema = z
  .object({
    /** Where to write; default: a timestamped file in the workspace's exports/ folder. */
    path: z.string().min(1).optional(),
  })
  .strict()

export const nodeLogExportSchema = z
  .object({
    node: nodeId,
    format: z.enum(['ndjson', 'csv']),
    path: z.string().min(1).optional(),
  })
  .strict()

/** The filters the timeline offers; `events` and `eventCounts` apply them on the host. */
const eventFilterFields = {
  /** Only these kinds; empty or absent: every kind. */
  kinds: z.array(z.enum(clusterEventKinds)).optional(),
  node: nodeId.optional(),
  /** Only events whose message contains this text, ignoring case. */
  text: z.string().max(1_000).optional(),
}

export const eventQuerySchema = z
  .object({
    /** Only events with seq greater than this. */
    after: z.number().int().min(0).optional(),
    /** Only events with seq less than this: pass the oldest seq held to read the page before it. */
    before: z.number().int().min(1).optional(),
    ...eventFilterFields,
    /** At most this many: the newest of those that match (default 1000). */
    limit: z.number().int().min(1).max(10_000).optional(),
  })
  .strict()

export const eventCountQuerySchema = z
  .object({
    node: eventFilterFields.node,
    text: eventFilterFields.text,
  })
  .strict()

export type EventCountQuery = z.input<typeof eventCountQuerySchema>

/** The filter part of an event query, as `eventMatches` applies it. */
export type EventFilter = Pick<EventQuery, 'kinds' | 'node' | 'text'>

/**
 * Whether an event passes the filters. The host filters its history with this, and clients
 * filter the events pushed to them with it, so a pushed event and a reloaded page never
 * disagree.
 */
export function eventMatches(e: ClusterEvent, f: EventFilter): boolean {
  if (f.kinds && f.kinds.length > 0 && !f.kinds.includes(e.kind)) return false
  if (f.node !== undefined && e.node !== f.node) return false
  const text = f.text?.trim().toLowerCase()
  return !text || e.message.toLowerCase().includes(text)
}

export type EventQuery = z.input<typeof eventQuerySchema>

// ---------------------------------------------------------------------------------------------
// The method table.

const none = z.tuple([])
const one = <T extends z.ZodType>(t: T) => z.tuple([t])

/** Each method's argument schema; the names are channels.ts's, exactly. */
export const clusterMethods = {
  appInfo: none,
  status: none,
  createCluster: one(createClusterSchema),
  /** Deletes the cluster and its data from the workspace (nodes are stopped first). */
  destroyCluster: none,

  startNode: one(nodeId),
  stopNode: one(nodeId),
  killNode: one(nodeId),
  pauseNode: one(nodeId),
  resumeNode: one(nodeId),
  restartNode: one(nodeId),
  startAll: none,
  stopAll: none,

  /** Adds a node: started as a learner, caught up, then promoted to voter. Returns its view. */
  addNode: none,
  removeNode: one(nodeId),
  promoteNode: one(nodeId),
  transferLeadership: one(nodeId),

  /** Splits the cluster into groups that cannot reach each other; unlisted nodes form a group. */
  partition: one(z.array(z.array(nodeId).min(1)).min(1)),
  /** Isolates one node from all others. */
  isolate: one(nodeId),
  setLinkFault: one(linkFaultSchema),
  /** Removes every partition and link fault and resumes paused nodes. */
  heal: none,

  setTiming: one(timingSchema),

  /** The newest events that match, oldest first; page back with `before`. */
  events: one(eventQuerySchema),
  /** True totals over the whole history, for the timeline's header and its kind filters. */
  eventCounts: one(eventCountQuerySchema),

  readLog: one(logQuerySchema),
  compareLogs: one(logCompareSchema),
  exportNodeLog: one(nodeLogExportSchema),

  listKeys: one(keyListSchema),
  getKey: one(z.string().min(1)),
  putKey: one(keyPutSchema),
  deleteKey: one(keyDeleteSchema),
  importKeys: one(keyDumpSchema),
  exportKeys: one(z.object({ prefix: z.string().optional() }).strict()),

  exportBundle: one(exportSchema),
} as const satisfies Record<ApiMethodName, z.ZodType>

/** What each method resolves to. */
export interface ApiResults {
  appInfo: AppInfo
  status: ClusterStatus
  createCluster: ClusterStatus
  destroyCluster: null
  startNode: NodeView
  stopNode: NodeView
  killNode: NodeView
  pauseNode: NodeView
  resumeNode: NodeView
  restartNode: NodeView
  startAll: ClusterStatus
  stopAll: ClusterStatus
  addNode: NodeView
  removeNode: ClusterStatus
  promoteNode: NodeView
  transferLeadership: ClusterStatus
  partition: FaultsView
  isolate: FaultsView
  setLinkFault: FaultsView
  heal: FaultsView
  setTiming: TimingView
  events: readonly ClusterEvent[]
  eventCounts: EventCounts
  readLog: LogPage
  compareLogs: LogCompare
  exportNodeLog: ExportResult
  listKeys: KeyPage
  getKey: KeyDetail
  putKey: KeyWriteResult
  deleteKey: KeyWriteResult & { readonly deleted: number }
  importKeys: ImportResult
  exportKeys: KeyDump
  exportBundle: ExportResult
}

export type ApiArgs<K extends ApiMethodName> = z.input<(typeof clusterMethods)[K]>

/** The events the API pushes to its clients. */
export interface ApiEvents {
  /** Every cluster event, in order. */
  event: ClusterEvent
  /** The whole status, whenever any part of it changes (coalesced to a few per second). */
  status: ClusterStatus
  /** Progress of long work (add node, import, export). */
  progress: Progress
}

/** The methods as callers see them. */
export type ClusterMethods = {
  [K in ApiMethodName]: (...args: ApiArgs<K>) => Promise<ApiResults[K]>
}

/** What the renderer sees as `window.raftlab`, and what every host implements. */
export interface ClusterApi extends ClusterMethods {
  /** Subscribes to one kind of pushed event; returns the unsubscribe function. */
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void
}

/** Kept for the renderer code that predates the full table. */
export type RaftLabApi = ClusterApi

export function isApiMethodName(name: unknown): name is ApiMethodName {
  return typeof name === 'string' && Object.hasOwn(clusterMethods, name)
}

/** An argument error names the method and the path of the bad field. */
export class ApiArgumentError extends Error {
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(`raftlab.${method}: ${detail}`)
    this.name = 'ApiArgumentError'
  }
}

/**
 * Validates the arguments of a call that arrived over a boundary and returns them typed.
 * Throws ApiArgumentError naming the method and the bad field.
 */
export function parseArgs<K extends ApiMethodName>(
  method: K,
  args: readonly unknown[],
): z.output<(typeof clusterMethods)[K]> {
  const schema = clusterMethods[method] as z.ZodType
  const r = schema.safeParse(args)
  if (r.success) return r.data as z.output<(typeof clusterMethods)[K]>
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `argument ${issue.path.join('.')}: ` : ''
  throw new ApiArgumentError(method, `${where}${issue?.message ?? 'invalid arguments'}`)
}

// ---------------------------------------------------------------------------------------------
// The wire protocol of the browser bridge and the CLI (JSON over WebSocket).

/** Client → server. */
export interface WireCall {
  readonly type: 'call'
  readonly id: number
  readonly method: string
  readonly args: readonly unknown[]
}

/** Server → client. */
export type WireMessage =
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | {
      readonly type: 'error'
      readonly id: number
      readonly error: { readonly name: string; readonly message: string }
    }
  | { readonly type: 'event'; readonly event: ApiEventName; readonly payload: unknown }

// ---------------------------------------------------------------------------------------------
// Helpers every side uses on values.

/** Text to base64 and back without Node's Buffer (this file runs in the renderer too). */
export function textToBase64(text: string): string {
  return bytesToBase64(new TextEncoder().encode(text))
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(s)
}

export function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}
