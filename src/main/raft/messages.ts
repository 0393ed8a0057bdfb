// The vocabulary of the consensus core: log entries, persistent state, snapshots and the
// messages that nodes exchange. Everything here is plain data so that a driver can encode it
// for disk or the wire however it likes, and a simulation can copy it freely.

/** A node's identity. 0 is reserved for "no node" (no vote cast, no known leader). */
export type NodeId = number
export const NONE: NodeId = 0

/** Cluster membership: voters decide elections and commitment; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

/**
 * One membership step. Voters change one at a time (see confchange.ts for why):
 * - addVoter adds a new voter, or promotes an existing learner;
 * - addLearner adds a non-voting member that catches up before it is promoted;
 * - removeNode removes a voter or a learner.
 */
export interface ConfChange {
  readonly type: 'addVoter' | 'addLearner' | 'removeNode'
  readonly nodeId: NodeId
  /** Opaque to the core; the node layer carries addresses here. */
  readonly context?: string
}

export interface NormalEntry {
  readonly type: 'normal'
  readonly term: number
  readonly index: number
  /** Application command. Empty for the no-op a new leader appends (§8 of the Raft paper). */
  readonly data: Uint8Array
}

export interface ConfChangeEntry {
  readonly type: 'confChange'
  readonly term: number
  readonly index: number
  readonly change: ConfChange
}

export type Entry = NormalEntry | ConfChangeEntry

/** The state that must be on stable storage before a node answers any message (Figure 2). */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

export interface SnapshotMeta {
  /** The last entry the snapshot replaces, and its term (needed for the AppendEntries check). */
  readonly index: number
  readonly term: number
  /** Membership as of `index`: a node restored from the snapshot knows its cluster. */
  readonly confState: ConfState
}

export interface Snapshot {
  readonly meta: SnapshotMeta
  readonly data: Uint8Array
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile state worth showing to a person; not persisted. */
export interface SoftState {
  readonly lead: NodeId
  readonly role: Role
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number
  readonly context: string
}

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  /** The sender's term. Every message carries one; see Raft.step for how it is compared. */
  readonly term: number
}

export interface AppendEntries extends Envelope {
  readonly type: 'appendEntries'
  readonly prevLogIndex: number
  readonly prevLogTerm: number
  readonly entries: readonly Entry[]
  readonly leaderCommit: number
}

export interface AppendEntriesResponse extends Envelope {
  readonly type: 'appendEntriesResponse'
  /** On success the follower's last index matching the leader; on rejection the rejected prevLogIndex. */
  readonly index: number
  readonly reject: boolean
  /**
   * Conflict hint for fast backtracking: the largest index at or below the rejected one whose
   * term is at most the leader's prevLogTerm, and that entry's term. The leader can skip a whole
   * term of divergent entries per round trip instead of one entry.
   */
  readonly rejectHint: number
  readonly hintTerm: number
}

export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat'
  /** min(follower's match, leader's commit): a follower never learns a commit beyond its log. */
  readonly commit: number
  /** Non-empty when the heartbeat confirms leadership for pending ReadIndex requests. */
  readonly context: string
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeatResponse'
  readonly context: string
}

export interface RequestVote extends Envelope {
  readonly type: 'requestVote' | 'requestPreVote'
  readonly lastLogIndex: number
  readonly lastLogTerm: number
  /** Set when the campaign was started by TimeoutNow: voters then ignore their leader lease. */
  readonly transfer: boolean
}

export interface RequestVoteResponse extends Envelope {
  readonly type: 'requestVoteResponse' | 'requestPreVoteResponse'
  readonly reject: boolean
}

export interface InstallSnapshot extends Envelope {
  readonly type: 'installSnapshot'
  readonly snapshot: Snapshot
}

/** Leadership transfer: tells an up-to-date follower to start an election at once (§3.10). */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeoutNow'
}

/** A follower asks the leader for a read index on behalf of its client. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'readIndex'
  readonly context: string
}

export interface ReadIndexResponse extends Envelope {
  readonly type: 'readIndexResponse'
  readonly index: number
  readonly context: string
}

/** A follower forwards a leadership transfer request to its leader. */
export interface TransferLeader extends Envelope {
  readonly type: 'transferLeader'
  readonly transferee: NodeId
}

export type Message =
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | RequestVote
  | RequestVoteResponse
  | InstallSnapshot
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | TransferLeader

export type MessageType = Message['type']

/** Bytes an entry costs against the per-message and per-Ready size budgets. */
export function entrySize(e: Entry): number {
  // The fixed part stands for term, index and type on the wire.
  return 24 + (e.type === 'normal' ? e.data.length : 16 + (e.change.context?.length ?? 0))
}

export function isVoter(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id)
}

export function isMember(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id)
}
