// A whole Raft cluster in one process: N cores on a simulated network that drops, delays,
// reorders and duplicates messages and partitions nodes, with crash-restart that keeps only
// what was persisted, membership churn, snapshots, leadership transfers and ReadIndex reads.
// Everything is drawn from one seed, so a failing run replays exactly.

import {
  EMPTY_CONF,
  type ConfChange,
  type Entry,
  MemoryStorage,
  type Message,
  type NodeId,
  RawNode,
  type Ready,
  seededRng,
  type Snapshot,
  type UnsafeFaults,
} from '../../../src/main/raft'
import { Checker, describeEntry, SafetyViolation as Violation } from './checker'

export interface SimOptions {
  readonly seed: number
  readonly nodes: number
  /** Ticks of random faults before the network heals. */
  readonly faultTicks: number
  /** Ticks allowed after healing for a leader to be elected and a new proposal to commit. */
  readonly livenessTicks: number
  readonly membership: boolean
  readonly unsafe?: UnsafeFaults
  /** Overrides of the per-run fault intensities (otherwise drawn from the seed). */
  readonly intensity?: Partial<Intensity>
  /**
   * How the leaders tell followers of a commit; by default 'piggyback' for even seeds and
   * 'immediate' for odd ones. With 'piggyback', half the proposals have a random other node
   * await their commit, as a follower that forwarded a client's write does.
   */
  readonly commitBroadcast?: 'immediate' | 'piggyback'
}

export interface Intensity {
  readonly drop: number
  readonly duplicate: number
  readonly maxDelay: number
  /** Entries per AppendEntries: 1 makes every entry its own acknowledgement. */
  readonly maxEntriesPerMsg: number
  readonly crash: number
  /** Chance per tick that the leader in particular crashes, or is cut off alone. */
  readonly leaderCrash: number
  readonly leaderIsolation: number
  readonly partition: number
  readonly propose: number
  readonly confChange: number
  readonly transfer: number
  readonly read: number
  readonly snapshot: number
}

export interface SimResult {
  readonly seed: number
  readonly violation?: string
  /** Ticks from healing the network to a leader of the final configuration. */
  readonly ticksToLeader?: number
  readonly ticksToCommit?: number
  readonly messages: number
  readonly proposalsCommitted: number
  readonly faults: number
  readonly elections: number
  readonly snapshotsSent: number
  readonly ticks: number
}

interface InFlight {
  readonly m: Message
  readonly at: number
}

interface AppState {
  index: number
  hash: number
}

const ELECTION_TICK = 10
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function fnv(hash: number, text: string): number {
  let h = hash >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 16777619) >>> 0
  }
  return h
}

export function encodeAppState(s: AppState): Uint8Array {
  return encoder.encode(`${s.index}:${s.hash}`)
}

export function decodeAppState(data: Uint8Array): AppState {
  if (data.length === 0) return { index: 0, hash: 2166136261 }
  const [index, hash] = decoder.decode(data).split(':').map(Number)
  return { index: index ?? 0, hash: hash ?? 0 }
}

export class SimNode {
  raw: RawNode | undefined
  app: AppState = { index: 0, hash: 2166136261 }
  /** Persisted: survives crashes. The core reads it back on restart. */
  readonly disk: MemoryStorage
  /** Group in the current partition; nodes talk only within a group. */
  group = 0
  downUntil = 0
  /** Removed from the cluster by a committed configuration entry, and shut down for good. */
  retired = false

  constructor(
    readonly id: NodeId,
    disk: MemoryStorage,
  ) {
    this.disk = disk
  }
}

export class Simulation {
  readonly nodes = new Map<NodeId, SimNode>()
  readonly checker = new Checker()
  private readonly rng: ReturnType<typeof seededRng>
  private net: InFlight[] = []
  private now = 0
  private nextId: NodeId
  private healed = false
  private readonly intensity: Intensity
  private readonly pendingReads = new Map<string, { node: NodeId; minIndex: number }>()
  private readonly toRetire = new Set<NodeId>()
  private readSeq = 0
  private proposeSeq = 0
  private readonly commitBroadcast: 'immediate' | 'piggyback'
  stats = { messages: 0, faults: 0, elections: 0, snapshotsSent: 0 }

