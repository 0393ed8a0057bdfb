// A tiny scripted harness for rule-by-rule tests of the consensus core: N RawNodes over
// MemoryStorage, driven by hand. Nothing moves unless the test says so: a tick, a step, a
// delivery. Every Ready is persisted the way a careful driver would (snapshot, entries, then
// hard state), and the durability contract is checked on each one.

import {
  type ConfChange,
  type ConfState,
  type ConfigInput,
  type Entry,
  type HardState,
  type Message,
  MemoryStorage,
  type NodeId,
  RawNode,
  type Ready,
  type ReadState,
  type Snapshot,
  seededRng,
} from '../../../src/main/raft'
import type { Raft } from '../../../src/main/raft/raft'

export type NodeOptions = Partial<Omit<ConfigInput, 'id' | 'storage'>>

// ---- building logs ----

const encoder = new TextEncoder()

export function bytes(s: string): Uint8Array {
  return encoder.encode(s)
}

export function normal(index: number, term: number, data = ''): Entry {
  return { type: 'normal', index, term, data: bytes(data) }
}

export function confEntry(index: number, term: number, change: ConfChange): Entry {
  return { type: 'confChange', index, term, change }
}

/** Normal entries with the given terms at indexes from, from+1, … (a row of Figure 7). */
export function entriesOfTerms(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, i) => normal(from + i, term))
}

/** The terms of a log, index 1 first: the way the paper draws logs. */
export function termsOf(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term)
}

export interface LogSpec {
  /** Entries after the bootstrap: either terms (normal entries from index 1) or entries. */
  readonly terms?: readonly number[]
  readonly entries?: readonly Entry[]
  readonly hardState?: Partial<HardState>
  /** A snapshot to start from, applied before the entries. */
  readonly snapshot?: Snapshot
}

export function storageWith(conf: ConfState, spec: LogSpec = {}): MemoryStorage {
  const s = new MemoryStorage(conf)
  if (spec.snapshot) s.applySnapshot(spec.snapshot)
  const ents = spec.entries ?? entriesOfTerms(spec.terms ?? [])
  s.append(ents)
  const lastTerm = ents[ents.length - 1]?.term ?? spec.snapshot?.meta.term ?? 0
  s.setHardState({ term: lastTerm, vote: 0, commit: 0, ...spec.hardState })
  return s
}

// ---- the cluster ----

export interface ScriptedNode {
  readonly id: NodeId
  readonly storage: MemoryStorage
  raw: RawNode
  /** Committed entries handed to the application, in order. */
  readonly applied: Entry[]
  readonly readStates: ReadState[]
  /** Snapshots received from a leader and installed. */
  readonly snapshots: Snapshot[]
  /** Every Ready this node handed out, in order. */
  readonly readies: Ready[]
}

export interface ClusterSpec {
  readonly voters: readonly NodeId[]
  readonly learners?: readonly NodeId[]
  /** Nodes to create; defaults to voters and learners. */
  readonly ids?: readonly NodeId[]
  /** Logs and hard states to start from, per node. */
  readonly logs?: Readonly<Record<NodeId, LogSpec>>
  readonly config?: NodeOptions
  /** Per-node overrides of config. */
  readonly nodeConfig?: Readonly<Record<NodeId, NodeOptions>>
  readonly seed?: number
}

export interface DeliveryPolicy {
  /** Messages for which this is true are lost. */
  readonly drop?: (m: Message) => boolean
  /** Messages for which this is true wait in `held` until the test releases them. */
  readonly hold?: (m: Message) => boolean
}

export class Cluster {
  readonly nodes = new Map<NodeId, ScriptedNode>()
  /** Messages sent and held back by a policy, oldest first. */
  held: Message[] = []
  /** Breaches of the durability contract seen in any Ready (see checkReady). */
  readonly violations: string[] = []
  private readonly seed: number
  private readonly config: NodeOptions

  constructor(private readonly spec: ClusterSpec) {
    this.seed = spec.seed ?? 1
    this.config = spec.config ?? {}
    const conf: ConfState = { voters: [...spec.voters], learners: [...(spec.learners ?? [])] }
    const ids = spec.ids ?? [...conf.voters, ...conf.learners]
    for (const id of ids) this.add(id, storageWith(conf, spec.logs?.[id]))
  }

  /** Adds a node over `storage` (a joining node, or one built by hand). */
  add(id: NodeId, storage: MemoryStorage, config: NodeOptions = {}): ScriptedNode {
    const n: ScriptedNode = {
      id,
      storage,
      raw: new RawNode(this.nodeConfig(id, storage, config)),
      applied: [],
      readStates: [],
      snapshots: [],
      readies: [],
    }
    this.nodes.set(id, n)
    return n
  }

