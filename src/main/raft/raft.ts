// The Raft state machine. It owns no I/O and no clock: it is driven by tick() and step(), and
// it leaves what must be persisted, sent and applied for the driver to pick up through
// RawNode.ready(). Section numbers refer to the Raft paper (§5) and Ongaro's dissertation
// (§3, §4, §6, §9).

import { type Config, type ConfigInput, validateConfig } from './config'
import { applyConfChange, ConfHistory } from './confchange'
import { RaftLog } from './log'
import {
  type AppendEntries,
  type AppendEntriesResponse,
  type ConfChange,
  type ConfState,
  type Entry,
  entrySize,
  type HardState,
  type Heartbeat,
  type HeartbeatResponse,
  type InstallSnapshot,
  type Message,
  type NodeId,
  NONE,
  type ReadState,
  type RequestVote,
  type Role,
  type Snapshot,
  type SoftState,
} from './messages'
import { Progress } from './progress'
import { committedIndex, hasQuorum, voteResult, type VoteResult } from './quorum'

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false
      readonly reason: string
      /**
       * This node takes no proposals now (it is not the leader, or it is handing leadership
       * over) and nothing was appended: the same proposal may go to whichever node leads next.
       */
      readonly notLeading: boolean
    }

type CampaignKind = 'preElection' | 'election' | 'transfer'

interface ReadRequest {
  readonly index: number
  readonly context: string
  readonly from: NodeId
  readonly acks: Set<NodeId>
}

// Distributes Omit over a union so that each message type keeps its own fields.
type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'from'> : never) : never

export class Raft {
  readonly id: NodeId
  term = 0
  vote: NodeId = NONE
  lead: NodeId = NONE
  role: Role = 'follower'
  readonly log: RaftLog
  /** The leader's view of every member's log. Rebuilt on every role change. */
  readonly prs = new Map<NodeId, Progress>()
  /** Messages produced since the last Ready. */
  msgs: Message[] = []
  /** ReadIndex answers produced since the last Ready. */
  readStates: ReadState[] = []
  electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTimeout = 0
  /** Target of a leadership transfer in progress, or NONE. */
  leadTransferee: NodeId = NONE
  private readonly conf: ConfHistory
  private votes = new Map<NodeId, boolean>()
  /** ReadIndex requests waiting for a quorum to confirm this leader, oldest first. */
  private readRequests: ReadRequest[] = []
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReads: { context: string; from: NodeId }[] = []
  /**
   * With commitBroadcast 'piggyback': followers waiting to hear that an index committed, each
   * with the indexes it waits for in ascending order (see awaitCommit).
   */
  private readonly commitWaiters = new Map<NodeId, number[]>()
  /** Entries appended since the last flushAppends() still have to go to the followers. */
  private appendsPending = false
  private readonly cfg: Config

  constructor(input: ConfigInput) {
    this.cfg = validateConfig(input)
    this.id = this.cfg.id
    const storage = this.cfg.storage
    const snap = storage.snapshot()
    if (snap === 'unavailable') throw new Error('storage has no snapshot to start from')
    this.log = new RaftLog(storage, this.cfg.applied, this.cfg.maxCommittedSizePerReady)
    this.conf = new ConfHistory(snap.meta.confState, snap.meta.index)
    const first = this.log.firstIndex()
    const stored = this.log.slice(first, this.log.lastIndex() + 1, Infinity)
    if (stored === 'compacted') throw new Error(`storage lost entries from ${first}`)
    this.conf.appended(first, stored)
    const hs = storage.initialState().hardState
    this.becomeFollower(hs.term, NONE)
    this.vote = hs.vote
  }