  constructor(private readonly opts: SimOptions) {
    this.rng = seededRng(opts.seed)
    this.commitBroadcast = opts.commitBroadcast ?? (opts.seed % 2 === 0 ? 'piggyback' : 'immediate')
    const r = this.rng
    this.intensity = {
      drop: [0, 0.01, 0.05, 0.15][r.int(4)] ?? 0,
      duplicate: [0, 0.02, 0.1][r.int(3)] ?? 0,
      maxDelay: 1 + r.int(4),
      maxEntriesPerMsg: [1, 8, 64][r.int(3)] ?? 8,
      crash: [0.001, 0.004, 0.01][r.int(3)] ?? 0,
      leaderCrash: [0, 0.002, 0.01][r.int(3)] ?? 0,
      leaderIsolation: [0, 0.002, 0.01][r.int(3)] ?? 0,
      partition: [0.001, 0.005, 0.01][r.int(3)] ?? 0,
      propose: 0.1 + r.int(4) / 10,
      confChange: opts.membership ? ([0.002, 0.01, 0.02][r.int(3)] ?? 0) : 0,
      transfer: [0, 0.002, 0.01][r.int(3)] ?? 0,
      read: 0.05,
      snapshot: [0, 0.01, 0.05][r.int(3)] ?? 0,
      ...opts.intensity,
    }
    const voters = Array.from({ length: opts.nodes }, (_, i) => i + 1)
    for (const id of voters) this.addNode(id, MemoryStorage.bootstrap(voters))
    this.nextId = opts.nodes + 1
  }

  private addNode(id: NodeId, disk: MemoryStorage): SimNode {
    const n = new SimNode(id, disk)
    this.nodes.set(id, n)
    this.boot(n)
    return n
  }

  /** Starts (or restarts) a node from what is on its disk. */
  private boot(n: SimNode): void {
    const snap = n.disk.snapshot()
    n.app = decodeAppState(snap.data)
    n.raw = new RawNode({
      id: n.id,
      storage: n.disk,
      electionTick: ELECTION_TICK,
      heartbeatTick: 1,
      applied: snap.meta.index,
      maxSizePerMsg: 4096,
      maxEntriesPerMsg: this.intensity.maxEntriesPerMsg,
      maxInflightMsgs: 4,
      rng: seededRng(this.opts.seed * 31 + n.id * 7919 + this.now),
      unsafe: this.opts.unsafe ?? {},
      commitBroadcast: this.commitBroadcast,
    })
    this.checker.booted(n.id, n.disk.initialState().hardState.commit)
  }

  private crash(n: SimNode): void {
    n.raw = undefined
    n.downUntil = this.now + 5 + this.rng.int(60)
    this.stats.faults++
  }

  run(): SimResult {
    let violation: string | undefined
    let ticksToLeader: number | undefined
    let ticksToCommit: number | undefined
    try {
      for (; this.now < this.opts.faultTicks;) this.step(true)
      this.heal()
      const healedAt = this.now
      let target: { index: number; term: number; leader: NodeId } | undefined
      while (this.now - healedAt < this.opts.livenessTicks) {
        this.step(false)
        const leader = this.currentLeader()
        if (leader && ticksToLeader === undefined) ticksToLeader = this.now - healedAt
        if (!leader) continue
        if (!target || target.leader !== leader.id) {
          const p = leader.raw?.propose(encoder.encode(`final-${this.opts.seed}`))
          if (p?.ok) target = { index: p.index, term: p.term, leader: leader.id }
          this.processReady(leader)
        }
        if (target && this.checker.isCommitted(target.index, target.term)) {
          ticksToCommit = this.now - healedAt
          break
        }
      }
      if (ticksToCommit === undefined) {
        throw new Violation(
          `liveness: no leader committed a new proposal within ${this.opts.livenessTicks} ticks after healing` +
            ` (${ticksToLeader === undefined ? 'no leader was elected' : `a leader appeared after ${ticksToLeader} ticks`})`,
        )
      }
    } catch (e) {
      violation =
        e instanceof Violation ? e.message : `a node threw: ${(e as Error).stack ?? String(e)}`
      violation = `seed ${this.opts.seed} at tick ${this.now}: ${violation}`
    }
    return {
      seed: this.opts.seed,
      ...(violation !== undefined ? { violation } : {}),
      ...(ticksToLeader !== undefined ? { ticksToLeader } : {}),
      ...(ticksToCommit !== undefined ? { ticksToCommit } : {}),
      messages: this.stats.messages,
      proposalsCommitted: this.checker.committedCount(),
      faults: this.stats.faults,
      elections: this.stats.elections,
      snapshotsSent: this.stats.snapshotsSent,
      ticks: this.now,
    }
  }

  /** A leader that is a voter of its own configuration and that a majority follows. */
  private currentLeader(): SimNode | undefined {
    for (const n of this.nodes.values()) {
      const st = n.raw?.status()
      if (st?.role === 'leader' && st.confState.voters.includes(n.id)) return n
    }
    return undefined
  }

  private heal(): void {
    this.healed = true
    for (const n of this.nodes.values()) {
      n.group = 0
      if (!n.raw && !n.retired) this.boot(n)
    }
  }

