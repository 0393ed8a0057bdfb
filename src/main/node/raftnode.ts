// One Raft node: the consensus core driven by a tick timer and by messages from the transport,
// its Ready handled strictly in the order persist → send → apply → advance, the key-value state
// machine it applies, and the etcd-facing operations of EtcdBackend.

import { randomInt } from 'node:crypto'
import { stat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  applyCommand,
  createStore,
  decodeCommand,
  decodeSnapshot,
  demote,
  encodeProposal,
  encodeSnapshotSteps,
  ErrNotLeader,
  expiredLeases,
  isEtcdError,
  keepAlive,
  markApplied,
  promote,
  type Command,
  type CommandResponse,
  type EtcdError,
  type LeaseKeepAliveResponse,
  type Store,
} from '../kv'
import {
  bootstrapEntries,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  NONE,
  RawNode,
  type Ready,
  type Role,
  seededRng,
  type Snapshot,
} from '../raft'
import {
  LEADER_WAIT_MS,
  type EtcdBackend,
  type Header,
  type Member,
  type NodeStatus,
} from './backend'
import { splitHostPort, type MemberAddress, type NodeConfig, type Timing } from './config'
import {
  ErrBadLeaderTransferee,
  ErrLeaderChanged,
  ErrTimeoutLeaderTransfer,
  ErrLearnerNotReady,
  ErrMemberNotFound,
  ErrMemberNotLearner,
  ErrNotEnoughStartedMembers,
  ErrNoLeader,
  ErrPeerURLExist,
  ErrStopped,
  ErrTimeout,
  ErrUnhealthy,
  rejected,
} from './errors'
import type { Logger } from './logger'
import { NodeStorage } from './storage'
import {
  PeerTransport,
  type FaultRules,
  type ForwardReply,
  type ForwardRequest,
  type PeerMessage,
} from './transport/transport'

const REQUEST_TIMEOUT_MS = 7000
/**
 * How long a stopping leader waits for its successor to take over. The manager sends SIGKILL
 * to a node that has not exited 5 s after a stop.
 */
const HAND_OVER_MS = 2000
/** The reason a node that does not lead gives for a forwarded write it did not propose. */
const NOT_LEADER = 'not the leader'
/** How often a node reports index moves to the manager at most (see publishState). */
const STATE_INTERVAL_MS = 50
const LEADER_MESSAGES: ReadonlySet<Message['type']> = new Set([
  'appendEntries',
  'heartbeat',
  'installSnapshot',
  'timeoutNow',
  'readIndexResponse',
])
/** What etcd reports as its version; RaftLab implements the v3.4 API. */
export const API_VERSION = '3.4.0'

/** What a node tells the world each time it changes (the manager shows it). */
export interface NodeState {
  readonly id: number
  readonly name: string
  readonly role: Role
  readonly term: number
  readonly leader: number
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly confState: ConfState
  readonly revision: number
}

export type NodeEvent =
  | {
      readonly type: 'roleChanged'
      readonly role: Role
      readonly term: number
      readonly leader: number
    }
  | { readonly type: 'membershipChanged'; readonly confState: ConfState; readonly index: number }
  | { readonly type: 'snapshotTaken'; readonly index: number; readonly bytes: number }
  | { readonly type: 'snapshotInstalled'; readonly index: number; readonly from: number }
  | { readonly type: 'removed' }

interface Waiter<T> {
  readonly term: number
  readonly resolve: (v: T | EtcdError) => void
  readonly timer: NodeJS.Timeout
}

/** Membership and addresses travel with the key-value state inside a node snapshot. */
const SNAPSHOT_MAGIC = 0x524c4e44 // "RLND"

/** What a node snapshot holds besides the key-value state. */
interface SnapshotMembership {
  readonly members: MemberAddress[]
  /** Ids whose removal was applied (absent in snapshots written before it was kept). */
  readonly removed: number[]
}

/** The bytes before the key-value state: magic, membership length, membership (JSON). */
function nodeSnapshotHeader(m: SnapshotMembership): Uint8Array {
  const meta = Buffer.from(JSON.stringify(m))
  const out = Buffer.alloc(8 + meta.length)
  out.writeUInt32BE(SNAPSHOT_MAGIC, 0)
  out.writeUInt32BE(meta.length, 4)
  meta.copy(out, 8)
  return out
}

function decodeNodeSnapshot(
  data: Uint8Array,
): (SnapshotMembership & { kv: Uint8Array }) | undefined {
  if (data.length === 0) return undefined
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (buf.length < 8 || buf.readUInt32BE(0) !== SNAPSHOT_MAGIC) {
    throw new Error('snapshot is not a RaftLab node snapshot (bad magic)')
  }
  const len = buf.readUInt32BE(4)
  if (8 + len > buf.length) throw new Error('snapshot is truncated (membership block)')
  const meta = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Partial<SnapshotMembership>
  return { members: meta.members ?? [], removed: meta.removed ?? [], kv: buf.subarray(8 + len) }
}

function parseContext(change: ConfChange): Partial<MemberAddress> {
  if (!change.context) return {}
  try {
    return JSON.parse(change.context) as Partial<MemberAddress>
  } catch {
    return {}
  }
}

