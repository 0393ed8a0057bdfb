// The driver's handle on the state machine. The contract, for each Ready:
//   1. persist `hardState`, `entries` and `snapshot` (one durable write: these are what the
//      node promised in the messages below — votes and acknowledgements);
//   2. only then send `messages`;
//   3. apply `snapshot`, then `committedEntries`, to the state machine; answer `readStates`
//      once the applied index reaches theirs;
//   4. call advance(ready).
// Calling ready() again before advance() is a programming error.
//
// Two relaxations are safe, and the node's driver uses both:
// - messages that promise nothing about this node's disk (a leader's appendEntries, heartbeat,
//   installSnapshot, timeoutNow, readIndexResponse) may leave before step 1, unless the Ready
//   also carries a new term or vote: a leader counts an entry only once followers acknowledge
//   it, and takes no Ready before this one's write has finished (§10.2.1 of Ongaro's
//   dissertation);
// - committed entries below this Ready's first new entry were written by earlier Readies and
//   are on a majority, so they may be applied while step 1 runs.

import type { ConfigInput } from './config'
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from './messages'
import type { ProgressState } from './progress'
import { Raft, type ProposeResult } from './raft'

export interface Ready {
  /** Present when leader or role changed. */
  readonly softState?: SoftState
  /** Present when term, vote or commit changed. */
  readonly hardState?: HardState
  /** Present when the membership in force changed (a configuration entry was appended, truncated or restored). */
  readonly confState?: ConfState
  readonly readStates: readonly ReadState[]
  /** Entries to append to stable storage; they may replace a conflicting tail. */
  readonly entries: readonly Entry[]
  /** A snapshot received from the leader, to persist and apply. */
  readonly snapshot?: Snapshot
  readonly committedEntries: readonly Entry[]
  readonly messages: readonly Message[]
  /** Whether the write in step 1 must be fsynced: it carries entries, a snapshot, or a new term or vote. */
  readonly mustSync: boolean
}

export interface ProgressStatus {
  readonly id: NodeId
  readonly match: number
  readonly next: number
  readonly state: ProgressState
  readonly isLearner: boolean
  readonly recentActive: boolean
  readonly inflight: number
}

export interface Status {
  readonly id: NodeId
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
  readonly applied: number
  readonly lead: NodeId
  readonly role: Role
  readonly firstIndex: number
  readonly lastIndex: number
  readonly confState: ConfState
  readonly leadTransferee: NodeId
  /** The leader's view of each member; empty on other roles. */
  readonly progress: readonly ProgressStatus[]
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

export class RawNode {
  readonly raft: Raft
  private prevSoft: SoftState
  private prevHard: HardState
  private prevConf: ConfState
  private awaitingAdvance = false

  constructor(config: ConfigInput) {
    this.raft = new Raft(config)
    this.prevSoft = this.raft.softState()
    this.prevHard = this.raft.hardState()
    this.prevConf = this.raft.confState()
  }

  tick(): void {
    this.raft.tick()
  }

  step(m: Message): void {
    this.raft.step(m)
  }

  /** Campaigns now instead of waiting for the election timeout. */
  campaign(): void {
    this.raft.campaign('election')
  }

  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose(data)
  }

  /** See Raft.awaitCommit. */
  awaitCommit(follower: NodeId, index: number): void {
    this.raft.awaitCommit(follower, index)
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(change)
  }

  readIndex(context: string): boolean {
    return this.raft.readIndex(context)
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to)
  }

  reportUnreachable(to: NodeId): void {
    this.raft.reportUnreachable(to)
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(to, ok)
  }

  hasReady(): boolean {
    if (this.awaitingAdvance) return false
    const r = this.raft
    // Proposals since the last Ready leave in one batch per follower, in this Ready.
    r.flushAppends()
    const soft = r.softState()
    return (
      soft.lead !== this.prevSoft.lead ||
      soft.role !== this.prevSoft.role ||
      !sameHardState(r.hardState(), this.prevHard) ||
      r.confState() !== this.prevConf ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstableSnapshot() !== undefined ||
      r.log.hasNextCommittedEntries()
    )
  }

  ready(): Ready {
    if (this.awaitingAdvance) throw new Error('ready() called again before advance()')
    const r = this.raft
    r.flushAppends()
    const soft = r.softState()
    const hard = r.hardState()
    const conf = r.confState()
    const entries = r.log.unstableEntries()
    const snapshot = r.log.unstableSnapshot()
    const softChanged = soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role
    const hardChanged = !sameHardState(hard, this.prevHard)
    const rd: Ready = {
      ...(softChanged ? { softState: soft } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      ...(conf !== this.prevConf ? { confState: conf } : {}),
      ...(snapshot ? { snapshot } : {}),
      readStates: r.readStates,
      entries,
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote,
    }
    r.msgs = []
    r.readStates = []
    this.prevSoft = soft
    this.prevHard = hard
    this.prevConf = conf
    this.awaitingAdvance = true
    return rd
  }

  /** Tells the core that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const log = this.raft.log
    const last = rd.entries[rd.entries.length - 1]
    if (last) log.stableTo(last.index, last.term)
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index)
      log.appliedTo(Math.max(log.applied, rd.snapshot.meta.index))
    }
    const applied = rd.committedEntries[rd.committedEntries.length - 1]
    if (applied) log.appliedTo(applied.index)
    this.awaitingAdvance = false
  }

  status(): Status {
    const r = this.raft
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      confState: r.confState(),
      leadTransferee: r.leadTransferee,
      progress:
        r.role === 'leader'
          ? [...r.prs.values()].map((p) => ({
              id: p.id,
              match: p.match,
              next: p.next,
              state: p.state,
              isLearner: p.isLearner,
              recentActive: p.recentActive,
              inflight: p.inflights.count,
            }))
          : [],
    }
  }
}