  /**
   * A node whose removal is committed is shut down, as the cluster manager does. Left running,
   * removed nodes that never learnt of their removal could still form a majority of the
   * configuration they last knew, and elect a leader of a cluster that no longer exists.
   */
  private retire(id: NodeId): void {
    const n = this.nodes.get(id)
    if (!n || n.retired) return
    n.retired = true
    n.raw = undefined
  }

  /** One tick of simulated time: faults, clocks, then message delivery. */
  private step(faulty: boolean): void {
    this.now++
    if (faulty) this.injectFaults()
    this.clientActivity(faulty)
    for (const id of this.toRetire) this.retire(id)
    this.toRetire.clear()
    for (const n of this.nodes.values()) {
      if (n.retired) continue
      if (!n.raw) {
        if (!faulty || n.downUntil <= this.now) this.boot(n)
        continue
      }
      // Clocks drift: now and then a node misses a tick.
      if (faulty && this.rng.int(20) === 0) continue
      n.raw.tick()
      this.processReady(n)
    }
    const due: InFlight[] = []
    const later: InFlight[] = []
    for (const f of this.net) (f.at <= this.now ? due : later).push(f)
    this.net = later
    // Messages due in the same tick arrive in random order.
    for (let i = due.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1)
      const t = due[i]
      due[i] = due[j] as InFlight
      due[j] = t as InFlight
    }
    for (const f of due) this.deliver(f.m)
  }

  private injectFaults(): void {
    const r = this.rng
    const I = this.intensity
    const all = [...this.nodes.values()]
    const chance = (p: number): boolean => r.int(1_000_000) < p * 1_000_000
    if (chance(I.crash)) {
      const up = all.filter((n) => n.raw && !n.retired)
      const victim = up[r.int(up.length)]
      if (victim) this.crash(victim)
    }
    const leader = all.find((n) => n.raw?.status().role === 'leader')
    if (leader && chance(I.leaderCrash)) this.crash(leader)
    if (chance(I.partition)) {
      this.stats.faults++
      const groups = 2 + r.int(2)
      for (const n of all) n.group = r.int(groups)
    } else if (leader?.raw && chance(I.leaderIsolation)) {
      this.stats.faults++
      for (const n of all) n.group = 0
      leader.group = 1
    } else if (chance((I.partition + I.leaderIsolation) * 3)) {
      for (const n of all) n.group = 0
    }
    if (chance(I.snapshot)) {
      const n = all[r.int(all.length)]
      if (n?.raw && n.app.index > n.disk.firstIndex() + 3) {
        n.disk.createSnapshot(
          n.app.index,
          n.raw.raft.confStateAt(n.app.index),
          encodeAppState(n.app),
        )
      }
    }
  }

  private clientActivity(faulty: boolean): void {
    const r = this.rng
    const I = this.intensity
    const chance = (p: number): boolean => r.int(1_000_000) < p * 1_000_000
    const leaders = [...this.nodes.values()].filter((n) => n.raw?.status().role === 'leader')
    const leader = leaders[r.int(leaders.length)]
    if (leader?.raw && chance(I.propose)) {
      const p = leader.raw.propose(encoder.encode(`v${++this.proposeSeq}`))
      if (p.ok && this.commitBroadcast === 'piggyback' && chance(0.5)) {
        const others = [...this.nodes.keys()].filter((id) => id !== leader.id)
        const waiter = others[r.int(others.length)]
        if (waiter !== undefined) leader.raw.awaitCommit(waiter, p.index)
      }
      this.processReady(leader)
    }
    if (faulty && leader?.raw && chance(I.confChange)) {
      this.changeMembership(leader)
      this.processReady(leader)
    }
    if (faulty && leader?.raw && chance(I.transfer)) {
      const voters = leader.raw.status().confState.voters.filter((v) => v !== leader.id)
      const to = voters[r.int(voters.length)]
      if (to !== undefined) {
        this.stats.faults++
        leader.raw.transferLeadership(to)
        this.processReady(leader)
      }
    }
    if (chance(I.read)) {
      const all = [...this.nodes.values()].filter((n) => n.raw)
      const n = all[r.int(all.length)]
      if (n?.raw) {
        const context = `r${++this.readSeq}`
        // Whatever is committed anywhere now must be visible to this read.
        if (n.raw.readIndex(context)) {
          this.pendingReads.set(context, { node: n.id, minIndex: this.checker.maxCommitted() })
        }
        this.processReady(n)
      }
    }
  }

  private changeMembership(leader: SimNode): void {
    const raw = leader.raw
    if (!raw) return
    const r = this.rng
    const cs = raw.status().confState
    let change: ConfChange | undefined
    const kind = r.int(3)
    if (kind === 0 && this.nodes.size < this.opts.nodes + 3) {
      const id = this.nextId++
      this.addNode(id, new MemoryStorage(EMPTY_CONF))
      change = { type: 'addLearner', nodeId: id }
    } else if (kind === 1 && cs.learners.length > 0 && cs.voters.length < 7) {
      change = { type: 'addVoter', nodeId: cs.learners[r.int(cs.learners.length)] ?? 0 }
    } else if (kind === 2 && cs.voters.length > 1) {
      const members = [...cs.voters, ...cs.learners]
      change = { type: 'removeNode', nodeId: members[r.int(members.length)] ?? 0 }
    }
    if (!change) return
    if (raw.proposeConfChange(change).ok) this.stats.faults++
  }

  private send(m: Message): void {
    this.stats.messages++
    if (m.type === 'installSnapshot') this.stats.snapshotsSent++
    const I = this.intensity
    const r = this.rng
    const from = this.nodes.get(m.from)
    const to = this.nodes.get(m.to)
    const lost = !this.healed && r.int(1_000_000) < I.drop * 1_000_000
    const cut = from !== undefined && to !== undefined && from.group !== to.group
    if (lost || cut || !to) {
      // A transport learns that a snapshot did not get through and says so.
      if (m.type === 'installSnapshot') from?.raw?.reportSnapshot(m.to, false)
      return
    }
    const delay = this.healed ? 1 : 1 + r.int(I.maxDelay)
    this.net.push({ m, at: this.now + delay })
    if (!this.healed && r.int(1_000_000) < I.duplicate * 1_000_000) {
      this.net.push({ m, at: this.now + 1 + r.int(I.maxDelay + 3) })
    }
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to)
    const from = this.nodes.get(m.from)
    const arrives = n?.raw !== undefined && (!from || from.group === n.group)
    if (arrives) {
      n.raw?.step(m)
      this.processReady(n)
    }
    // A snapshot travels over a connection of its own, so the sender learns whether it arrived.
    if (m.type === 'installSnapshot' && from?.raw) {
      from.raw.reportSnapshot(m.to, arrives)
      this.processReady(from)
    }
  }

  /** The driver's loop body: persist, send, apply, advance — in that order. */
  processReady(n: SimNode): void {
    while (n.raw?.hasReady()) {
      const raw = n.raw
      const rd = raw.ready()
      this.persist(n, rd)
      if (rd.softState?.role === 'leader') this.stats.elections++
      this.checker.afterPersist(n.id, rd, n.disk, raw)
      // A crash between the write and the sends loses the messages but not the write.
      if (!this.healed && this.rng.int(2000) === 0) {
        this.crash(n)
        return
      }
      for (const m of rd.messages) this.send(m)
      this.apply(n, rd)
      raw.advance(rd)
    }
  }

  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot) n.disk.applySnapshot(rd.snapshot)
    n.disk.append(rd.entries)
    if (rd.hardState) n.disk.setHardState(rd.hardState)
  }

  private apply(n: SimNode, rd: Ready): void {
    if (rd.snapshot) this.applySnapshot(n, rd.snapshot)
    for (const e of rd.committedEntries) {
      this.applyEntry(n, e)
      if (e.type === 'confChange' && e.change.type === 'removeNode')
        this.toRetire.add(e.change.nodeId)
    }
    for (const rs of rd.readStates) {
      const req = this.pendingReads.get(rs.context)
      if (!req) continue
      this.pendingReads.delete(rs.context)
      if (rs.index < req.minIndex) {
        throw new Violation(
          `linearizable read ${rs.context} on node ${n.id} got read index ${rs.index}, ` +
            `but index ${req.minIndex} was already committed when the read began`,
        )
      }
    }
  }

  private applySnapshot(n: SimNode, s: Snapshot): void {
    const st = decodeAppState(s.data)
    if (st.index !== s.meta.index) {
      throw new Violation(
        `node ${n.id}: snapshot at ${s.meta.index} carries state of index ${st.index}`,
      )
    }
    if (s.meta.index <= n.app.index) {
      throw new Violation(
        `node ${n.id}: snapshot at ${s.meta.index} would roll back applied index ${n.app.index}`,
      )
    }
    n.app = st
    this.checker.applied(n.id, st.index, st.hash, 'snapshot')
  }

  private applyEntry(n: SimNode, e: Entry): void {
    if (e.index !== n.app.index + 1) {
      throw new Violation(
        `node ${n.id} applied entry ${e.index} after ${n.app.index}: apply must not skip or repeat`,
      )
    }
    n.app = { index: e.index, hash: fnv(n.app.hash, describeEntry(e)) }
    this.checker.applied(n.id, n.app.index, n.app.hash, describeEntry(e))
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run()
}
