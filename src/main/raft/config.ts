// Everything a Raft node is told at start. Each field says why it exists and what it trades.

import type { NodeId } from './messages'
import { seededRng, type Rng } from './rng'
import type { Storage } from './storage'

export interface Config {
  /** This node's id; never 0. */
  readonly id: NodeId
  /** The log, hard state and snapshot this node restarts from. */
  readonly storage: Storage
  /**
   * Ticks a follower waits without hearing from a leader before it campaigns. The actual
   * timeout is drawn from [electionTick, 2 × electionTick) anew after each reset, so that two
   * followers rarely time out together and split the vote (§5.2). It should be about ten
   * heartbeats: long enough that a heartbeat or two lost on the way does not depose a healthy
   * leader, short enough that a dead one is replaced quickly.
   */
  readonly electionTick: number
  /** Ticks between the leader's heartbeats. Must be smaller than electionTick. */
  readonly heartbeatTick: number
  /**
   * The last index the application had applied before a restart. Entries after it are handed
   * out again as committed; 0 means the application restarts from the snapshot.
   */
  readonly applied: number
  /**
   * Byte budget of one AppendEntries. Larger batches mean fewer round trips while catching a
   * follower up; smaller ones mean less to resend when one is lost.
   */
  readonly maxSizePerMsg: number
  /** Entry-count budget of one AppendEntries, for logs of many tiny entries. */
  readonly maxEntriesPerMsg: number
  /**
   * AppendEntries a leader keeps in flight to one follower in replicate state before it waits
   * for acknowledgements (pipelining). Bounds the leader's buffering for a slow follower.
   */
  readonly maxInflightMsgs: number
  /** Byte bound of the same window; Infinity disables it. */
  readonly maxInflightBytes: number
  /** Byte budget of the committed entries handed to the application in one Ready. */
  readonly maxCommittedSizePerReady: number
  /**
   * PreVote (§9.6): a would-be candidate first asks whether it could win, without raising its
   * term. A node cut off by a partition then cannot force a healthy cluster into a new term
   * when it returns.
   */
  readonly preVote: boolean
  /**
   * CheckQuorum (§6.2): a leader that has not heard from a majority within an election timeout
   * steps down, and followers that have heard from a leader within that time refuse to vote
   * (the leader lease). Keeps a partitioned leader from serving stale reads for long, and keeps
   * removed or flaky nodes from deposing a healthy leader.
   */
  readonly checkQuorum: boolean
  /**
   * How followers learn that the leader's commit index moved. 'immediate': an AppendEntries
   * to every follower at once, as etcd's raft does; each costs a message and its
   * acknowledgement per follower per commit, which is much of a follower's work under a
   * sequential load. 'piggyback': on the next AppendEntries or heartbeat (within
   * heartbeatTick), except to a follower that asked with awaitCommit, which hears at once.
   * Either way a follower applies an entry only once it is committed; 'piggyback' only lets it
   * apply up to a heartbeat later.
   */
  readonly commitBroadcast: 'immediate' | 'piggyback'
  /** Source of the election jitter; a seeded one makes a run reproducible. */
  readonly rng: Rng
  /**
   * Deliberate defects, for proving that the simulation's safety checker catches them. Never
   * set outside test/raft.
   */
  readonly unsafe: UnsafeFaults
}

export interface UnsafeFaults {
  /** Commit by counting replicas of an entry from an earlier term (Figure 8's trap). */
  readonly commitOldTermEntries?: boolean
  /** Grant votes without checking that the candidate's log is up to date (§5.4.1). */
  readonly voteWithoutLogCheck?: boolean
  /** Truncate the log after a duplicated AppendEntries whose entries all match (§5.3). */
  readonly truncateOnMatchingAppend?: boolean
}

export type ConfigInput = Pick<Config, 'id' | 'storage'> & Partial<Omit<Config, 'id' | 'storage'>>

export const DEFAULTS = {
  electionTick: 10,
  heartbeatTick: 1,
  applied: 0,
  maxSizePerMsg: 1024 * 1024,
  maxEntriesPerMsg: 4096,
  maxInflightMsgs: 256,
  maxInflightBytes: Infinity,
  maxCommittedSizePerReady: 64 * 1024 * 1024,
  preVote: true,
  checkQuorum: true,
  commitBroadcast: 'immediate',
} as const

/** Fills in defaults and rejects nonsense with a sentence that says what to change. */
export function validateConfig(input: ConfigInput): Config {
  const c: Config = {
    ...DEFAULTS,
    rng: seededRng(input.id),
    unsafe: {},
    ...input,
  }
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new Error(`${name} must be a positive integer, got ${v}`)
  }
  positiveInt('id', c.id)
  positiveInt('election tick', c.electionTick)
  positiveInt('heartbeat tick', c.heartbeatTick)
  if (c.electionTick <= c.heartbeatTick) {
    throw new Error('election tick must be greater than heartbeat tick')
  }
  if (c.commitBroadcast !== 'immediate' && c.commitBroadcast !== 'piggyback') {
    throw new Error(
      `commit broadcast must be 'immediate' or 'piggyback', got ${String(c.commitBroadcast)}`,
    )
  }
  positiveInt('max inflight msgs', c.maxInflightMsgs)
  positiveInt('max entries per msg', c.maxEntriesPerMsg)
  if (!(c.maxSizePerMsg > 0))
    throw new Error(`max size per msg must be positive, got ${c.maxSizePerMsg}`)
  if (!(c.maxInflightBytes > 0))
    throw new Error(`max inflight bytes must be positive, got ${c.maxInflightBytes}`)
  if (!(c.maxCommittedSizePerReady > 0)) {
    throw new Error(
      `max committed size per ready must be positive, got ${c.maxCommittedSizePerReady}`,
    )
  }
  if (!Number.isSafeInteger(c.applied) || c.applied < 0) {
    throw new Error(`applied must be a non-negative integer, got ${c.applied}`)
  }
  return c
}
