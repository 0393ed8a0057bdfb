// An in-memory ClusterApi for component tests. It keeps every promise of the contract in
// src/shared/api.ts with plausible behaviour: nodes with roles and terms that re-elect when the
// leader dies or is cut off, faults, an event timeline, an MVCC-ish key space in a sorted array
// with revisions and compare-and-swap, and one log per node that followers copy from the leader.
// Arguments go through the same zod table as over IPC, so a bad call fails here as it would there.
// Results are structured clones: like IPC, callers cannot reach into the fake's state.

import {
  apiMethodNames,
  base64ToBytes,
  eventMatches,
  parseArgs,
  textToBase64,
  type ApiArgs,
  type ApiEventName,
  type ApiEvents,
  type ApiMethodName,
  type ApiResults,
  type ClusterApi,
  type ClusterEvent,
  type ClusterEventKind,
  type ClusterMethods,
  type ClusterStatus,
  type EntryKind,
  type KeyRevisionView,
  type KeyView,
  type LinkFaultView,
  type LogEntryView,
  type NodeExitView,
  type NodeView,
  type RaftStateView,
  type Role,
  type TimingView,
} from '../../../src/shared/api'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export interface FakeNode {
  id: number
  name: string
  client: string
  peer: string
  process: NodeView['process']
  pid: number | null
  member: NodeView['member']
  raft: Mutable<RaftStateView> | null
  lastExit: NodeExitView | null
}

/** A log entry before the per-node committed/applied flags are added. */
export type FakeEntry = Omit<LogEntryView, 'committed' | 'applied'>

interface KeyRecord {
  kv: KeyView | null
  history: KeyRevisionView[]
}

export interface FakeState {
  workspace: string
  exists: boolean
  name: string
  nodes: FakeNode[]
  term: number
  leader: number | null
  partitions: number[][]
  links: LinkFaultView[]
  timing: Mutable<TimingView>
  pendingChange: string | null
  events: ClusterEvent[]
  /** Per node: its log (entries above its snapshot index). */
  logs: Map<number, FakeEntry[]>
  revision: number
  compactRevision: number
  records: Map<string, KeyRecord>
  /** The live keys, sorted as etcd sorts them (ASCII keys: by code unit). */
  keyOrder: string[]
  leases: Map<number, number>
}

export interface FakeCall {
  readonly method: ApiMethodName
  readonly args: readonly unknown[]
}

export interface FakeApiOptions {
  /** Nodes of the cluster the workspace already holds; 0 means no cluster yet (default 3). */
  nodes?: number
  workspace?: string
  /** Keys present from the start (text values). */
  keys?: Record<string, string>
  /** Delay of every call in ms (default 0: resolves on the next microtask). */
  latencyMs?: number
}

export interface FakeApi extends ClusterApi {
  /** Every call in order, with the raw arguments the caller passed. */
  readonly calls: FakeCall[]
  /** The arguments of each call of one method. */
  callsOf(method: ApiMethodName): (readonly unknown[])[]
  /** The next call of `method` rejects with an Error carrying `message`. */
  failNext(method: ApiMethodName, message: string): void
  /** Pushes an event to the subscribers as the host would. */
  emit<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void
  listenerCount(event: ApiEventName): number
  /** The fake's own state, for tests that set up odd situations; call pushStatus() after. */
  readonly state: FakeState
  snapshot(): ClusterStatus
  pushStatus(): void
  /** Fills the key space fast (no events, no log entries): for paging and scrolling tests. */
  seedKeys(entries: Iterable<readonly [string, string]>): void
  /** Appends an entry to one node's log only, e.g. to make logs diverge. */
  appendToNode(node: number, entry: { term: number; summary?: string; keys?: string[] }): void
  /** Compacts a node's log up to `index` into a snapshot. */
  compactNodeLog(node: number, index: number): void
}

const DEFAULT_TIMING: TimingView = {
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotCount: 10_000,
  slowMotion: 1,
}

const DEFAULT_LIST_LIMIT = 500
const DEFAULT_LOG_LIMIT = 100