/** FNV-1a over the cluster name, as a uint64 decimal string: etcd's cluster_id. */
function clusterIdOf(name: string): string {
  let h = 0xcbf29ce484222325n
  for (const b of Buffer.from(name)) {
    h ^= BigInt(b)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h.toString()
}

/** A linearizable read waiting for its ReadIndex; `since` is when it arrived. */
interface QueuedRead {
  readonly resolve: (e: EtcdError | undefined) => void
  readonly since: number
}

export class RaftNode implements EtcdBackend {
  store: Store
  private readonly raw: RawNode
  private readonly book = new Map<number, MemberAddress>()
  /** When each peer was last heard from: who is up, for the reconfiguration checks. */
  private readonly heardAt = new Map<number, number>()
  /** Members whose removal this node applied; ids are never given out again. */
  private readonly removed = new Set<number>()
  private readonly proposals = new Map<number, Waiter<unknown>>()
  /** Reads waiting for the next ReadIndex. */
  private readQueue: QueuedRead[] = []
  private readFlushScheduled = false
  private readSeq = 0
  /** Reads whose ReadIndex request is out, by its context. */
  private readonly pendingReads = new Map<string, { reads: QueuedRead[]; timer: NodeJS.Timeout }>()
  private readsAwaitingApply: {
    index: number
    waiters: ((e: EtcdError | undefined) => void)[]
    deadline: number
  }[] = []
  private leaderWaiters: {
    target: number
    resolve: (e: EtcdError | undefined) => void
    timer: NodeJS.Timeout
  }[] = []
  private revoking = new Set<number>()
  private tickTimer: NodeJS.Timeout | undefined
  private busy = false
  private again = false
  private stopped = false
  private snapshotIndex: number
  private snapshotting = false
  private timing: Timing
  private headersBuilt = 0
  /** Starts as the configured count; the manager may change it on a running node. */
  private snapshotCount: number
  /** The hard state last written, and the newest one the core handed out. */
  private savedHard: HardState
  private latestHard: HardState
  private commitTimer: NodeJS.Timeout | undefined
  private readonly clusterId: string
  private lastState: NodeState | undefined
  private stateTimer: NodeJS.Timeout | undefined
  /** Writes handed to the leader, by request id, until it answers (see forward). */
  private readonly forwarded = new Map<
    number,
    {
      readonly leader: NodeId
      readonly timer: NodeJS.Timeout
      readonly resolve: (r: CommandResponse | EtcdError) => void
    }
  >()
  /**
   * Starts at random: a reply held by a delay rule from before this process restarted must not
   * match a request of this one.
   */
  private forwardSeq = randomInt(2 ** 47)
  transport!: PeerTransport
  onState: (s: NodeState) => void = () => {}
  onEvent: (e: NodeEvent) => void = () => {}

  private constructor(
    readonly cfg: NodeConfig,
    private readonly storage: NodeStorage,
    private readonly log: Logger,
  ) {
    this.timing = {
      tickMs: cfg.tickMs,
      electionTicks: cfg.electionTicks,
      heartbeatTicks: cfg.heartbeatTicks,
    }
    this.snapshotCount = cfg.snapshotCount
    this.clusterId = clusterIdOf(cfg.clusterName)
    for (const m of cfg.initialCluster) this.book.set(m.id, m)
    this.snapshotIndex = storage.mem.snapshotMeta().index
    this.savedHard = storage.initialState().hardState
    this.latestHard = this.savedHard
    const decoded = decodeNodeSnapshot(storage.snapshotData())
    if (decoded) for (const m of decoded.members) this.book.set(m.id, m)
    for (const id of decoded?.removed ?? []) this.removed.add(id)
    this.store = decoded ? decodeSnapshot(decoded.kv) : createStore()
    this.learnAddresses(storage.mem.allEntries())
    this.raw = new RawNode({
      id: cfg.id,
      storage: storage.mem,
      electionTick: cfg.electionTicks,
      heartbeatTick: cfg.heartbeatTicks,
      applied: this.snapshotIndex,
      rng: seededRng(randomInt(2 ** 31)),
      // A follower learns of a commit with the next append or heartbeat, and at once when it
      // waits on a write it forwarded (awaitCommit below): half a follower's messages under a
      // sequential load were commit-only appends and their acknowledgements.
      commitBroadcast: 'piggyback',
    })
  }

  /** Opens the data directory, bootstraps a new cluster's log if needed, and starts serving peers. */
  static async start(cfg: NodeConfig, log: Logger): Promise<RaftNode> {
    const storage = await NodeStorage.open(cfg.dataDir, { create: true, log })
    const fresh = storage.mem.lastIndex() === 0 && storage.initialState().hardState.term === 0
    if (fresh && cfg.hasRun) {
      await storage.close()
      throw new Error(
        `data directory ${cfg.dataDir} holds no Raft log, but node ${cfg.id} has run before: ` +
          'its log and vote are gone. Started as itself it could help elect a leader that ' +
          `lacks acknowledged writes. Remove node ${cfg.id} from the cluster and add a new node ` +
          'instead (or restore the directory from a backup).',
      )
    }
    if (fresh && !cfg.join) {
      const ids = cfg.initialCluster.map((m) => m.id)
      const contexts = new Map(cfg.initialCluster.map((m) => [m.id, JSON.stringify(m)]))
      const entries = bootstrapEntries(ids).map((e) =>
        e.type === 'confChange'
          ? { ...e, change: { ...e.change, context: contexts.get(e.change.nodeId) ?? '' } }
          : e,
      )
      await storage.save({ entries, hardState: { term: 1, vote: 0, commit: entries.length } })
      log('info', 'bootstrapped a new cluster', { members: ids })
    }
    const node = new RaftNode(cfg, storage, log)
    storage.started()
    const { host, port } = splitHostPort(cfg.peerAddr, 'peer address')
    node.transport = await PeerTransport.listen({
      clusterId: cfg.clusterName,
      nodeId: cfg.id,
      host,
      port,
      peers: node.peerAddresses(),
      onMessage: (m) => node.receive(m),
      onUnreachable: (peer) => node.raw.reportUnreachable(peer),
      onSnapshotStatus: (peer, ok) => {
        node.raw.reportSnapshot(peer, ok)
        node.scheduleReady()
      },
      onForwardDropped: (m) => node.forwardFailed(m.id, ErrNotLeader),
      onRemoved: (by) => node.toldRemoved(by),
      name: cfg.name,
      client: cfg.clientAddr,
      onPeerHello: (h) => node.peerIntroduced(h.nodeId, h.name, h.client),
      log: (level, msg, fields) => log(level, msg, fields),
    })
    node.transport.setRemoved(node.removed)
    node.transport.connectAll()
    node.startTicking()
    node.log('info', 'node started', {
      id: cfg.id,
      peer: cfg.peerAddr,
      client: cfg.clientAddr,
      lastIndex: storage.mem.lastIndex(),
      snapshotIndex: node.snapshotIndex,
    })
    node.scheduleReady()
    return node
  }

  // ---- driving the core ----

  private startTicking(): void {
    if (this.tickTimer) clearInterval(this.tickTimer)
    this.tickTimer = setInterval(() => this.tick(), this.timing.tickMs)
  }

  private tick(): void {
    if (this.stopped) return
    this.raw.tick()
    if (this.raw.raft.role === 'leader') {
      this.revokeExpiredLeases()
      // The core abandons a transfer that took longer than an election timeout.
      if (this.raw.raft.leadTransferee === NONE) this.transfersAbandoned()
    }
    this.releaseReads()
    this.scheduleReady()
  }

  private receive(m: PeerMessage): void {
    if (this.stopped) return
    this.heardAt.set(m.from, performance.now())
    if (m.type === 'forward') return this.forwardArrived(m)
    if (m.type === 'forwardReply') return this.forwardAnswered(m)
    this.raw.step(m)
    this.scheduleReady()
  }

  /** Runs the Ready loop unless it is running; then it runs once more. */
  scheduleReady(): void {
    if (this.busy) {
      this.again = true
      return
    }
    this.busy = true
    void this.readyLoop()
  }

  private async readyLoop(): Promise<void> {
    try {
      do {
        this.again = false
        while (!this.stopped && this.raw.hasReady()) await this.handleReady(this.raw.ready())
        this.maybeSnapshot()
      } while (this.again && !this.stopped)
    } catch (e) {
      this.fatal(e)
    } finally {
      this.busy = false
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.learnAddresses(rd.entries)
    if (rd.snapshot) {
      const decoded = decodeNodeSnapshot(rd.snapshot.data)
      if (decoded) for (const m of decoded.members) this.book.set(m.id, m)
      if (decoded?.removed.length) this.membersRemoved(decoded.removed)
    }
    // New members get addresses before the first message to them leaves.
    if (rd.confState) this.refreshPeers()
    const hs = rd.hardState
    const termOrVote =
      hs !== undefined && (hs.term !== this.savedHard.term || hs.vote !== this.savedHard.vote)
    // A leader's AppendEntries, heartbeats and snapshots promise nothing about its own disk, so
    // they leave before its write and the followers write in parallel with it (§10.2.1 of
    // Ongaro's dissertation). Entries they carry count towards a commit only once acknowledged,
    // by which time this Ready's write has finished: the loop takes no Ready before that. A new
    // term or vote is written first all the same.
    const early =
      !termOrVote && rd.messages.length > 0 && rd.messages.every((m) => LEADER_MESSAGES.has(m.type))
    if (early) for (const m of rd.messages) this.transport.send(m)
    // Committed entries that earlier Readies wrote are durable here and, being committed, on a
    // majority: apply them (and answer clients) while this Ready's entries are written. Those
    // among this Ready's entries (a lone voter commits what it appends) wait for the write.
    const firstNew = rd.entries[0]?.index ?? Infinity
    let split = rd.snapshot ? 0 : rd.committedEntries.findIndex((e) => e.index >= firstNew)
    if (split < 0) split = rd.committedEntries.length
    const applyNow = rd.committedEntries.slice(0, split)
    const applyLater = rd.committedEntries.slice(split)
    for (const e of applyNow) this.apply(e)
    // 1. Persist: one write and one fdatasync for the whole Ready (group commit). The term and
    // the vote must be on disk before any message leaves; the commit index need not (a node
    // that loses it learns it again from the leader), so it is written lazily, off this path.
    if (hs) this.latestHard = hs
    if (termOrVote || rd.entries.length > 0 || rd.snapshot) {
      await this.storage.save({
        ...(termOrVote && hs ? { hardState: hs } : {}),
        entries: rd.entries,
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
        mustSync: true,
      })
      if (termOrVote && hs) this.savedHard = hs
    }
    if (hs && !termOrVote) this.scheduleCommitWrite()
    if (rd.confState) {
      const index = [...rd.entries].reverse().find((e) => e.type === 'confChange')?.index
      this.onEvent({
        type: 'membershipChanged',
        confState: rd.confState,
        index: index ?? this.raw.raft.log.lastIndex(),
      })
    }
    // 2. Send: only now are the votes and acknowledgements in these messages durable.
    if (!early) for (const m of rd.messages) this.transport.send(m)
    // 3. Apply.
    if (rd.snapshot) this.installSnapshot(rd.snapshot)
    for (const e of applyLater) this.apply(e)
    for (const rs of rd.readStates) this.readStateArrived(rs.context, rs.index)
    this.releaseReads()
    if (rd.softState) this.roleChanged(rd.softState.role, rd.softState.lead)
    // 4. Advance.
    this.raw.advance(rd)
    this.publishState()
  }

  /** Writes the latest commit index within a second, without syncing: see handleReady. */
  private scheduleCommitWrite(): void {
    if (this.commitTimer) return
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined
      void this.writeCommit().catch((e: unknown) => this.fatal(e))
    }, 1000)
  }

  private async writeCommit(): Promise<void> {
    const hs = this.latestHard
    if (hs.commit === this.savedHard.commit && hs.term === this.savedHard.term) return
    await this.storage.save({ hardState: hs, entries: [], mustSync: false })
    this.savedHard = hs
  }

  /** A failed write leaves the node unable to keep its promises: stop rather than lie. */
  private fatal(e: unknown): void {
    const error = (e as Error).message
    this.log('error', 'fatal error in the Ready loop; stopping', { error })
    // The manager shows a node's last lines of output when it exits on its own.
    process.stderr.write(`raftlab node ${this.cfg.id}: stopped: ${error}\n`)
    void this.stop(1)
  }

  private installSnapshot(s: Snapshot): void {
    const decoded = decodeNodeSnapshot(s.data)
    const fresh = decoded ? decodeSnapshot(decoded.kv) : createStore()
    // Keep the store object and its watchers; replace everything else.
    const listeners = this.store.listeners
    Object.assign(this.store, fresh, { listeners })
    this.store.appliedIndex = s.meta.index
    if (this.raw.raft.role === 'leader') promote(this.store, Date.now())
    this.snapshotIndex = s.meta.index
    // Writes waiting for entries the snapshot covers will never see them applied one by one.
    for (const [index, w] of this.proposals) {
      if (index > s.meta.index) continue
      clearTimeout(w.timer)
      this.proposals.delete(index)
      w.resolve(ErrTimeout)
    }
    this.log('info', 'installed snapshot from leader', { index: s.meta.index, term: s.meta.term })
    this.onEvent({ type: 'snapshotInstalled', index: s.meta.index, from: this.raw.raft.lead })
  }

  private apply(e: Entry): void {
    const result = e.type === 'normal' ? this.applyCommand(e) : undefined
    if (e.type === 'confChange') {
      markApplied(this.store, e.index)
      this.confChangeApplied(e)
    }
    const w = this.proposals.get(e.index)
    if (w) {
      this.proposals.delete(e.index)
      clearTimeout(w.timer)
      // Another leader's entry took the slot: the proposal was lost, and the client retries.
      w.resolve(w.term === e.term ? result : ErrLeaderChanged)
    }
  }

  private applyCommand(e: Entry & { type: 'normal' }): unknown {
    if (e.data.length === 0) {
      markApplied(this.store, e.index) // a new leader's no-op
      return undefined
    }
    let cmd: Command
    try {
      cmd = decodeCommand(e.data)
    } catch (err) {
      // Every node fails the same way on the same bytes, so their states stay identical.
      this.log('error', 'undecodable command in the log', {
        index: e.index,
        error: (err as Error).message,
      })
      markApplied(this.store, e.index)
      return undefined
    }
    if (cmd.type === 'leaseRevoke') this.revoking.delete(cmd.id)
    return applyCommand(this.store, cmd, e.index, Date.now())
  }

  private confChangeApplied(e: Entry & { type: 'confChange' }): void {
    this.log('info', 'membership change committed', { index: e.index, change: e.change })
    if (e.change.type === 'removeNode' && e.change.nodeId === this.cfg.id) {
      this.log('warn', 'this node was removed from the cluster; shutting down', { index: e.index })
      this.onEvent({ type: 'removed' })
      // Leave time for the acknowledgement and the leader's TimeoutNow to go out.
      setTimeout(() => void this.stop(0), 500).unref()
    } else if (e.change.type === 'removeNode') {
      this.membersRemoved([e.change.nodeId])
      // The removal is committed, so the removed node needs nothing more from us (see
      // peerAddresses); the delay lets this Ready's last acknowledgement to it go out first.
      setTimeout(() => {
        if (!this.stopped) this.refreshPeers()
      }, 500).unref()
    }
  }

  /**
   * Remembers removed members and has the transport tell them so when they connect. A removed
   * node often never applies its own removal: the leader stops sending to it as soon as the
   * change is appended, before the commit that would reach it. Without this it would run on,
   * campaigning in vain and serving stale serializable reads; etcd's members likewise answer a
   * removed member's requests with "410 Gone", and it exits.
   */
  private membersRemoved(ids: readonly number[]): void {
    for (const id of ids) if (id !== this.cfg.id) this.removed.add(id)
    this.transport.setRemoved(this.removed)
  }

  /** A member refused our connection because the cluster removed this node. */
  private toldRemoved(by: number): void {
    if (this.stopped) return
    // Only a member of our own (if stale) configuration is believed.
    const cs = this.raw.raft.confState()
    if (![...cs.voters, ...cs.learners].includes(by)) return
    this.log('warn', 'this node was removed from the cluster (a member says so); shutting down', {
      by,
    })
    this.onEvent({ type: 'removed' })
    void this.stop(0)
  }

  private roleChanged(role: Role, lead: number): void {
    this.log('info', 'role changed', { role, term: this.raw.raft.term, leader: lead })
    this.onEvent({ type: 'roleChanged', role, term: this.raw.raft.term, leader: lead })
    if (role === 'leader') promote(this.store, Date.now())
    else demote(this.store)
    // Against the leader now, not the one this Ready reported: a forward may already have gone
    // to a newer one while the Ready was being written.
    const current = this.raw.raft.lead
    for (const [id, w] of this.forwarded) {
      if (w.leader !== current) this.forwardFailed(id, ErrLeaderChanged)
    }
    // Reads in flight asked a leader that is gone. A read changes nothing, so it is asked
    // again of the next leader (once one is known) rather than failed: any index that leader
    // gives covers everything committed before the read arrived.
    for (const [ctx, p] of this.pendingReads) {
      clearTimeout(p.timer)
      this.readQueue.push(...p.reads)
      this.pendingReads.delete(ctx)
    }
    this.scheduleReadFlush()
    for (const w of this.leaderWaiters.filter((x) => x.target === lead)) {
      clearTimeout(w.timer)
      w.resolve(undefined)
    }
    this.leaderWaiters = this.leaderWaiters.filter((x) => x.target !== lead)
  }

  /**
   * Takes a snapshot once enough entries were applied since the last one. It runs beside the
   * Ready loop, not inside it: Readies that write nothing (heartbeats, commit moves) keep
   * flowing while the snapshot is written, so a leader busy snapshotting is not taken for
   * dead. Storage keeps its writes in order.
   */
  private maybeSnapshot(): void {
    const applied = this.store.appliedIndex
    if (this.stopped || this.snapshotting || applied - this.snapshotIndex < this.snapshotCount) {
      return
    }
    this.snapshotting = true
    const membership = { members: [...this.book.values()], removed: [...this.removed] }
    const confState = this.raw.raft.confStateAt(applied)
    void (async () => {
      // The state at `applied`, encoded a step at a time with the event loop free in between:
      // in one go it would hold back heartbeats and acknowledgements for as long as an election
      // timeout at 100,000 keys. Entries applied meanwhile stay out of it.
      // Encoded behind the node's header in one buffer (see encodeSnapshotSteps' prefix).
      const steps = encodeSnapshotSteps(this.store, undefined, nodeSnapshotHeader(membership))
      let step = steps.next()
      while (!step.done && !this.stopped) {
        await new Promise((resolve) => setImmediate(resolve))
        step = steps.next()
      }
      if (this.stopped) return
      if (step.value === undefined) {
        this.log('info', 'snapshot given up: the state was compacted or replaced meanwhile', {
          index: applied,
        })
        return
      }
      const data = step.value
      // The snapshot must not pass the commit index on disk.
      await this.writeCommit()
      await this.storage.createSnapshot(applied, confState, data)
      // A snapshot from the leader may have been installed meanwhile, further on.
      this.snapshotIndex = Math.max(this.snapshotIndex, applied)
      this.log('info', 'snapshot taken; log truncated below it', {
        index: applied,
        bytes: data.length,
      })
      this.onEvent({ type: 'snapshotTaken', index: applied, bytes: data.length })
    })()
      .catch((e: unknown) => {
        if (!this.stopped) this.fatal(e)
      })
      .finally(() => {
        this.snapshotting = false
      })
  }

  // ---- membership addresses ----

  private learnAddresses(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== 'confChange' || e.change.type === 'removeNode') continue
      const ctx = parseContext(e.change)
      const id = e.change.nodeId
      const known = this.book.get(id)
      // No name until the member says it (its hello, or the manager): etcd lists a member
      // added by peer URL alone as "unstarted", with an empty name.
      this.book.set(id, {
        id,
        name: ctx.name || known?.name || '',
        peer: ctx.peer || known?.peer || '',
        client: ctx.client || known?.client || '',
      })
    }
  }

  private peerAddresses(): Map<number, string> {
    const raft = this.raw.raft
    const cs = raft.confState()
    // A member whose removal is appended but not yet committed still needs our answers: when
    // it is a leader removing itself, our acknowledgements are what commit its removal, and
    // without them it would lose leadership to CheckQuorum and never apply the change.
    const settled = raft.confStateAt(raft.log.committed)
    const peers = new Map<number, string>()
    // A joining node knows no configuration until the leader's entries or snapshot arrive,
    // yet must answer the leader first: it may talk to every address it was given.
    const ids =
      cs.voters.length > 0
        ? [...cs.voters, ...cs.learners, ...settled.voters, ...settled.learners]
        : [...this.book.keys()]
    for (const id of ids) {
      const addr = this.book.get(id)?.peer
      if (id !== this.cfg.id && addr) peers.set(id, addr)
    }
    return peers
  }

  // ---- state for the manager ----

  state(): NodeState {
    const st = this.raw.status()
    return {
      id: this.cfg.id,
      name: this.cfg.name,
      role: st.role,
      term: st.term,
      leader: st.lead,
      commit: st.commit,
      applied: this.store.appliedIndex,
      lastIndex: st.lastIndex,
      snapshotIndex: this.snapshotIndex,
      confState: st.confState,
      revision: this.store.revision,
    }
  }

  /**
   * Tells the manager what changed. Role, term, leader, membership and snapshot go at once; index
   * moves alone go at most every STATE_INTERVAL_MS, since a busy node moves them on every Ready and
   * each message costs both processes about 0.1 ms of CPU (a third of the manager's per write).
   */
  private publishState(due = false): void {
    const s = this.state()
    const l = this.lastState
    const shape =
      !l ||
      l.role !== s.role ||
      l.term !== s.term ||
      l.leader !== s.leader ||
      l.snapshotIndex !== s.snapshotIndex ||
      l.confState !== s.confState
    const moved =
      shape ||
      l.commit !== s.commit ||
      l.applied !== s.applied ||
      l.lastIndex !== s.lastIndex ||
      l.revision !== s.revision
    if (!moved) return
    if (!shape && !due) {
      this.stateTimer ??= setTimeout(() => {
        this.stateTimer = undefined
        if (!this.stopped) this.publishState(true)
      }, STATE_INTERVAL_MS)
      return
    }
    clearTimeout(this.stateTimer)
    this.stateTimer = undefined
    this.lastState = s
    this.onState(s)
  }

  setFaults(rules: FaultRules): void {
    this.transport.setFaults(rules)
    this.log('info', 'fault rules changed', { rules })
  }

  setTiming(t: Timing): void {
    if (this.stopped) return
    this.timing = t
    this.startTicking()
    this.log('info', 'timing changed', { ...t })
  }

  /**
   * Addresses from the manager, which knows every member's client address: MemberAdd carries
   * only peer URLs, so without this no node could forward a write to a member added later.
   * Fills gaps only; what the log says about a member stands.
   */
  learnMemberAddresses(members: readonly MemberAddress[]): void {
    for (const m of members) this.fillBook(m)
    this.refreshPeers()
  }

  /** Fills in what the book lacks about member `m.id` from `m`; what it knows stands. */
  private fillBook(m: MemberAddress): void {
    const known = this.book.get(m.id)
    this.book.set(m.id, {
      id: m.id,
      name: known?.name || m.name,
      peer: known?.peer || m.peer,
      client: known?.client || m.client,
    })
  }

  /**
   * A member's name and client address from its hello: they fill what the log left empty (a
   * member added by peer URL alone), as etcd's members publish theirs when they start.
   */
  private peerIntroduced(id: number, name: string, client: string): void {
    if (this.book.has(id)) this.fillBook({ id, name, peer: '', client })
  }

  setSnapshotCount(n: number): void {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new Error(`snapshotCount must be a positive integer, got ${n}`)
    }
    this.snapshotCount = n
    this.log('info', 'snapshot threshold changed', { snapshotCount: n })
    this.scheduleReady()
  }

  async readLog(lo: number, hi: number): Promise<Entry[]> {
    return this.storage.readEntries(lo, hi)
  }

  // ---- EtcdBackend ----

  /** Client responses built so far: every etcd response carries a header. */
  get requestsServed(): number {
    return this.headersBuilt
  }

  header(): Header {
    this.headersBuilt++
    return {
      clusterId: this.clusterId,
      memberId: String(this.cfg.id),
      revision: this.store.revision,
      raftTerm: this.raw.raft.term,
    }
  }

  isLeader(): boolean {
    return this.raw.raft.role === 'leader'
  }

  isLearner(): boolean {
    const raft = this.raw.raft
    let cs = raft.confState()
    try {
      cs = raft.confStateAt(this.store.appliedIndex)
    } catch {
      // Applied below the log's snapshot cannot last: the configuration in force will do.
    }
    return cs.learners.includes(this.cfg.id)
  }

  leaderClientAddress(): string | undefined {
    const lead = this.raw.raft.lead
    if (lead === NONE) return undefined
    return this.book.get(lead)?.client || undefined
  }

  /**
   * Replicates a write. On a follower the write goes to the leader over the peer connection
   * (forward below), and the follower answers once it has applied the entry itself: its store
   * computes the same response as the leader's.
   */
  propose(cmd: Command, encoded?: Uint8Array): Promise<CommandResponse | EtcdError> {
    if (this.stopped) return Promise.resolve(ErrStopped)
    const data = encoded ?? encodeProposal(cmd)
    if (isEtcdError(data)) return Promise.resolve(data)
    if (this.isLeader()) return this.proposeData(data)
    return this.forward(data)
  }

  /**
   * Hands a write to the leader. The leader proposes it and answers with the index and term it
   * got, sent before the entry itself, so the follower waits for that index before it can apply
   * it. "Not leader" means nothing was proposed and the caller may try again; no answer means
   * the outcome is unknown, and the client hears "request timed out", as from etcd.
   */
  private forward(data: Uint8Array): Promise<CommandResponse | EtcdError> {
    const lead = this.raw.raft.lead
    if (lead === NONE) return Promise.resolve(ErrNoLeader)
    const id = ++this.forwardSeq
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.forwardFailed(id, ErrTimeout), REQUEST_TIMEOUT_MS)
      this.forwarded.set(id, { leader: lead, timer, resolve })
      const term = this.raw.raft.term
      this.transport.send({ type: 'forward', from: this.cfg.id, to: lead, term, id, data })
    })
  }

  /** The leader's side of forward(). */
  private forwardArrived(m: ForwardRequest): void {
    const answer = (
      reply:
        | { accepted: true; index: number; entryTerm: number }
        | { accepted: false; reason: string; notLeading: boolean },
    ): void => {
      const head = {
        type: 'forwardReply',
        from: this.cfg.id,
        to: m.from,
        term: this.raw.raft.term,
        id: m.id,
      } as const
      this.transport.send({ ...head, ...reply } as ForwardReply)
    }
    if (!this.isLeader()) return answer({ accepted: false, reason: NOT_LEADER, notLeading: true })
    try {
      // Refused here rather than logged as undecodable on every node after it commits.
      decodeCommand(m.data)
    } catch (e) {
      this.log('warn', 'refused a forwarded write that is not a command', {
        from: m.from,
        error: (e as Error).message,
      })
      return answer({
        accepted: false,
        reason: `not a command: ${(e as Error).message}`,
        notLeading: false,
      })
    }
    const r = this.raw.propose(m.data)
    // The follower answers its client once it has applied the entry: tell it of the commit at once.
    if (r.ok) this.raw.awaitCommit(m.from, r.index)
    // The answer is queued before the Ready that carries the entry to the follower.
    answer(
      r.ok
        ? { accepted: true, index: r.index, entryTerm: r.term }
        : { accepted: false, reason: r.reason, notLeading: r.notLeading },
    )
    this.scheduleReady()
  }

  /**
   * Ends a forwarded write without an answer from the leader: ErrNotLeader when it never left
   * (the caller may send it again), ErrLeaderChanged when its leader was replaced before
   * answering and ErrTimeout when none came (either way it may or may not have been proposed,
   * as etcd says it), ErrStopped when this node stops.
   */
  private forwardFailed(id: number, err: EtcdError): void {
    const w = this.forwarded.get(id)
    if (w === undefined) return
    this.forwarded.delete(id)
    clearTimeout(w.timer)
    w.resolve(err)
  }

  private forwardAnswered(m: ForwardReply): void {
    const w = this.forwarded.get(m.id)
    if (w === undefined || w.leader !== m.from) return
    this.forwarded.delete(m.id)
    clearTimeout(w.timer)
    if (!m.accepted) {
      // Nothing was proposed. Not leading (any more, or for now: a transfer) is worth a retry
      // elsewhere; anything else is the leader's reason, passed on.
      return w.resolve(m.notLeading ? ErrNotLeader : rejected(m.reason))
    }
    // Applied already (a snapshot from the leader covered it): the result is gone with the log.
    if (m.index <= this.store.appliedIndex) return w.resolve(ErrTimeout)
    void this.waitApplied<CommandResponse>(m.index, m.entryTerm).then(w.resolve)
  }

  private proposeData<T>(data: Uint8Array): Promise<T | EtcdError> {
    const r = this.raw.propose(data)
    if (!r.ok) {
      // On a leader this is a transfer in progress: a retry reaches the next leader.
      const err = this.isLeader()
        ? ErrLeaderChanged
        : this.raw.raft.lead === NONE
          ? ErrNoLeader
          : ErrNotLeader
      return Promise.resolve(err)
    }
    return this.waitApplied<T>(r.index, r.term)
  }

  private waitApplied<T>(index: number, term: number): Promise<T | EtcdError> {
    return new Promise((resolve) => {
      // A waiter already at this index proposed an entry that another leader's entry replaced.
      const previous = this.proposals.get(index)
      if (previous) {
        clearTimeout(previous.timer)
        previous.resolve(ErrLeaderChanged)
      }
      const timer = setTimeout(() => {
        if (this.proposals.get(index)?.timer === timer) this.proposals.delete(index)
        resolve(ErrTimeout)
      }, REQUEST_TIMEOUT_MS)
      this.proposals.set(index, { term, resolve: resolve as (v: unknown) => void, timer })
      this.scheduleReady()
    })
  }

  readBarrier(): Promise<EtcdError | undefined> {
    if (this.stopped) return Promise.resolve(ErrStopped)
    return new Promise((resolve) => {
      this.readQueue.push({ resolve, since: Date.now() })
      // Reads that arrive together share one ReadIndex round trip.
      this.scheduleReadFlush()
    })
  }

  /** Asks for the queued reads' ReadIndex, all in one: on the next turn, or after `delayMs`. */
  private scheduleReadFlush(delayMs?: number): void {
    if (this.readFlushScheduled || this.readQueue.length === 0) return
    this.readFlushScheduled = true
    if (delayMs === undefined) setImmediate(() => this.flushReads())
    else setTimeout(() => this.flushReads(), delayMs)
  }

  private flushReads(): void {
    this.readFlushScheduled = false
    if (this.stopped) return
    const queued = this.readQueue
    this.readQueue = []
    if (queued.length === 0) return
    const ctx = `${this.cfg.id}.${++this.readSeq}`
    if (!this.raw.readIndex(ctx)) {
      // No leader known: an election is under way. Reads wait for one as writes do.
      const giveUpBefore = Date.now() - LEADER_WAIT_MS
      for (const r of queued) {
        if (r.since < giveUpBefore) r.resolve(ErrNoLeader)
        else this.readQueue.push(r)
      }
      this.scheduleReadFlush(10)
      return
    }
    const timer = setTimeout(() => {
      this.pendingReads.delete(ctx)
      for (const r of queued) r.resolve(ErrTimeout)
    }, REQUEST_TIMEOUT_MS)
    this.pendingReads.set(ctx, { reads: queued, timer })
    this.scheduleReady()
  }

  private readStateArrived(ctx: string, index: number): void {
    const p = this.pendingReads.get(ctx)
    if (!p) return
    this.pendingReads.delete(ctx)
    clearTimeout(p.timer)
    this.readsAwaitingApply.push({
      index,
      waiters: p.reads.map((r) => r.resolve),
      deadline: Date.now() + REQUEST_TIMEOUT_MS,
    })
  }

  /** Answers the reads whose index is applied, and times out those that waited too long. */
  private releaseReads(): void {
    if (this.readsAwaitingApply.length === 0) return
    const applied = this.store.appliedIndex
    const now = Date.now()
    const waiting = this.readsAwaitingApply
    this.readsAwaitingApply = []
    for (const r of waiting) {
      if (r.index <= applied) for (const w of r.waiters) w(undefined)
      else if (now > r.deadline) for (const w of r.waiters) w(ErrTimeout)
      else this.readsAwaitingApply.push(r)
    }
  }

  leaseKeepAlive(id: number): Promise<LeaseKeepAliveResponse | EtcdError> {
    if (!this.isLeader()) return Promise.resolve(ErrNotLeader)
    const r = keepAlive(this.store, id, Date.now())
    if (isEtcdError(r)) return Promise.resolve(r)
    return Promise.resolve({ header: r.header, id: r.id, ttl: r.ttl })
  }

  private revokeExpiredLeases(): void {
    for (const id of expiredLeases(this.store, Date.now(), 16)) {
      if (this.revoking.has(id)) continue
      this.revoking.add(id)
      void this.propose({ type: 'leaseRevoke', id }).then((r) => {
        if (isEtcdError(r)) this.revoking.delete(id)
      })
    }
  }

  members(): Member[] {
    const cs = this.raw.raft.confState()
    return [...cs.voters, ...cs.learners].map((id) => {
      const a = this.book.get(id)
      return {
        id,
        name: a?.name ?? '',
        peerURLs: a?.peer ? [`http://${a.peer}`] : [],
        // Without a scheme, unlike etcd: etcdctl dials a member's client URL verbatim as the
        // HTTP/2 authority (endpoint status --cluster), and Node's HTTP/2 server refuses an
        // authority containing "http://" where Go's accepts it.
        clientURLs: a?.client ? [a.client] : [],
        isLearner: cs.learners.includes(id),
      }
    })
  }

  /**
   * Whether member `id` is up, as the leader sees it: itself, or heard from within two election
   * timeouts (a follower answers every heartbeat). etcd asks whether its connection to the
   * member has been up for five seconds; RaftLab asks about the last few hundred milliseconds,
   * so that a node just started counts and one just paused or cut off does not.
   */
  private active(id: number): boolean {
    if (id === this.cfg.id) return true
    const at = this.heardAt.get(id)
    const window = 2 * this.timing.electionTicks * this.timing.tickMs
    return at !== undefined && performance.now() - at <= window
  }

  /**
   * etcd's strict reconfiguration check (--strict-reconfig-check, on by default): a change that
   * would leave fewer voters up than a majority of the new configuration is refused before it
   * is proposed; without it the change commits and the cluster stops taking writes. Unlike
   * etcd, adding a learner is always allowed, even with a voter down: a learner never counts
   * towards a majority, and joining as one is how a dead node is replaced (add, catch up,
   * promote, with this check at the promotion).
   */
  private reconfigRefusal(change: ConfChange): EtcdError | undefined {
    const cs = this.raw.raft.confState()
    const up = cs.voters.filter((v) => this.active(v)).length
    const majority = (n: number): number => Math.floor(n / 2) + 1
    const target = change.nodeId
    switch (change.type) {
      case 'addLearner':
        return undefined
      case 'removeNode':
        // A voter that is down is not part of the active majority: removing it is safe.
        if (!cs.voters.includes(target) || !this.active(target)) return undefined
        return up - 1 < majority(cs.voters.length - 1) ? ErrUnhealthy : undefined
      case 'addVoter': {
        if (cs.voters.includes(target)) return undefined
        const promoting = cs.learners.includes(target)
        const upAfter = up + (promoting && this.active(target) ? 1 : 0)
        if (upAfter >= majority(cs.voters.length + 1)) return undefined
        return promoting ? ErrNotEnoughStartedMembers : ErrUnhealthy
      }
    }
  }

  private async changeMembership(change: ConfChange): Promise<EtcdError | undefined> {
    if (!this.isLeader()) return this.raw.raft.lead === NONE ? ErrNoLeader : ErrNotLeader
    const refusal = this.reconfigRefusal(change)
    if (refusal) {
      const down = this.raw.raft.confState().voters.filter((v) => !this.active(v))
      this.log('warn', 'membership change refused: it would leave too few voters up', {
        change,
        down,
      })
      return refusal
    }
    const r = this.raw.proposeConfChange(change)
    if (!r.ok) return rejected(r.reason)
    const applied = await this.waitApplied<unknown>(r.index, r.term)
    return isEtcdError(applied) ? applied : undefined
  }

  async memberAdd(peerURLs: readonly string[], isLearner: boolean): Promise<Member | EtcdError> {
    const peer = peerURLs[0]?.replace(/^https?:\/\//, '') ?? ''
    if (!peer) return rejected('member add needs a peer URL')
    if ([...this.book.values()].some((m) => m.peer === peer && this.isMember(m.id)))
      return ErrPeerURLExist
    const id = Math.max(0, ...this.book.keys()) + 1
    const address: MemberAddress = { id, name: '', peer, client: '' }
    const err = await this.changeMembership({
      type: isLearner ? 'addLearner' : 'addVoter',
      nodeId: id,
      context: JSON.stringify(address),
    })
    if (err) return err
    return { id, name: '', peerURLs: [`http://${peer}`], clientURLs: [], isLearner }
  }

  private isMember(id: number): boolean {
    const cs = this.raw.raft.confState()
    return cs.voters.includes(id) || cs.learners.includes(id)
  }

  memberRemove(id: number): Promise<EtcdError | undefined> {
    if (!this.isMember(id)) return Promise.resolve(ErrMemberNotFound)
    return this.changeMembership({ type: 'removeNode', nodeId: id })
  }

  memberPromote(id: number): Promise<EtcdError | undefined> {
    if (!this.isMember(id)) return Promise.resolve(ErrMemberNotFound)
    const cs = this.raw.raft.confState()
    if (!cs.learners.includes(id)) return Promise.resolve(ErrMemberNotLearner)
    // etcd promotes only a learner that has caught up (90% of the leader's log).
    const pr = this.raw.status().progress.find((p) => p.id === id)
    const last = this.raw.raft.log.lastIndex()
    if (pr && pr.match < last * 0.9) return Promise.resolve(ErrLearnerNotReady)
    return this.changeMembership({ type: 'addVoter', nodeId: id })
  }

  status(): NodeStatus {
    const st = this.raw.status()
    return {
      version: API_VERSION,
      dbSize: this.dbSize,
      leader: st.lead,
      raftIndex: st.commit,
      raftTerm: st.term,
      raftAppliedIndex: this.store.appliedIndex,
      isLearner: this.isLearner(),
      errors: [],
    }
  }

  private dbSize = 0

  /** Refreshes the on-disk size reported by Status (cheap, but not per request). */
  async measureDbSize(): Promise<number> {
    let total = 0
    for (const f of await readdir(this.cfg.dataDir)) {
      total += (await stat(join(this.cfg.dataDir, f)).catch(() => ({ size: 0 }))).size
    }
    this.dbSize = total
    return total
  }

  moveLeader(target: number): Promise<EtcdError | undefined> {
    if (!this.isLeader()) return Promise.resolve(ErrNotLeader)
    if (target === this.cfg.id) return Promise.resolve(undefined)
    if (!this.raw.raft.confState().voters.includes(target))
      return Promise.resolve(ErrBadLeaderTransferee)
    // The core gives the transfer up after an election timeout (transfersAbandoned); this
    // timer is the backstop, longer than that however slow the timing is. Either way the
    // answer is etcd's only timeout answer to MoveLeader.
    const { tickMs, electionTicks } = this.timing
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.leaderWaiters = this.leaderWaiters.filter((w) => w.timer !== timer)
          resolve(ErrTimeoutLeaderTransfer)
        },
        Math.max(REQUEST_TIMEOUT_MS, 3 * electionTicks * tickMs),
      )
      this.leaderWaiters.push({ target, resolve, timer })
      this.raw.transferLeadership(target)
      this.scheduleReady()
    })
  }

  private transfersAbandoned(): void {
    if (this.leaderWaiters.length === 0) return
    for (const w of this.leaderWaiters) {
      clearTimeout(w.timer)
      w.resolve(ErrTimeoutLeaderTransfer)
    }
    this.leaderWaiters = []
  }

  /**
   * Before a graceful stop, as etcd does: a leader hands leadership to the voter with the most
   * of its log, among those that answered lately if any did, so the cluster need not wait out
   * an election timeout for a new one. Resolves with that voter once it leads, or undefined when
   * there is none, the transfer is given up, or `maxMs` passes (the stop goes on regardless).
   */
  async handOver(maxMs: number): Promise<number | undefined> {
    if (this.stopped || !this.isLeader()) return undefined
    const r = this.raw.raft
    // Those that are up (see active) first, then the most of the log.
    const up = (id: number): number => (this.active(id) ? 1 : 0)
    const match = (id: number): number => r.prs.get(id)?.match ?? 0
    const [target] = r
      .confState()
      .voters.filter((id) => id !== this.cfg.id)
      .sort((a, b) => up(b) - up(a) || match(b) - match(a))
    if (target === undefined) return undefined
    this.log('info', 'handing leadership over before stopping', { to: target })
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<EtcdError>((resolve) => {
      timer = setTimeout(() => resolve(ErrTimeout), maxMs)
    })
    const e = await Promise.race([this.moveLeader(target), gaveUp])
    clearTimeout(timer)
    if (e) {
      this.log('warn', 'leadership was not handed over; stopping anyway', {
        to: target,
        error: e.message,
      })
      return undefined
    }
    return target
  }

  /** A stop someone asked for; with `handOver`, a leader first hands over (handOver). */
  async gracefulStop(handOver: boolean): Promise<void> {
    try {
      if (handOver) await this.handOver(HAND_OVER_MS)
    } finally {
      await this.stop(0)
    }
  }

  /** Gives the transport the members' addresses and connects to any it has no link to. */
  private refreshPeers(): void {
    this.transport.setPeers(this.peerAddresses())
    this.transport.connectAll()
  }

  transferLeadership(target: number): void {
    this.raw.transferLeadership(target)
    this.scheduleReady()
  }

  /** Stops ticking and answering, fails what is pending, and closes files and sockets. */
  async stop(code = 0): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.tickTimer) clearInterval(this.tickTimer)
    if (this.commitTimer) clearTimeout(this.commitTimer)
    clearTimeout(this.stateTimer)
    for (const w of this.proposals.values()) {
      clearTimeout(w.timer)
      w.resolve(ErrStopped)
    }
    this.proposals.clear()
    for (const id of [...this.forwarded.keys()]) this.forwardFailed(id, ErrStopped)
    for (const p of this.pendingReads.values()) {
      clearTimeout(p.timer)
      for (const r of p.reads) r.resolve(ErrStopped)
    }
    this.pendingReads.clear()
    for (const r of this.readQueue) r.resolve(ErrStopped)
    this.readQueue = []
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w(ErrStopped)
    this.readsAwaitingApply = []
    for (const w of this.leaderWaiters) {
      clearTimeout(w.timer)
      w.resolve(ErrStopped)
    }
    await this.transport.close()
    // Let an in-flight Ready finish its write before closing the files under it.
    while (this.busy) await new Promise((r) => setTimeout(r, 5))
    await this.writeCommit().catch(() => {})
    await this.storage.close()
    this.log('info', 'node stopped', { code })
    this.onStopped(code)
  }

  onStopped: (code: number) => void = () => {}
}