  /** Replaces the node's RawNode by a fresh one over the same storage, as after a crash. */
  restart(id: NodeId, config: NodeOptions = {}): ScriptedNode {
    const n = this.get(id)
    n.raw = new RawNode(this.nodeConfig(id, n.storage, config))
    return n
  }

  private nodeConfig(id: NodeId, storage: MemoryStorage, config: NodeOptions): ConfigInput {
    return {
      rng: seededRng(this.seed * 1000 + id),
      ...this.config,
      ...this.spec.nodeConfig?.[id],
      ...config,
      id,
      storage,
    }
  }

  get(id: NodeId): ScriptedNode {
    const n = this.nodes.get(id)
    if (!n) throw new Error(`no node ${id} in this cluster`)
    return n
  }

  node(id: NodeId): RawNode {
    return this.get(id).raw
  }

  raft(id: NodeId): Raft {
    return this.get(id).raw.raft
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick()
  }

  /**
   * Drains every node's Ready (in id order): persists it, records what was applied, advances,
   * and returns the messages the nodes sent.
   */
  collect(ids: readonly NodeId[] = [...this.nodes.keys()].sort((a, b) => a - b)): Message[] {
    const out: Message[] = []
    for (const id of ids) out.push(...this.drain(this.get(id)))
    return out
  }

  /** Processes one node's Readies until it has none; returns its messages. */
  private drain(n: ScriptedNode): Message[] {
    const out: Message[] = []
    while (n.raw.hasReady()) {
      const rd = n.raw.ready()
      n.readies.push(rd)
      if (rd.snapshot) {
        n.storage.applySnapshot(rd.snapshot)
        n.snapshots.push(rd.snapshot)
      }
      n.storage.append(rd.entries)
      if (rd.hardState) n.storage.setHardState(rd.hardState)
      this.checkReady(n, rd)
      n.applied.push(...rd.committedEntries)
      n.readStates.push(...rd.readStates)
      out.push(...rd.messages)
      n.raw.advance(rd)
    }
    return out
  }

  /**
   * The durability contract, checked against storage after the Ready was persisted: a vote
   * grant or an append acknowledgement promises only what is on disk, and an entry is applied
   * only once it is stored.
   */
  private checkReady(n: ScriptedNode, rd: Ready): void {
    const hs = n.storage.initialState().hardState
    for (const m of rd.messages) {
      if (
        m.type === 'requestVoteResponse' &&
        !m.reject &&
        (hs.term !== m.term || hs.vote !== m.to)
      ) {
        this.violations.push(
          `node ${n.id} granted its vote to ${m.to} in term ${m.term} with hard state term=${hs.term} vote=${hs.vote} on disk`,
        )
      }
      if (m.type === 'appendEntriesResponse' && !m.reject && n.storage.lastIndex() < m.index) {
        this.violations.push(
          `node ${n.id} acknowledged index ${m.index} with only ${n.storage.lastIndex()} on disk`,
        )
      }
    }
    for (const e of rd.committedEntries) {
      if (n.storage.term(e.index) !== e.term) {
        this.violations.push(`node ${n.id} applied ${e.index}@${e.term} before storing it`)
      }
    }
  }

  /** Steps each message into its recipient; messages to unknown nodes are lost. */
  deliver(msgs: readonly Message[]): void {
    for (const m of msgs) this.nodes.get(m.to)?.raw.step(m)
  }

  /**
   * Collects and delivers until no node has anything to say. Returns every message sent on
   * the way, delivered, dropped or held, in the order they were sent.
   */
  stabilize(policy: DeliveryPolicy = {}): Message[] {
    const sent: Message[] = []
    for (let round = 0; ; round++) {
      if (round > 1000) throw new Error('the cluster did not stabilize in 1000 rounds')
      const msgs = this.collect()
      if (msgs.length === 0) return sent
      sent.push(...msgs)
      for (const m of msgs) {
        if (policy.drop?.(m)) continue
        if (policy.hold?.(m)) this.held.push(m)
        else this.deliver([m])
      }
    }
  }

  /** Takes the held messages that match out of the queue and delivers them. */
  release(pred: (m: Message) => boolean = () => true): Message[] {
    const out = this.held.filter(pred)
    this.held = this.held.filter((m) => !pred(m))
    this.deliver(out)
    return out
  }

  /** Makes `id` leader by an immediate election (no PreVote), then lets the cluster settle. */
  elect(id: NodeId, policy: DeliveryPolicy = {}): Message[] {
    this.node(id).campaign()
    const sent = this.stabilize(policy)
    if (this.raft(id).role !== 'leader') throw new Error(`node ${id} did not win the election`)
    return sent
  }

  /**
   * Ticks the given nodes one tick each, settling the cluster after every round, until one of
   * them leads. Returns the leader.
   */
  tickUntilLeader(ids: readonly NodeId[], policy: DeliveryPolicy = {}, limit = 1000): NodeId {
    for (let i = 0; i < limit; i++) {
      for (const id of ids) this.tick(id)
      this.stabilize(policy)
      const leader = ids.find((id) => this.raft(id).role === 'leader')
      if (leader !== undefined) return leader
    }
    throw new Error(`none of ${ids.join(', ')} became leader within ${limit} ticks`)
  }