  // ---- state for the driver ----

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role }
  }

  /** The membership in force: that of the latest configuration entry in the log. */
  confState(): ConfState {
    return this.conf.current()
  }

  /** The membership at a log position, for the snapshot the application takes there. */
  confStateAt(index: number): ConfState {
    return this.conf.at(index)
  }

  /**
   * Whether this node may campaign: a voter of the configuration in force, or a voter whose
   * removal is still uncommitted. The latter matters when a leader that removed itself fails
   * before the removal commits: the remaining voters may lack the removal entry, so the node
   * that has it would refuse them its vote while not campaigning itself, and the cluster could
   * never elect again. Campaigning under the new configuration is safe: its vote for itself is
   * not counted, it needs a majority of the new voters, and once elected it commits the removal
   * and steps down.
   */
  private promotable(): boolean {
    const cs = this.conf.current()
    if (cs.voters.includes(this.id)) return true
    const pending = this.conf.lastChangeIndex()
    return pending > this.log.committed && this.conf.at(pending - 1).voters.includes(this.id)
  }

  private send(m: Outgoing): void {
    this.msgs.push({ ...m, from: this.id } as Message)
  }

  // ---- roles ----

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.rng.int(this.cfg.electionTick)
    this.leadTransferee = NONE
    this.votes = new Map()
    this.readRequests = []
    this.pendingReads = []
    this.commitWaiters.clear()
    this.appendsPending = false
    this.prs.clear()
    this.syncProgress()
    const self = this.prs.get(this.id)
    if (self) self.match = this.log.lastIndex()
  }

  /** Makes the progress map match the membership in force. */
  private syncProgress(): void {
    const cs = this.conf.current()
    const members = new Set([...cs.voters, ...cs.learners])
    for (const id of this.prs.keys()) if (!members.has(id)) this.prs.delete(id)
    for (const id of members) {
      const isLearner = cs.learners.includes(id)
      const pr = this.prs.get(id)
      if (pr) {
        pr.isLearner = isLearner
      } else {
        this.prs.set(
          id,
          new Progress(
            id,
            this.log.lastIndex() + 1,
            isLearner,
            this.cfg.maxInflightMsgs,
            this.cfg.maxInflightBytes,
          ),
        )
      }
    }
    if (this.leadTransferee !== NONE && !cs.voters.includes(this.leadTransferee)) {
      this.leadTransferee = NONE
    }
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term)
    this.lead = lead
    this.role = 'follower'
  }

  private becomePreCandidate(): void {
    // PreVote changes neither term nor vote: a failed pre-election leaves no trace (§9.6).
    this.votes = new Map()
    this.lead = NONE
    this.role = 'preCandidate'
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
  }

  private becomeLeader(): void {
    this.reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    for (const pr of this.prs.values()) pr.recentActive = pr.id === this.id
    // A no-op entry of the new term lets the leader commit, and so learn the commit index of
    // everything before it (§8); it also unblocks reads and membership changes below.
    this.appendEntries([{ type: 'normal', term: this.term, index: 0, data: new Uint8Array(0) }])
  }

  // ---- time ----

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat()
    else this.tickElection()
  }

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.campaign(this.cfg.preVote ? 'preElection' : 'election')
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0
      if (this.cfg.checkQuorum) {
        const active = (id: NodeId): boolean =>
          id === this.id || this.prs.get(id)?.recentActive === true
        if (!hasQuorum(this.conf.current().voters, active)) {
          // A majority has not answered for a whole election timeout: another leader may
          // exist by now, so stop serving (§6.2).
          this.becomeFollower(this.term, NONE)
          return
        }
        for (const pr of this.prs.values()) if (pr.id !== this.id) pr.recentActive = false
      }
      // A transfer that did not finish within an election timeout is abandoned (§3.10).
      this.leadTransferee = NONE
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0
      const lastRead = this.readRequests[this.readRequests.length - 1]
      this.bcastHeartbeat(lastRead?.context ?? '')
    }
  }

  // ---- elections ----

  /** Starts an election now, as if the election timeout had passed. */
  campaign(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.promotable()) return
    let voteType: RequestVote['type']
    let term: number
    if (kind === 'preElection') {
      this.becomePreCandidate()
      voteType = 'requestPreVote'
      term = this.term + 1
    } else {
      this.becomeCandidate()
      voteType = 'requestVote'
      term = this.term
    }
    if (this.poll(this.id, true) === 'won') {
      this.wonElection()
      return
    }
    const lastLogIndex = this.log.lastIndex()
    const lastLogTerm = this.log.lastTerm()
    for (const to of this.conf.current().voters) {
      if (to === this.id) continue
      this.send({
        type: voteType,
        to,
        term,
        lastLogIndex,
        lastLogTerm,
        transfer: kind === 'transfer',
      })
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted)
    return voteResult(this.conf.current().voters, this.votes)
  }

  private wonElection(): void {
    if (this.role === 'preCandidate') {
      this.campaign('election')
    } else {
      this.becomeLeader()
      this.replicate()
    }
  }

  private handleVoteRequest(m: RequestVote): void {
    const pre = m.type === 'requestPreVote'
    // We may vote for whoever we already voted for in this term, for anyone if we have neither
    // voted nor heard from a leader, and in a pre-election for any higher term (§5.2, §9.6).
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (pre && m.term > this.term)
    const upToDate =
      this.cfg.unsafe.voteWithoutLogCheck === true ||
      this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)
    const type = pre ? 'requestPreVoteResponse' : 'requestVoteResponse'
    if (canVote && upToDate) {
      // A pre-vote grant carries the term the candidate asked about, so it can count it.
      this.send({ type, to: m.from, term: m.term, reject: false })
      if (!pre) {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type, to: m.from, term: this.term, reject: true })
    }
  }

  // ---- the message entry point ----

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'requestVote' || m.type === 'requestPreVote') {
        // Leader lease (§6): while we hear from a leader, a higher-term vote request comes from
        // a node that was cut off or removed; ignoring it keeps it from deposing the leader.
        // A transfer (TimeoutNow) was asked for by the leader itself and is honoured.
        const inLease =
          this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick
        if (inLease && !m.transfer) return
      }
      if (m.type === 'requestPreVote') {
        // A pre-vote request never raises our term.
      } else if (m.type === 'requestPreVoteResponse' && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; we raise it on winning.
      } else {
        const fromLeader =
          m.type === 'appendEntries' || m.type === 'heartbeat' || m.type === 'installSnapshot'
        this.becomeFollower(m.term, fromLeader ? m.from : NONE)
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === 'heartbeat' || m.type === 'appendEntries')
      ) {
        // A leader that was cut off never learns the new term from vote requests when
        // PreVote or CheckQuorum holds them back; our answer carries the term so it steps down.
        this.send({
          type: 'appendEntriesResponse',
          to: m.from,
          term: this.term,
          index: 0,
          reject: true,
          rejectHint: 0,
          hintTerm: 0,
        })
      } else if (m.type === 'requestPreVote') {
        this.send({ type: 'requestPreVoteResponse', to: m.from, term: this.term, reject: true })
      }
      return
    }

    if (m.type === 'requestVote' || m.type === 'requestPreVote') {
      this.handleVoteRequest(m)
      return
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m)
        break
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m)
        break
      case 'follower':
        this.stepFollower(m)
        break
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendEntriesResponse':
        this.handleAppendEntriesResponse(m)
        break
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m)
        break
      case 'readIndex':
        this.leaderReadIndex(m.context, m.from)
        break
      case 'transferLeader':
        this.leaderTransfer(m.transferee)
        break
      default:
        // Late vote responses and messages meant for followers.
        break
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'appendEntries':
      case 'heartbeat':
      case 'installSnapshot':
        // Someone won this term: accept it as leader (§5.2).
        this.becomeFollower(m.term, m.from)
        this.stepFollower(m)
        break
      case 'requestVoteResponse':
      case 'requestPreVoteResponse': {
        const expected =
          this.role === 'preCandidate' ? 'requestPreVoteResponse' : 'requestVoteResponse'
        if (m.type !== expected) break
        const result = this.poll(m.from, !m.reject)
        if (result === 'won') this.wonElection()
        else if (result === 'lost') this.becomeFollower(this.term, NONE)
        break
      }
      default:
        break
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'appendEntries':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleAppendEntries(m)
        break
      case 'heartbeat':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        break
      case 'installSnapshot':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleSnapshot(m)
        break
      case 'timeoutNow':
        // Our leader hands over: campaign at once, skipping PreVote (§3.10).
        this.campaign('transfer')
        break
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context })
        break
      case 'transferLeader':
        if (this.lead !== NONE) this.send({ ...m, to: this.lead, term: this.term })
        break
      default:
        break
    }
  }

  // ---- replication, follower side ----

  private handleAppendEntries(m: AppendEntries): void {
    if (m.prevLogIndex < this.log.committed) {
      // Everything up to our commit index is settled; a delayed message cannot change it.
      this.send({
        type: 'appendEntriesResponse',
        to: m.from,
        term: this.term,
        index: this.log.committed,
        reject: false,
        rejectHint: 0,
        hintTerm: 0,
      })
      return
    }
    const r = this.log.maybeAppend(
      m.prevLogIndex,
      m.prevLogTerm,
      m.leaderCommit,
      m.entries,
      this.cfg.unsafe.truncateOnMatchingAppend === true,
    )
    if (r) {
      if (r.conflictIndex !== 0) {
        this.conf.appended(r.conflictIndex, m.entries.slice(r.conflictIndex - m.prevLogIndex - 1))
      }
      this.send({
        type: 'appendEntriesResponse',
        to: m.from,
        term: this.term,
        index: r.lastNewIndex,
        reject: false,
        rejectHint: 0,
        hintTerm: 0,
      })
      return
    }
    // Consistency check failed (§5.3). Tell the leader where our log could match at best, so
    // it skips every entry of a divergent term in one round trip.
    const hint = this.log.findConflictByTerm(
      Math.min(m.prevLogIndex, this.log.lastIndex()),
      m.prevLogTerm,
    )
    this.send({
      type: 'appendEntriesResponse',
      to: m.from,
      term: this.term,
      index: m.prevLogIndex,
      reject: true,
      rejectHint: hint,
      hintTerm: this.log.term(hint) ?? 0,
    })
  }

  private handleHeartbeat(m: Heartbeat): void {
    this.log.commitTo(m.commit)
    this.send({ type: 'heartbeatResponse', to: m.from, term: this.term, context: m.context })
  }

  private handleSnapshot(m: InstallSnapshot): void {
    const index = this.restore(m.snapshot) ? this.log.lastIndex() : this.log.committed
    this.send({
      type: 'appendEntriesResponse',
      to: m.from,
      term: this.term,
      index,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    })
  }

  /** Installs a snapshot from the leader. Returns false when it brings nothing new. */
  private restore(s: Snapshot): boolean {
    // A snapshot that does not reach past our commit index is stale: everything it holds we
    // already have, and installing it would throw away committed entries after it.
    if (s.meta.index <= this.log.committed) return false
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // Our log already contains the snapshot's last entry: just commit up to it.
      this.log.commitTo(s.meta.index)
      return false
    }
    this.log.restore(s)
    this.conf.restore(s.meta.confState, s.meta.index)
    return true
  }

  // ---- replication, leader side ----

  /** Appends entries to the leader's log, stamping term and index. */
  private appendEntries(entries: Entry[]): Entry[] {
    let index = this.log.lastIndex()
    const stamped = entries.map((e) => ({ ...e, term: this.term, index: ++index }))
    const first = stamped[0]
    if (first === undefined) return stamped
    this.log.append(stamped)
    if (stamped.some((e) => e.type === 'confChange')) {
      this.conf.appended(first.index, stamped)
      this.syncProgress()
    }
    this.prs.get(this.id)?.maybeUpdate(this.log.lastIndex())
    return stamped
  }

  /**
   * New entries go to every follower with the next Ready (flushAppends), so that the proposals
   * made between two Readies leave as one AppendEntries per follower rather than one each; a
   * leader that is the only voter commits at once.
   */
  private replicate(): void {
    this.appendsPending = true
    if (this.maybeCommit()) this.commitAdvanced()
  }

  /**
   * Sends what replicate() left for the next Ready: the new entries to each follower taking
   * them, and a probe to each follower being probed (a learner just added, say). Called by
   * RawNode before it looks for a Ready.
   */
  flushAppends(): void {
    if (!this.appendsPending) return
    this.appendsPending = false
    if (this.role !== 'leader') return
    for (const [id, pr] of this.prs) {
      if (id !== this.id) this.maybeSendAppend(id, pr.state !== 'replicate')
    }
  }

  private handleAppendEntriesResponse(m: AppendEntriesResponse): void {
    const pr = this.prs.get(m.from)
    if (!pr) return
    pr.recentActive = true
    if (m.reject) {
      const hint =
        m.hintTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.hintTerm) : m.rejectHint
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index)) return
    if (pr.state === 'probe') {
      pr.becomeReplicate()
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The snapshot landed (or the follower caught up another way): resume from the log.
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index)
    }
    if (this.maybeCommit()) {
      this.commitAdvanced()
    } else if (wasPaused) {
      this.sendAppend(m.from)
    }
    if (this.role !== 'leader') return
    // Keep the pipeline full while the in-flight window allows.
    while (this.maybeSendAppend(m.from, false)) {
      // each call sends one batch
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', to: m.from, term: this.term })
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.prs.get(m.from)
    if (!pr) return
    pr.recentActive = true
    pr.probeSent = false
    // The follower is alive, so an AppendEntries in the window was lost: free a slot to retry.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne()
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from)
    if (m.context !== '') this.ackRead(m.context, m.from)
  }

  /**
   * Advances the commit index to what a majority of voters holds, but only through an entry of
   * the current term: an older entry, even on a majority, can still be overwritten (§5.4.2,
   * Figure 8). Entries before it are then committed indirectly.
   */
  private maybeCommit(): boolean {
    const voters = this.conf.current().voters
    const index = committedIndex(voters, (id) => this.prs.get(id)?.match ?? 0)
    if (index <= this.log.committed) return false
    if (this.log.term(index) !== this.term && this.cfg.unsafe.commitOldTermEntries !== true)
      return false
    this.log.commitTo(index)
    return true
  }

  private commitAdvanced(): void {
    if (this.cfg.commitBroadcast === 'immediate') {
      this.bcastAppend()
    } else {
      const committed = this.log.committed
      for (const [id, indexes] of this.commitWaiters) {
        if (indexes[0]! > committed) continue
        const rest = indexes.filter((i) => i > committed)
        if (rest.length > 0) this.commitWaiters.set(id, rest)
        else this.commitWaiters.delete(id)
        this.sendAppend(id)
      }
    }
    if (this.log.term(this.log.committed) === this.term && this.pendingReads.length > 0) {
      const pending = this.pendingReads
      this.pendingReads = []
      for (const r of pending) this.leaderReadIndex(r.context, r.from)
    }
    // A leader that removed itself leaves once the removal is committed (§4.2.2). It hands
    // over to the most up-to-date voter so the cluster need not wait for a timeout.
    if (!this.promotable() && this.conf.lastChangeIndex() <= this.log.committed) {
      let best: Progress | undefined
      for (const pr of this.prs.values()) {
        if (pr.isLearner || pr.id === this.id) continue
        if (!best || pr.match > best.match) best = pr
      }
      if (best && best.match === this.log.lastIndex()) {
        this.send({ type: 'timeoutNow', to: best.id, term: this.term })
      }
      this.becomeFollower(this.term, NONE)
    }
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id)
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true)
  }

  /**
   * Sends the follower its next batch: entries from `next`, bounded by count and bytes, or the
   * snapshot if those entries were compacted. Returns whether a message was sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to)
    if (!pr || to === this.id || pr.isPaused()) return false
    const prevLogIndex = pr.next - 1
    const prevLogTerm = this.log.term(prevLogIndex)
    let entries = this.log.entriesFrom(pr.next, this.cfg.maxSizePerMsg)
    if (prevLogTerm === undefined || entries === 'compacted') return this.sendSnapshot(pr)
    if (entries.length > this.cfg.maxEntriesPerMsg)
      entries = entries.slice(0, this.cfg.maxEntriesPerMsg)
    if (entries.length === 0 && !sendIfEmpty) return false
    const last = entries[entries.length - 1]
    this.send({
      type: 'appendEntries',
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.log.committed,
    })
    let bytes = 0
    for (const e of entries) bytes += entrySize(e)
    pr.sentEntries(last?.index ?? prevLogIndex, entries.length, bytes)
    return true
  }

  private sendSnapshot(pr: Progress): boolean {
    // Sending a snapshot is expensive: only to a follower that is answering.
    if (!pr.recentActive) return false
    const snapshot = this.log.snapshot()
    if (snapshot === 'unavailable') return false
    pr.becomeSnapshot(snapshot.meta.index)
    this.send({ type: 'installSnapshot', to: pr.id, term: this.term, snapshot })
    return true
  }

  private bcastHeartbeat(context: string): void {
    for (const pr of this.prs.values()) {
      if (pr.id === this.id) continue
      this.send({
        type: 'heartbeat',
        to: pr.id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        context,
      })
    }
  }

  // ---- client requests ----

  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not the leader', notLeading: true }
    if (this.leadTransferee !== NONE) {
      return {
        ok: false,
        reason: `leadership is being transferred to node ${this.leadTransferee}`,
        notLeading: true,
      }
    }
    const [e] = this.appendEntries([{ type: 'normal', term: 0, index: 0, data }])
    this.replicate()
    return e
      ? { ok: true, index: e.index, term: e.term }
      : { ok: false, reason: 'nothing appended', notLeading: false }
  }

  /**
   * Has the leader tell `follower` as soon as `index` commits, instead of on the next
   * AppendEntries or heartbeat: for a follower that handed a client's write to the leader and
   * answers the client once it has applied the entry. Only matters with commitBroadcast
   * 'piggyback'; a change of leader forgets the request (the write's outcome is then unknown).
   */
  awaitCommit(follower: NodeId, index: number): void {
    if (this.role !== 'leader' || follower === this.id || !this.prs.has(follower)) return
    if (this.cfg.commitBroadcast === 'immediate') return
    if (index <= this.log.committed) {
      this.sendAppend(follower)
      return
    }
    const waiting = this.commitWaiters.get(follower)
    if (waiting === undefined) this.commitWaiters.set(follower, [index])
    else if (index > waiting[waiting.length - 1]!) waiting.push(index)
    else {
      waiting.push(index)
      waiting.sort((a, b) => a - b)
    }
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not the leader', notLeading: true }
    if (this.leadTransferee !== NONE) {
      return {
        ok: false,
        reason: `leadership is being transferred to node ${this.leadTransferee}`,
        notLeading: true,
      }
    }
    if (this.log.term(this.log.committed) !== this.term) {
      return {
        ok: false,
        reason: 'the new leader has not yet committed an entry of its term; retry shortly',
        notLeading: false,
      }
    }
    const pending = this.conf.lastChangeIndex()
    if (pending > this.log.committed) {
      return {
        ok: false,
        reason: `a membership change is already in progress (entry ${pending} is not yet committed)`,
        notLeading: false,
      }
    }
    const next = applyConfChange(this.conf.current(), change)
    if ('error' in next) return { ok: false, reason: next.error, notLeading: false }
    const [e] = this.appendEntries([{ type: 'confChange', term: 0, index: 0, change }])
    this.replicate()
    return e
      ? { ok: true, index: e.index, term: e.term }
      : { ok: false, reason: 'nothing appended', notLeading: false }
  }

  /**
   * Asks for a linearizable read point (§6.4). The answer arrives as a ReadState in a later
   * Ready. Returns false when there is no known leader to ask.
   */
  readIndex(context: string): boolean {
    if (this.role === 'leader') {
      this.leaderReadIndex(context, this.id)
      return true
    }
    if (this.lead === NONE) return false
    this.send({ type: 'readIndex', to: this.lead, term: this.term, context })
    return true
  }

  private leaderReadIndex(context: string, from: NodeId): void {
    // Until it commits an entry of its own term a new leader does not know the commit index.
    if (this.log.term(this.log.committed) !== this.term) {
      this.pendingReads.push({ context, from })
      return
    }
    this.readRequests.push({ index: this.log.committed, context, from, acks: new Set() })
    if (!this.ackRead(context, this.id)) this.bcastHeartbeat(context)
  }

  /** Records a heartbeat acknowledgement; releases every read up to a confirmed one. */
  private ackRead(context: string, from: NodeId): boolean {
    const i = this.readRequests.findIndex((r) => r.context === context)
    const req = this.readRequests[i]
    if (!req) return false
    req.acks.add(from)
    if (!hasQuorum(this.conf.current().voters, (id) => req.acks.has(id))) return false
    for (const r of this.readRequests.splice(0, i + 1)) {
      if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context })
      else
        this.send({
          type: 'readIndexResponse',
          to: r.from,
          term: this.term,
          index: r.index,
          context: r.context,
        })
    }
    return true
  }

  /** Hands leadership to `to` once it has caught up (§3.10). Followers forward the request. */
  transferLeadership(to: NodeId): void {
    if (this.role === 'leader') this.leaderTransfer(to)
    else if (this.lead !== NONE)
      this.send({ type: 'transferLeader', to: this.lead, term: this.term, transferee: to })
  }

  private leaderTransfer(to: NodeId): void {
    const pr = this.prs.get(to)
    if (to === this.id || !pr || pr.isLearner || this.leadTransferee === to) return
    this.leadTransferee = to
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to, term: this.term })
    else this.sendAppend(to)
  }

  /** The driver could not reach `to`: stop streaming to it optimistically. */
  reportUnreachable(to: NodeId): void {
    const pr = this.prs.get(to)
    if (this.role === 'leader' && pr?.state === 'replicate') pr.becomeProbe()
  }

  /** The driver finished (or failed) sending a snapshot to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.prs.get(to)
    if (this.role !== 'leader' || pr?.state !== 'snapshot') return
    if (!ok) pr.pendingSnapshot = 0
    pr.becomeProbe()
    // Wait for the follower's next heartbeat response before probing again.
    pr.probeSent = true
  }
}

export type { Config }