export function createFakeApi(options: FakeApiOptions = {}): FakeApi {
  const workspace = options.workspace ?? '/tmp/raftlab-fake'
  const s: FakeState = {
    workspace,
    exists: false,
    name: '',
    nodes: [],
    term: 0,
    leader: null,
    partitions: [],
    links: [],
    timing: { ...DEFAULT_TIMING },
    pendingChange: null,
    events: [],
    logs: new Map(),
    revision: 1,
    compactRevision: 0,
    records: new Map(),
    keyOrder: [],
    leases: new Map(),
  }
  const listeners = new Map<ApiEventName, Set<(payload: never) => void>>()
  const calls: FakeCall[] = []
  const failures = new Map<ApiMethodName, string>()
  let nextPid = 4100
  let nextLease = 0x1000
  let clock = Date.UTC(2026, 0, 1, 12, 0, 0)
  const now = (): number => (clock += 10)

  // --- events -------------------------------------------------------------------------------

  /** The last seq before the events were last cleared: numbers never go back. */
  let seqFloor = 0

  function emit<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void {
    for (const l of listeners.get(event) ?? []) (l as (p: ApiEvents[E]) => void)(payload)
  }

  function record(
    kind: ClusterEventKind,
    node: number | null,
    message: string,
    data: Record<string, unknown> = {},
  ): void {
    const e: ClusterEvent = {
      seq: Math.max(seqFloor, s.events.at(-1)?.seq ?? 0) + 1,
      at: now(),
      kind,
      node,
      message,
      data,
    }
    s.events.push(e)
    emit('event', structuredClone(e))
  }

  function snapshot(): ClusterStatus {
    return structuredClone({
      workspace: s.workspace,
      exists: s.exists,
      name: s.name,
      nodes: s.nodes.map(nodeView),
      leader: s.leader,
      term: s.term,
      faults: {
        partitions: s.partitions,
        links: s.links,
        paused: s.nodes.filter((n) => n.process === 'paused').map((n) => n.id),
      },
      timing: s.timing,
      pendingChange: s.pendingChange,
    })
  }

  const pushStatus = (): void => emit('status', snapshot())

  // --- nodes and elections ------------------------------------------------------------------

  function nodeView(n: FakeNode): NodeView {
    return { ...n, raft: n.raft ? { ...n.raft } : null }
  }

  function requireCluster(): void {
    if (!s.exists) throw new Error(`the workspace ${s.workspace} has no cluster yet: create one`)
  }

  function node(id: number): FakeNode {
    requireCluster()
    const n = s.nodes.find((x) => x.id === id)
    if (!n) {
      const ids = s.nodes.map((x) => x.id).join(', ')
      throw new Error(`node ${id} is not in cluster "${s.name}" (nodes: ${ids})`)
    }
    return n
  }

  function makeNode(id: number, member: FakeNode['member']): FakeNode {
    return {
      id,
      name: `node${id}`,
      client: `127.0.0.1:${23790 + id * 2}`,
      peer: `127.0.0.1:${23791 + id * 2}`,
      process: 'stopped',
      pid: null,
      member,
      raft: null,
      lastExit: null,
    }
  }

  const up = (n: FakeNode): boolean => n.process === 'running'
  const voters = (): FakeNode[] => s.nodes.filter((n) => n.member === 'voter')

  /** The groups the network is cut into; nodes no partition lists form one more group. */
  function groups(): number[][] {
    const ids = s.nodes.filter((n) => n.member !== 'removed').map((n) => n.id)
    if (s.partitions.length === 0) return [ids]
    const listed = new Set(s.partitions.flat())
    const rest = ids.filter((id) => !listed.has(id))
    return rest.length > 0 ? [...s.partitions, rest] : s.partitions
  }

  function groupOf(id: number): number[] {
    return groups().find((g) => g.includes(id)) ?? [id]
  }

  function lastIndexOf(id: number): number {
    const log = s.logs.get(id) ?? []
    return log.at(-1)?.index ?? s.nodes.find((n) => n.id === id)?.raft?.snapshotIndex ?? 0
  }

  function setRaft(n: FakeNode, patch: Partial<RaftStateView>): void {
    const base: Mutable<RaftStateView> = n.raft ?? {
      role: 'follower',
      term: 0,
      leader: 0,
      commit: 0,
      applied: 0,
      lastIndex: 0,
      snapshotIndex: 0,
      voters: [],
      learners: [],
      revision: 1,
    }
    n.raft = { ...base, ...patch }
  }

  /** Re-derives the leader and every live node's role: the rules the real cluster follows. */
  function elect(): void {
    const quorum = Math.floor(voters().length / 2) + 1
    const majority = groups().find(
      (g) => voters().filter((v) => up(v) && g.includes(v.id)).length >= quorum,
    )
    const current = s.leader === null ? undefined : s.nodes.find((n) => n.id === s.leader)
    let leader: FakeNode | undefined
    if (current && up(current) && current.member === 'voter' && majority?.includes(current.id)) {
      leader = current
    } else if (majority) {
      // Election restriction (§5.4.1): the most up-to-date live voter wins.
      leader = voters()
        .filter((v) => up(v) && majority.includes(v.id))
        .sort((a, b) => lastIndexOf(b.id) - lastIndexOf(a.id) || a.id - b.id)[0]
    }
    if (leader !== current || (current && !leader)) {
      if (leader) {
        s.term += 1
        s.leader = leader.id
        appendEntry(leader.id, { kind: 'empty', summary: 'no-op (new leader)', keys: [] })
        record('leaderElected', leader.id, `node ${leader.id} became leader in term ${s.term}`, {
          term: s.term,
        })
      } else {
        s.leader = null
        record(
          'roleChanged',
          current?.id ?? null,
          'the cluster has no leader: no group of nodes holds a majority of the voters',
          { term: s.term, leader: 0 },
        )
      }
    }
    const voterIds = voters().map((v) => v.id)
    const learnerIds = s.nodes.filter((n) => n.member === 'learner').map((n) => n.id)
    for (const n of s.nodes) {
      if (!up(n)) continue
      const inMajority = leader !== undefined && groupOf(leader.id).includes(n.id)
      const role: Role = n === leader ? 'leader' : inMajority ? 'follower' : 'preCandidate'
      const previous = n.raft?.role
      setRaft(n, {
        role,
        term: inMajority ? s.term : (n.raft?.term ?? s.term),
        leader: inMajority && leader ? leader.id : 0,
        voters: voterIds,
        learners: learnerIds,
      })
      if (previous !== undefined && previous !== role && n !== leader) {
        record('roleChanged', n.id, `node ${n.id} is now ${role}`, { role, term: n.raft?.term })
      }
    }
    replicate()
  }

  /** The leader's log is copied to every live node it can reach; reached nodes commit. */
  function replicate(): void {
    if (s.leader === null) return
    const leaderLog = s.logs.get(s.leader) ?? []
    const reach = groupOf(s.leader)
    const commit = lastIndexOf(s.leader)
    for (const n of s.nodes) {
      if (!up(n) || !reach.includes(n.id) || n.member === 'removed') continue
      if (n.id !== s.leader) {
        const snap = n.raft?.snapshotIndex ?? 0
        s.logs.set(
          n.id,
          leaderLog.filter((e) => e.index > snap),
        )
      }
      setRaft(n, { commit, applied: commit, lastIndex: commit, revision: s.revision })
    }
  }

  function appendEntry(
    leaderId: number,
    e: Omit<FakeEntry, 'index' | 'term' | 'command'> & { command?: unknown },
  ): void {
    const log = s.logs.get(leaderId) ?? []
    const entry: FakeEntry = {
      index: lastIndexOf(leaderId) + 1,
      term: s.term,
      kind: e.kind,
      summary: e.summary,
      keys: e.keys,
      command: e.command ?? null,
    }
    log.push(entry)
    s.logs.set(leaderId, log)
  }

  /** Writes go through the leader and are committed before the call returns. */
  function propose(kind: EntryKind, summary: string, keys: string[], command: unknown): void {
    if (s.leader === null) throw new Error('etcdserver: no leader')
    appendEntry(s.leader, { kind, summary, keys, command })
    replicate()
  }

  function start(n: FakeNode): void {
    n.process = 'running'
    n.pid = nextPid++
    n.lastExit = null
    setRaft(n, { role: 'follower', leader: 0, lastIndex: lastIndexOf(n.id) })
    record('nodeStarted', n.id, `node ${n.id} started (pid ${n.pid})`, { pid: n.pid })
  }

  function exit(n: FakeNode, code: number | null, signal: string | null): void {
    n.process = 'stopped'
    n.pid = null
    n.lastExit = { code, signal, at: now(), lastLines: [`node ${n.id}: ${signal ?? 'stopping'}`] }
    if (signal === 'SIGKILL') {
      record('nodeKilled', n.id, `node ${n.id} was killed (SIGKILL)`, { signal })
    } else {
      record('nodeExited', n.id, `node ${n.id} exited with code ${code}`, { code, signal })
    }
  }

  function createCluster(input: ApiArgs<'createCluster'>[0]): ClusterStatus {
    if (s.exists && !input.replace) {
      throw new Error(
        `the workspace ${s.workspace} already holds cluster "${s.name}"; destroy it or pass replace`,
      )
    }
    if (input.timing) applyTiming(input.timing)
    s.exists = true
    s.name = input.name ?? 'raftlab'
    s.nodes = []
    s.logs = new Map()
    s.partitions = []
    s.links = []
    s.term = 1
    s.leader = null
    for (let id = 1; id <= input.nodes; id++) s.nodes.push(makeNode(id, 'voter'))
    record('clusterCreated', null, `cluster "${s.name}" created with ${input.nodes} nodes`, {
      nodes: input.nodes,
    })
    if (input.start !== false) {
      for (const n of s.nodes) start(n)
      elect()
    }
    return snapshot()
  }

  function applyTiming(t: ApiArgs<'setTiming'>[0]): TimingView {
    const merged = { ...s.timing, ...t }
    if (merged.electionTicks <= merged.heartbeatTicks) {
      throw new Error(
        `electionTicks (${merged.electionTicks}) must be greater than heartbeatTicks (${merged.heartbeatTicks})`,
      )
    }
    s.timing = merged
    return { ...merged }
  }

  function addNode(): NodeView {
    requireCluster()
    if (s.leader === null) throw new Error('etcdserver: no leader: cannot add a node now')
    const id = Math.max(0, ...s.nodes.map((n) => n.id)) + 1
    const task = `add node ${id}`
    const n = makeNode(id, 'learner')
    s.nodes.push(n)
    s.pendingChange = `adding node ${id}`
    emit('progress', { task, done: 0, total: 3, message: `adding node ${id} as a learner` })
    propose('confChange', `addLearner ${id}`, [], { type: 'addLearner', node: id })
    record('membershipChanged', id, `node ${id} joined as a learner`, { change: 'addLearner' })
    start(n)
    elect()
    emit('progress', { task, done: 1, total: 3, message: `node ${id} caught up` })
    n.member = 'voter'
    propose('confChange', `promote ${id}`, [], { type: 'promote', node: id })
    record('membershipChanged', id, `node ${id} was promoted to voter`, { change: 'promote' })
    s.pendingChange = null
    elect()
    emit('progress', { task, done: 3, total: 3, message: `node ${id} is a voter` })
    return nodeView(n)
  }

  function removeNode(id: number): ClusterStatus {
    const n = node(id)
    if (s.leader === null) throw new Error(`etcdserver: no leader: cannot remove node ${id} now`)
    if (voters().length === 1 && n.member === 'voter') {
      throw new Error(`node ${id} is the last voter; destroy the cluster instead`)
    }
    if (n.member === 'removed') throw new Error(`node ${id} was already removed`)
    propose('confChange', `removeNode ${id}`, [], { type: 'removeNode', node: id })
    if (n.process !== 'stopped') exit(n, 0, null)
    // Like the real manager: the node stays in the status, marked removed, its log on disk.
    n.member = 'removed'
    s.partitions = s.partitions.map((g) => g.filter((x) => x !== id)).filter((g) => g.length > 0)
    s.links = s.links.filter((l) => l.from !== id && l.to !== id)
    record('membershipChanged', id, `node ${id} was removed`, { change: 'remove' })
    elect()
    return snapshot()
  }

  function transferLeadership(id: number): ClusterStatus {
    const n = node(id)
    if (s.leader === null) throw new Error('etcdserver: no leader')
    if (n.member !== 'voter')
      throw new Error(`node ${id} is a ${n.member ?? 'new'} node, not a voter`)
    if (!up(n)) throw new Error(`node ${id} is ${n.process}; start it first`)
    if (!groupOf(s.leader).includes(id)) throw new Error(`node ${id} cannot reach the leader`)
    if (s.leader !== id) {
      s.term += 1
      s.leader = id
      appendEntry(id, { kind: 'empty', summary: 'no-op (new leader)', keys: [] })
      record('leaderElected', id, `leadership moved to node ${id} in term ${s.term}`, {
        term: s.term,
        transfer: true,
      })
      elect()
    }
    return snapshot()
  }

  function partition(groupsIn: number[][]): ApiResults['partition'] {
    requireCluster()
    const seen = new Set<number>()
    for (const g of groupsIn) {
      for (const id of g) {
        node(id)
        if (seen.has(id)) throw new Error(`node ${id} is in more than one partition group`)
        seen.add(id)
      }
    }
    s.partitions = groupsIn.map((g) => [...g].sort((a, b) => a - b))
    record('faultChanged', null, `network split into ${groups().length} groups`, {
      partitions: groups(),
    })
    elect()
    return snapshot().faults
  }

  function setLinkFault(input: ApiArgs<'setLinkFault'>[0]): ApiResults['setLinkFault'] {
    node(input.from)
    node(input.to)
    if (input.from === input.to) throw new Error(`a link joins two nodes; got ${input.from} twice`)
    const pairs: [number, number][] = [[input.from, input.to]]
    if (input.both !== false) pairs.push([input.to, input.from])
    for (const [from, to] of pairs) {
      const old = s.links.find((l) => l.from === from && l.to === to)
      const next: LinkFaultView = {
        from,
        to,
        drop: input.drop ?? old?.drop ?? 0,
        delayMs: input.delayMs ?? old?.delayMs ?? 0,
        blocked: false,
      }
      s.links = s.links.filter((l) => l !== old)
      if (next.drop > 0 || next.delayMs > 0) s.links.push(next)
    }
    record('faultChanged', input.from, `link ${input.from}→${input.to} changed`, { ...input })
    return snapshot().faults
  }

  function heal(): ApiResults['heal'] {
    requireCluster()
    s.partitions = []
    s.links = []
    for (const n of s.nodes) {
      if (n.process === 'paused') {
        n.process = 'running'
        record('nodeResumed', n.id, `node ${n.id} resumed`)
      }
    }
    record('faultChanged', null, 'network healed', {})
    elect()
    return snapshot().faults
  }

  // --- logs ---------------------------------------------------------------------------------

  function logView(n: FakeNode, e: FakeEntry): LogEntryView {
    const commit = n.raft?.commit ?? 0
    const applied = n.raft?.applied ?? 0
    return { ...e, committed: e.index <= commit, applied: e.index <= applied }
  }

  function readLog(q: ApiArgs<'readLog'>[0]): ApiResults['readLog'] {
    const n = node(q.node)
    const log = s.logs.get(n.id) ?? []
    const snapshotIndex = n.raft?.snapshotIndex ?? 0
    const firstIndex = snapshotIndex + 1
    const lastIndex = lastIndexOf(n.id)
    const limit = q.limit ?? DEFAULT_LOG_LIMIT
    const to = q.to ?? lastIndex
    const matches = (e: FakeEntry): boolean =>
      (!q.kinds || q.kinds.includes(e.kind)) &&
      (q.term === undefined || e.term === q.term) &&
      (q.key === undefined ||
        e.keys.some((k) => (q.prefix ? k.startsWith(q.key ?? '') : k === q.key)))
    const entries: LogEntryView[] = []
    let next: number | null = null
    for (const e of log) {
      if (e.index < (q.from ?? firstIndex) || e.index > to) continue
      if (entries.length === limit) {
        next = e.index
        break
      }
      if (matches(e)) entries.push(logView(n, e))
    }
    return {
      node: n.id,
      source: up(n) ? 'live' : 'disk',
      entries,
      snapshotIndex,
      snapshotTerm: snapshotIndex > 0 ? 1 : 0,
      firstIndex,
      lastIndex,
      commit: n.raft?.commit ?? 0,
      applied: n.raft?.applied ?? 0,
      next,
    }
  }

  function compareLogs(q: ApiArgs<'compareLogs'>[0]): ApiResults['compareLogs'] {
    requireCluster()
    const ids = q.nodes ?? s.nodes.map((n) => n.id)
    const ns = ids.map(node)
    const from = q.from ?? 1
    const limit = q.limit ?? DEFAULT_LOG_LIMIT
    const last = Math.max(0, ...ids.map(lastIndexOf))
    const rows: ApiResults['compareLogs']['rows'][number][] = []
    const end = Math.min(last, from + limit - 1)
    for (let index = Math.max(1, from); index <= end; index++) {
      const terms: Record<string, number | null> = {}
      let summary = ''
      for (const id of ids) {
        const e = (s.logs.get(id) ?? []).find((x) => x.index === index)
        terms[String(id)] = e?.term ?? null
        if (e && !summary) summary = e.summary
      }
      const held = new Set(Object.values(terms).filter((t): t is number => t !== null))
      rows.push({ index, terms, summary, diverges: held.size > 1 })
    }
    return {
      nodes: ids,
      rows,
      commit: Object.fromEntries(ns.map((n) => [String(n.id), n.raft?.commit ?? 0])),
      snapshotIndex: Object.fromEntries(ns.map((n) => [String(n.id), n.raft?.snapshotIndex ?? 0])),
      next: end < last ? end + 1 : null,
    }
  }

  // --- keys ---------------------------------------------------------------------------------

  /** First position in keyOrder whose key is >= `key`. */
  function lowerBound(key: string): number {
    let lo = 0
    let hi = s.keyOrder.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((s.keyOrder[mid] ?? '') < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The first key after every key that starts with `prefix`; '' when there is none. */
  function prefixEnd(prefix: string): string {
    for (let i = prefix.length - 1; i >= 0; i--) {
      const c = prefix.charCodeAt(i)
      if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1)
    }
    return ''
  }

  function rangeOf(prefix: string): [number, number] {
    const lo = lowerBound(prefix)
    const end = prefix ? prefixEnd(prefix) : ''
    return [lo, end ? lowerBound(end) : s.keyOrder.length]
  }

  function writeKey(key: string, valueB64: string, lease: number): KeyView {
    const rec = s.records.get(key) ?? { kv: null, history: [] }
    const kv: KeyView = {
      key,
      value: valueB64,
      size: base64ToBytes(valueB64).length,
      createRevision: rec.kv?.createRevision ?? s.revision,
      modRevision: s.revision,
      version: (rec.kv?.version ?? 0) + 1,
      lease,
    }
    if (!rec.kv) s.keyOrder.splice(lowerBound(key), 0, key)
    rec.kv = kv
    rec.history.unshift({ modRevision: kv.modRevision, version: kv.version, value: valueB64 })
    s.records.set(key, rec)
    return kv
  }

  function preview(b64: string): string {
    const text = decodeText(b64)
    if (text === null) return `<${base64ToBytes(b64).length} bytes>`
    return text.length > 40 ? `${text.slice(0, 40)}…` : text
  }

  function putKey(input: ApiArgs<'putKey'>[0]): ApiResults['putKey'] {
    requireCluster()
    const current = s.records.get(input.key)?.kv ?? null
    if (input.expectModRevision !== undefined) {
      const have = current?.modRevision ?? 0
      if (have !== input.expectModRevision) return { ok: false, revision: s.revision, current }
    }
    const value = input.base64 ? input.value : textToBase64(input.value)
    let lease = 0
    if (input.ttl !== undefined) {
      lease = nextLease++
      s.leases.set(lease, input.ttl)
    }
    propose('normal', `put ${input.key} = ${preview(value)}`, [input.key], {
      op: 'put',
      key: input.key,
      value,
      lease,
    })
    s.revision += 1
    const kv = writeKey(input.key, value, lease)
    replicate()
    record('keyChanged', s.leader, `put ${input.key} at revision ${s.revision}`, {
      key: input.key,
      type: 'put',
      revision: s.revision,
      modRevision: s.revision,
    })
    return { ok: true, revision: s.revision, current: kv }
  }

  function deleteKey(input: ApiArgs<'deleteKey'>[0]): ApiResults['deleteKey'] {
    requireCluster()
    const current = s.records.get(input.key)?.kv ?? null
    if (input.expectModRevision !== undefined && current?.modRevision !== input.expectModRevision) {
      return { ok: false, revision: s.revision, current, deleted: 0 }
    }
    const targets = input.prefix
      ? s.keyOrder.slice(...rangeOf(input.key))
      : current
        ? [input.key]
        : []
    if (targets.length === 0) return { ok: true, revision: s.revision, current: null, deleted: 0 }
    propose(
      'normal',
      input.prefix ? `delete prefix ${input.key} (${targets.length} keys)` : `delete ${input.key}`,
      targets,
      { op: 'delete', key: input.key, prefix: input.prefix ?? false },
    )
    s.revision += 1
    for (const key of targets) {
      const rec = s.records.get(key)
      if (!rec?.kv) continue
      rec.history.unshift({ modRevision: s.revision, version: 0, value: null })
      rec.kv = null
      s.keyOrder.splice(lowerBound(key), 1)
    }
    replicate()
    record('keyChanged', s.leader, `deleted ${targets.length} key(s) at revision ${s.revision}`, {
      key: input.key,
      type: 'delete',
      deleted: targets.length,
      revision: s.revision,
      modRevision: s.revision,
    })
    return { ok: true, revision: s.revision, current: null, deleted: targets.length }
  }

  function listKeys(q: ApiArgs<'listKeys'>[0]): ApiResults['listKeys'] {
    requireCluster()
    const prefix = q.prefix ?? ''
    const [lo, hi] = rangeOf(prefix)
    const start = q.after === undefined ? lo : Math.max(lo, lowerBound(q.after + '\u0000'))
    const limit = q.limit ?? DEFAULT_LIST_LIMIT
    const page = s.keyOrder.slice(start, Math.min(hi, start + limit))
    const keys = page.map((k) => {
      const kv = s.records.get(k)?.kv as KeyView
      return q.keysOnly ? { ...kv, value: '' } : kv
    })
    return {
      keys,
      count: hi - lo,
      cursor: start + page.length < hi ? (page.at(-1) ?? null) : null,
      revision: s.revision,
    }
  }

  function getKey(key: string): ApiResults['getKey'] {
    requireCluster()
    const rec = s.records.get(key)
    const lease = rec?.kv?.lease ?? 0
    return {
      kv: rec?.kv ?? null,
      history: rec?.history ?? [],
      revision: s.revision,
      compactRevision: s.compactRevision,
      leaseTtl: lease ? (s.leases.get(lease) ?? null) : null,
    }
  }

  function decodeText(b64: string): string | null {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(base64ToBytes(b64))
    } catch {
      return null
    }
  }

  function importKeys(dump: ApiArgs<'importKeys'>[0]): ApiResults['importKeys'] {
    requireCluster()
    const total = dump.keys.length
    const batch = 1000
    emit('progress', { task: 'import', done: 0, total, message: `importing ${total} keys` })
    for (let i = 0; i < total; i += batch) {
      const part = dump.keys.slice(i, i + batch)
      propose(
        'normal',
        `txn: put ${part.length} keys`,
        part.map((k) => k.key),
        { op: 'import' },
      )
      s.revision += 1
      for (const k of part) writeKey(k.key, k.base64 ? k.value : textToBase64(k.value), 0)
      const done = Math.min(total, i + batch)
      emit('progress', { task: 'import', done, total, message: `imported ${done} of ${total}` })
    }
    replicate()
    record('keyChanged', s.leader, `imported ${total} keys`, { imported: total })
    return { keys: total, revision: s.revision }
  }

  function exportKeys(q: ApiArgs<'exportKeys'>[0]): ApiResults['exportKeys'] {
    requireCluster()
    const keys = s.keyOrder.slice(...rangeOf(q.prefix ?? '')).map((key) => {
      const value = s.records.get(key)?.kv?.value ?? ''
      const text = decodeText(value)
      return text === null ? { key, value, base64: true } : { key, value: text }
    })
    return { keys }
  }

  function seedKeys(entries: Iterable<readonly [string, string]>): void {
    for (const [key, value] of entries) {
      s.revision += 1
      const rec = s.records.get(key) ?? { kv: null, history: [] }
      const v = textToBase64(value)
      rec.kv = {
        key,
        value: v,
        size: new TextEncoder().encode(value).length,
        createRevision: rec.kv?.createRevision ?? s.revision,
        modRevision: s.revision,
        version: (rec.kv?.version ?? 0) + 1,
        lease: 0,
      }
      rec.history.unshift({ modRevision: s.revision, version: rec.kv.version, value: v })
      s.records.set(key, rec)
    }
    s.keyOrder = [...s.records.entries()]
      .filter(([, r]) => r.kv !== null)
      .map(([k]) => k)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  // --- the method table ---------------------------------------------------------------------

  let exports = 0
  const impl: { [K in ApiMethodName]: (...args: ApiArgs<K>) => ApiResults[K] } = {
    appInfo: () => ({ name: 'RaftLab', version: '0.1.0-test', host: 'browser' }),
    status: () => snapshot(),
    createCluster,
    destroyCluster: () => {
      requireCluster()
      const name = s.name
      for (const n of s.nodes) if (up(n) || n.process === 'paused') exit(n, 0, null)
      s.exists = false
      s.name = ''
      s.nodes = []
      s.logs = new Map()
      // The keys live in the nodes' data directories, which a destroy deletes.
      s.records = new Map()
      s.keyOrder = []
      s.leases = new Map()
      s.leader = null
      s.partitions = []
      s.links = []
      // As the host does: the events go with the data, and one boundary event starts anew
      // with the numbering going on.
      seqFloor = s.events.at(-1)?.seq ?? seqFloor
      s.events = []
      record('clusterDestroyed', null, `cluster "${name}" destroyed`, { name })
      return null
    },
    startNode: (id) => {
      const n = node(id)
      if (n.member === 'removed') throw new Error(`node ${id} was removed from the cluster`)
      if (n.process !== 'stopped') throw new Error(`node ${id} is already ${n.process}`)
      start(n)
      elect()
      return nodeView(n)
    },
    stopNode: (id) => {
      const n = node(id)
      if (n.process === 'stopped') throw new Error(`node ${id} is not running`)
      exit(n, 0, null)
      elect()
      return nodeView(n)
    },
    killNode: (id) => {
      const n = node(id)
      if (n.process === 'stopped') throw new Error(`node ${id} is not running`)
      exit(n, null, 'SIGKILL')
      elect()
      return nodeView(n)
    },
    pauseNode: (id) => {
      const n = node(id)
      if (n.process !== 'running') throw new Error(`node ${id} is ${n.process}, not running`)
      n.process = 'paused'
      record('nodePaused', id, `node ${id} paused (SIGSTOP)`)
      elect()
      return nodeView(n)
    },
    resumeNode: (id) => {
      const n = node(id)
      if (n.process !== 'paused') throw new Error(`node ${id} is ${n.process}, not paused`)
      n.process = 'running'
      record('nodeResumed', id, `node ${id} resumed (SIGCONT)`)
      elect()
      return nodeView(n)
    },
    restartNode: (id) => {
      const n = node(id)
      if (n.member === 'removed') throw new Error(`node ${id} was removed from the cluster`)
      if (n.process !== 'stopped') exit(n, 0, null)
      start(n)
      elect()
      return nodeView(n)
    },
    startAll: () => {
      requireCluster()
      for (const n of s.nodes) if (n.process === 'stopped' && n.member !== 'removed') start(n)
      elect()
      return snapshot()
    },
    stopAll: () => {
      requireCluster()
      for (const n of s.nodes) if (n.process !== 'stopped') exit(n, 0, null)
      elect()
      return snapshot()
    },
    addNode,
    removeNode,
    promoteNode: (id) => {
      const n = node(id)
      if (n.member !== 'learner') throw new Error(`node ${id} is not a learner`)
      propose('confChange', `promote ${id}`, [], { type: 'promote', node: id })
      n.member = 'voter'
      record('membershipChanged', id, `node ${id} was promoted to voter`, { change: 'promote' })
      elect()
      return nodeView(n)
    },
    transferLeadership,
    partition,
    isolate: (id) => {
      node(id)
      return partition([[id]])
    },
    setLinkFault,
    heal,
    setTiming: (t) => {
      const timing = applyTiming(t)
      record('timingChanged', null, `timing changed (slow motion ×${timing.slowMotion})`, {
        ...timing,
      })
      return timing
    },
    events: (q) => {
      const out = s.events.filter(
        (e) =>
          (q.after === undefined || e.seq > q.after) &&
          (q.before === undefined || e.seq < q.before) &&
          eventMatches(e, q),
      )
      // The newest `limit` events, oldest first.
      return out.slice(-(q.limit ?? 1000))
    },
    eventCounts: (q) => {
      const kinds: Partial<Record<ClusterEventKind, number>> = {}
      for (const e of s.events) {
        if (eventMatches(e, { ...q, kinds: [] })) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1
      }
      const nodes = [...new Set(s.events.map((e) => e.node))].filter((n) => n !== null)
      return {
        kinds,
        all: s.events.length,
        nodes: nodes.sort((a, b) => a - b),
        lastSeq: s.events.at(-1)?.seq ?? 0,
      }
    },
    readLog,
    compareLogs,
    exportNodeLog: (q) => {
      const n = node(q.node)
      const lines = (s.logs.get(n.id) ?? []).map((e) => JSON.stringify(logView(n, e)))
      return {
        path: q.path ?? `${s.workspace}/exports/node-${q.node}-log.${q.format}`,
        bytes: lines.join('\n').length,
      }
    },
    listKeys,
    getKey,
    putKey,
    deleteKey,
    importKeys,
    exportKeys,
    exportBundle: (q) => {
      requireCluster()
      exports += 1
      emit('progress', { task: 'export', done: 0, total: 1, message: 'writing the bundle' })
      const bytes = JSON.stringify({ status: snapshot(), events: s.events }).length
      emit('progress', { task: 'export', done: 1, total: 1, message: 'bundle written' })
      return { path: q.path ?? `${s.workspace}/exports/raftlab-bundle-${exports}.tar`, bytes }
    },
  }

  const mutating = new Set<ApiMethodName>(
    apiMethodNames.filter(
      (m) =>
        ![
          'appInfo',
          'status',
          'events',
          'readLog',
          'compareLogs',
          'listKeys',
          'getKey',
          'exportKeys',
        ].includes(m),
    ),
  )

  const methods = {} as Record<ApiMethodName, (...args: unknown[]) => Promise<unknown>>
  for (const name of apiMethodNames) {
    methods[name] = async (...args: unknown[]): Promise<unknown> => {
      calls.push({ method: name, args })
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))
      else await Promise.resolve()
      const failure = failures.get(name)
      if (failure !== undefined) {
        failures.delete(name)
        throw new Error(failure)
      }
      const parsed = parseArgs(name, args) as unknown[]
      const fn = impl[name] as (...a: unknown[]) => unknown
      const result = fn(...parsed)
      if (mutating.has(name)) pushStatus()
      return structuredClone(result)
    }
  }

  function on<E extends ApiEventName>(
    event: E,
    listener: (payload: ApiEvents[E]) => void,
  ): () => void {
    const set = listeners.get(event) ?? new Set()
    listeners.set(event, set)
    const l = listener as (payload: never) => void
    set.add(l)
    return () => set.delete(l)
  }

  // Set up the cluster the workspace "already holds".
  const initial = options.nodes ?? 3
  if (initial > 0) createCluster({ nodes: initial })
  if (options.keys) {
    for (const [key, value] of Object.entries(options.keys)) putKey({ key, value })
  }

  return {
    ...(methods as unknown as ClusterMethods),
    on,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method).map((c) => c.args),
    failNext: (method, message) => void failures.set(method, message),
    emit,
    listenerCount: (event) => listeners.get(event)?.size ?? 0,
    state: s,
    snapshot,
    pushStatus,
    seedKeys,
    appendToNode: (id, e) => {
      const log = s.logs.get(id) ?? []
      log.push({
        index: lastIndexOf(id) + 1,
        term: e.term,
        kind: 'normal',
        summary: e.summary ?? `entry of term ${e.term}`,
        keys: e.keys ?? [],
        command: null,
      })
      s.logs.set(id, log)
      const n = node(id)
      setRaft(n, { lastIndex: lastIndexOf(id) })
    },
    compactNodeLog: (id, index) => {
      const n = node(id)
      s.logs.set(
        id,
        (s.logs.get(id) ?? []).filter((e) => e.index > index),
      )
      setRaft(n, { snapshotIndex: index })
      record('snapshotTaken', id, `node ${id} took a snapshot at index ${index}`, { index })
    },
  }
}