  /** Ticks `id` until its role changes (it campaigns); returns the ticks taken. */
  ticksUntilCampaign(id: NodeId, limit = 1000): number {
    const r = this.raft(id)
    const role = r.role
    for (let i = 1; i <= limit; i++) {
      r.tick()
      if (r.role !== role) return i
    }
    throw new Error(`node ${id} did not campaign within ${limit} ticks`)
  }
}

export function cluster(spec: ClusterSpec): Cluster {
  return new Cluster(spec)
}

// ---- hand-made messages ----

export function appendEntries(
  from: NodeId,
  to: NodeId,
  term: number,
  prev: readonly [index: number, term: number],
  entries: readonly Entry[],
  leaderCommit: number,
): Message {
  return {
    type: 'appendEntries',
    from,
    to,
    term,
    prevLogIndex: prev[0],
    prevLogTerm: prev[1],
    entries,
    leaderCommit,
  }
}

export function heartbeat(
  from: NodeId,
  to: NodeId,
  term: number,
  commit = 0,
  context = '',
): Message {
  return { type: 'heartbeat', from, to, term, commit, context }
}

export function requestVote(
  from: NodeId,
  to: NodeId,
  term: number,
  last: readonly [index: number, term: number],
  opts: { pre?: boolean; transfer?: boolean } = {},
): Message {
  return {
    type: opts.pre === true ? 'requestPreVote' : 'requestVote',
    from,
    to,
    term,
    lastLogIndex: last[0],
    lastLogTerm: last[1],
    transfer: opts.transfer === true,
  }
}

export function voteResponse(
  from: NodeId,
  to: NodeId,
  term: number,
  granted: boolean,
  pre = false,
): Message {
  return {
    type: pre ? 'requestPreVoteResponse' : 'requestVoteResponse',
    from,
    to,
    term,
    reject: !granted,
  }
}

export function installSnapshot(
  from: NodeId,
  to: NodeId,
  term: number,
  snapshot: Snapshot,
): Message {
  return { type: 'installSnapshot', from, to, term, snapshot }
}

// ---- delivery predicates ----

/** Messages to or from any of `ids`: a partition that cuts them off. */
export function isolate(...ids: NodeId[]): (m: Message) => boolean {
  return (m) => ids.includes(m.from) || ids.includes(m.to)
}

export function to(...ids: NodeId[]): (m: Message) => boolean {
  return (m) => ids.includes(m.to)
}

export function ofType(...types: Message['type'][]): (m: Message) => boolean {
  return (m) => types.includes(m.type)
}

// ---- transcripts ----

function entryLabel(e: Entry): string {
  const at = `${e.index}@${e.term}`
  return e.type === 'normal' ? at : `${at}:${e.change.type}(${e.change.nodeId})`
}

function ids(list: readonly NodeId[]): string {
  return `[${list.join(',')}]`
}

/** One readable line per message, e.g. `1→2 appendEntries term=2 prev=(3,1) entries=[4@2] commit=3`. */
export function transcript(msgs: readonly Message[]): string[] {
  return msgs.map((m) => {
    const head = `${m.from}→${m.to} ${m.type} term=${m.term}`
    switch (m.type) {
      case 'appendEntries':
        return `${head} prev=(${m.prevLogIndex},${m.prevLogTerm}) entries=[${m.entries.map(entryLabel).join(',')}] commit=${m.leaderCommit}`
      case 'appendEntriesResponse':
        return m.reject
          ? `${head} reject index=${m.index} hint=(${m.rejectHint},${m.hintTerm})`
          : `${head} index=${m.index}`
      case 'heartbeat':
        return `${head} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ''}`
      case 'heartbeatResponse':
        return `${head}${m.context ? ` ctx=${m.context}` : ''}`
      case 'requestVote':
      case 'requestPreVote':
        return `${head} last=(${m.lastLogIndex},${m.lastLogTerm})${m.transfer ? ' transfer' : ''}`
      case 'requestVoteResponse':
      case 'requestPreVoteResponse':
        return `${head} ${m.reject ? 'rejected' : 'granted'}`
      case 'installSnapshot': {
        const meta = m.snapshot.meta
        return `${head} snap=(${meta.index},${meta.term}) voters=${ids(meta.confState.voters)} learners=${ids(meta.confState.learners)}`
      }
      case 'timeoutNow':
        return head
      case 'readIndex':
        return `${head} ctx=${m.context}`
      case 'readIndexResponse':
        return `${head} index=${m.index} ctx=${m.context}`
      case 'transferLeader':
        return `${head} transferee=${m.transferee}`
    }
  })
}
