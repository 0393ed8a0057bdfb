// ClusterService: the one implementation of ClusterApi. Electron's IPC, the browser bridge and
// the CLI all call it; it validates its own arguments too, so an in-process caller gets the
// same errors as a remote one. It supervises the node processes through ClusterManager, keeps
// the faults and the timing, turns what the nodes report into one ordered event stream, and
// hands keys, logs and exports to their own modules.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  parseArgs,
  type ApiArgs,
  type ApiEventName,
  type ApiEvents,
  type AppInfo,
  type ClusterApi,
  type ClusterEvent,
  type ClusterStatus,
  type EventCounts,
  type ExportResult,
  type FaultsView,
  type ImportResult,
  type KeyDetail,
  type KeyDump,
  type KeyPage,
  type KeyWriteResult,
  type LogCompare,
  type LogPage,
  type NodeView,
  type Progress,
  type RaftStateView,
  type TimingView,
} from '../../shared/api'
import { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING } from '../node/config'
import type { NodeEvent, NodeState } from '../node/raftnode'
import pkg from '../../../package.json'
import { EventLog, type NewEvent } from './events'
import { exportNodeLog, writeBundle } from './export'
import {
  blocked,
  describeFaults,
  faultsView,
  isolationOf,
  NO_FAULTS,
  partitionOf,
  rulesFor,
  withLinkFault,
  withNewNode,
  type FaultState,
} from './faults'
import { KeyStore, plainKeyError } from './keys'
import { compareLogs, readLogPage, type LogSource } from './logs'
import {
  ClusterManager,
  StartInterrupted,
  unlessInterrupted,
  type ManagedExit,
  type ProcessPhase,
} from './manager'
import * as membership from './membership'
import { dataDirOf, effectiveTiming, type ClusterFile } from './workspace'

export interface ServiceOptions {
  readonly workspace: string
  /** out/main/node.js; defaults to the node.js next to this bundle. */
  readonly nodeEntry?: string
  readonly host: AppInfo['host']
}

/** Status pushes are coalesced: at most one per this many ms. */
const STATUS_INTERVAL_MS = 100

type Listeners = { [E in ApiEventName]: Set<(payload: ApiEvents[E]) => void> }

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-')
}

export class ClusterService implements ClusterApi {
  private faults: FaultState = NO_FAULTS
  private pendingChange: string | null = null
  private readonly listeners: Listeners = {
    event: new Set(),
    status: new Set(),
    progress: new Set(),
  }
  private statusTimer: NodeJS.Timeout | undefined
  private readonly keys: KeyStore
  private unwatch: (() => void) | undefined
  /** The highest term any node reported, and the term of the last leaderElected event. */
  private clusterTerm = 0
  private electedTerm = 0
  /** Configuration indexes already reported: every node announces each change it applies. */
  private readonly confIndexes = new Set<number>()
  private readonly phases = new Map<number, ProcessPhase>()
  private closed = false

  private constructor(
    private readonly manager: ClusterManager,
    private readonly log: EventLog,
    private readonly host: AppInfo['host'],
  ) {
    this.keys = new KeyStore(() => this.endpoints())
    manager.faultRulesFor = (id) => rulesFor(this.faults, id, this.knownIds())
    manager.onPhase = (id, phase) => this.phaseChanged(id, phase)
    manager.onExit = (e) => this.nodeExited(e)
    manager.onState = (id, s) => this.stateReported(id, s)
    manager.onEvent = (id, e) => this.nodeEvent(id, e)
    log.on((e) => this.broadcast('event', e))
    for (const s of manager.nodes())
      this.clusterTerm = Math.max(this.clusterTerm, s.state?.term ?? 0)
  }

  /**
   * Opens a workspace (refused while another manager holds it) and restarts the nodes that
   * were running when it was last closed.
   */
  static async open(opts: ServiceOptions): Promise<ClusterService> {
    const manager = await ClusterManager.openWorkspace({
      workspace: opts.workspace,
      ...(opts.nodeEntry !== undefined ? { nodeEntry: opts.nodeEntry } : {}),
    })
    let log: EventLog
    try {
      log = await EventLog.open(opts.workspace)
    } catch (e) {
      await manager.close()
      throw e
    }
    const service = new ClusterService(manager, log, opts.host)
    if (manager.hasCluster) {
      const c = manager.clusterFile
      const removed = new Set(c.nodes.filter((n) => n.removed).map((n) => n.id))
      const restart = (c.running ?? []).filter((id) => !removed.has(id))
      // A node that fails to come back right after a crash of the previous manager gets one
      // more try a second later (one of its ports still held, say). A predecessor still
      // running on its data directory is waited for by the node itself (node.lock).
      // A node stopped on request while it came back stays stopped.
      const startWithRetry = (id: number): Promise<void> =>
        manager.startNode(id).catch((e: unknown) => {
          if (e instanceof StartInterrupted) return
          return new Promise((r) => setTimeout(r, 1000))
            .then(() => manager.startNode(id))
            .catch(unlessInterrupted)
        })
      const results = await Promise.allSettled(restart.map(startWithRetry))
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          service.emit({
            kind: 'error',
            node: restart[i] ?? null,
            message: `node ${restart[i]} did not restart: ${(r.reason as Error).message}`,
          })
        }
      })
      if (restart.length > 0) service.watchKeys()
    }
    return service
  }

  /** Stops the nodes gracefully (they restart on the next open) and releases the workspace. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.statusTimer)
    this.unwatch?.()
    this.unwatch = undefined
    await this.keys.close().catch(() => {})
    await this.manager.close()
    await this.log.flush().catch(() => {})
  }

  get workspace(): string {
    return this.manager.workspace
  }

  // ---- pushed events ----

  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    const set = this.listeners[event] as Set<(payload: ApiEvents[E]) => void>
    if (!set) throw new Error(`unknown event "${String(event)}"; events: event, status, progress`)
    set.add(listener)
    return () => set.delete(listener)
  }

  private broadcast<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void {
    for (const l of this.listeners[event] as Set<(p: ApiEvents[E]) => void>) {
      try {
        l(payload)
      } catch {
        // One faulty subscriber must not starve the others.
      }
    }
  }

  private emit(e: NewEvent): ClusterEvent {
    const event = this.log.emit(e)
    this.touch()
    return event
  }

  private progress(p: Progress): void {
    this.broadcast('progress', p)
  }

  /** Schedules one status push; changes within the interval share it. */
  private touch(): void {
    if (this.statusTimer || this.closed || this.listeners.status.size === 0) return
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined
      if (!this.closed) this.broadcast('status', this.buildStatus())
    }, STATUS_INTERVAL_MS)
    this.statusTimer.unref()
  }

  // ---- what the manager and the nodes report ----

  private phaseChanged(id: number, phase: ProcessPhase): void {
    const before = this.phases.get(id)
    this.phases.set(id, phase)
    const pid = this.manager.process(id).pid ?? null
    if (phase === 'running' && before === 'starting') {
      this.emit({
        kind: 'nodeStarted',
        node: id,
        message: `node ${id} started (pid ${pid})`,
        data: { pid },
      })
    } else if (phase === 'paused') {
      this.emit({
        kind: 'nodePaused',
        node: id,
        message: `node ${id} paused (SIGSTOP)`,
        data: { pid },
      })
    } else if (phase === 'running' && before === 'paused') {
      this.emit({
        kind: 'nodeResumed',
        node: id,
        message: `node ${id} resumed (SIGCONT)`,
        data: { pid },
      })
    }
    this.touch()
  }

  private nodeExited(e: ManagedExit): void {
    const data = { code: e.code, signal: e.signal, cause: e.cause, lastLines: e.lastLines }
    const how = `code ${e.code ?? '-'}, signal ${e.signal ?? '-'}`
    if (e.cause === 'kill') {
      this.emit({
        kind: 'nodeKilled',
        node: e.id,
        message: `node ${e.id} was killed (${how})`,
        data,
      })
    } else if (e.cause === 'stop') {
      this.emit({ kind: 'nodeExited', node: e.id, message: `node ${e.id} stopped (${how})`, data })
    } else {
      this.emit({
        kind: 'nodeExited',
        node: e.id,
        message: `node ${e.id} exited on its own (${how})`,
        data,
      })
    }
  }

  private stateReported(id: number, s: NodeState): void {
    this.termSeen(id, s.term)
    this.touch()
  }

  /** termChanged is the cluster's: the first node to report a higher term announces it. */
  private termSeen(id: number, term: number): void {
    if (term <= this.clusterTerm) return
    const previous = this.clusterTerm
    this.clusterTerm = term
    this.emit({
      kind: 'termChanged',
      node: id,
      message: `term ${term} began (node ${id} saw it first)`,
      data: { term, previous },
    })
  }

  private nodeEvent(id: number, e: NodeEvent): void {
    switch (e.type) {
      case 'roleChanged': {
        this.termSeen(id, e.term)
        this.emit({
          kind: 'roleChanged',
          node: id,
          message: `node ${id} became ${e.role} in term ${e.term}`,
          data: { role: e.role, term: e.term, leader: e.leader },
        })
        // Winning an election takes a majority of votes, so a new leader's term names it once.
        if (e.role === 'leader' && e.term > this.electedTerm) {
          this.electedTerm = e.term
          this.emit({
            kind: 'leaderElected',
            node: id,
            message: `node ${id} was elected leader for term ${e.term}`,
            data: { term: e.term, leader: id },
          })
          this.watchKeys()
        }
        break
      }
      case 'membershipChanged':
        if (this.confIndexes.has(e.index)) break
        this.confIndexes.add(e.index)
        this.emit({
          kind: 'membershipChanged',
          node: id,
          message: `configuration at index ${e.index}: voters [${e.confState.voters.join(', ')}], learners [${e.confState.learners.join(', ')}]`,
          data: { index: e.index, voters: e.confState.voters, learners: e.confState.learners },
        })
        break
      case 'removed':
        this.emit({
          kind: 'membershipChanged',
          node: id,
          message: `node ${id} applied its own removal and is shutting down`,
          data: { removed: id },
        })
        break
      case 'snapshotTaken':
        this.emit({
          kind: 'snapshotTaken',
          node: id,
          message: `node ${id} took a snapshot at index ${e.index} (${e.bytes} bytes)`,
          data: { index: e.index, bytes: e.bytes },
        })
        break
      case 'snapshotInstalled':
        this.emit({
          kind: 'snapshotInstalled',
          node: id,
          message: `node ${id} installed a snapshot at index ${e.index} from node ${e.from}`,
          data: { index: e.index, from: e.from },
        })
        break
    }
  }

  private stateOf(id: number): NodeState | undefined {
    return this.manager.nodes().find((n) => n.id === id)?.state
  }

  /** keyChanged events come from one Watch on the whole keyspace, started once a leader serves. */
  private watchKeys(): void {
    if (this.unwatch || this.closed || !this.manager.hasCluster) return
    try {
      this.unwatch = this.keys.watch((c) =>
        this.emit({
          kind: 'keyChanged',
          node: null,
          message: `${c.type} ${c.key} at revision ${c.modRevision}`,
          data: { key: c.key, type: c.type, modRevision: c.modRevision },
        }),
      )
    } catch (e) {
      this.emit({ kind: 'error', message: `cannot watch keys: ${(e as Error).message}` })
    }
  }

  private stopWatch(): void {
    this.unwatch?.()
    this.unwatch = undefined
  }

  // ---- views ----

  private knownIds(): number[] {
    if (!this.manager.hasCluster) return []
    return this.manager.clusterFile.nodes.filter((n) => !n.removed).map((n) => n.id)
  }

  /** Client addresses of the running nodes, the leader first. */
  private endpoints(): string[] {
    const leader = this.manager.leader()
    return (
      this.manager
        .nodes()
        // A learner refuses client calls, as etcd's do (while Add node catches one up).
        .filter((n) => n.running && this.manager.phase(n.id) !== 'paused')
        .filter((n) => !(n.state?.confState.learners ?? []).includes(n.id))
        .sort((a, b) => Number(b.id === leader) - Number(a.id === leader))
        .map((n) => n.client)
    )
  }

  private nodeView(id: number): NodeView {
    const c = this.manager.clusterFile
    const spec = c.nodes.find((n) => n.id === id)
    if (!spec) throw new Error(`node ${id} is not part of this cluster`)
    const info = this.manager.nodes().find((n) => n.id === id)
    const s = info?.state
    const phase = this.manager.phase(id)
    const exit = this.manager.lastExit(id)
    const member: NodeView['member'] = spec.removed
      ? 'removed'
      : !s
        ? null
        : s.confState.voters.includes(id)
          ? 'voter'
          : s.confState.learners.includes(id)
            ? 'learner'
            : null
    return {
      id,
      name: spec.name,
      client: spec.client,
      peer: spec.peer,
      process: phase,
      pid: info?.pid ?? null,
      member,
      raft: s ? raftView(s) : null,
      lastExit:
        exit && phase === 'stopped'
          ? { code: exit.code, signal: exit.signal, at: exit.at, lastLines: exit.lastLines }
          : null,
    }
  }

  private timingView(c: ClusterFile | undefined): TimingView {
    return {
      tickMs: c?.timing.tickMs ?? DEFAULT_TIMING.tickMs,
      electionTicks: c?.timing.electionTicks ?? DEFAULT_TIMING.electionTicks,
      heartbeatTicks: c?.timing.heartbeatTicks ?? DEFAULT_TIMING.heartbeatTicks,
      snapshotCount: c?.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
      slowMotion: c?.slowMotion ?? 1,
    }
  }

  private faultsView(): FaultsView {
    return faultsView(this.faults, this.manager.paused())
  }

  private buildStatus(): ClusterStatus {
    const m = this.manager
    if (!m.hasCluster) {
      return {
        workspace: m.workspace,
        exists: false,
        name: '',
        nodes: [],
        leader: null,
        term: 0,
        faults: faultsView(NO_FAULTS, []),
        timing: this.timingView(undefined),
        pendingChange: this.pendingChange,
      }
    }
    const c = m.clusterFile
    const nodes = c.nodes.map((n) => this.nodeView(n.id))
    return {
      workspace: m.workspace,
      exists: true,
      name: c.name,
      nodes,
      leader: m.leader() ?? null,
      term: Math.max(0, ...nodes.map((n) => n.raft?.term ?? 0)),
      faults: this.faultsView(),
      timing: this.timingView(c),
      pendingChange: this.pendingChange,
    }
  }

  private slowMotion(): number {
    return this.manager.hasCluster ? (this.manager.clusterFile.slowMotion ?? 1) : 1
  }

  private requireCluster(): ClusterFile {
    return this.manager.clusterFile
  }

  /** A node that exists and was not removed; the error names what is wrong. */
  private member(id: number): void {
    const spec = this.manager.clusterFile.nodes.find((n) => n.id === id)
    if (!spec) {
      throw new Error(
        `node ${id} is not part of this cluster (nodes: ${this.knownIds().join(', ') || 'none'})`,
      )
    }
    if (spec.removed) throw new Error(`node ${id} was removed from the cluster`)
  }

  /** One membership change at a time: a second one is refused, not queued. */
  private async exclusive<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.pendingChange !== null) {
      throw new Error(`cannot start "${what}": "${this.pendingChange}" is still in progress`)
    }
    this.pendingChange = what
    this.touch()
    try {
      return await work()
    } finally {
      this.pendingChange = null
      this.touch()
    }
  }

  // ---- ClusterApi: the cluster ----

  async appInfo(...args: ApiArgs<'appInfo'>): Promise<AppInfo> {
    parseArgs('appInfo', args)
    return { name: 'RaftLab', version: pkg.version, host: this.host }
  }

  async status(...args: ApiArgs<'status'>): Promise<ClusterStatus> {
    parseArgs('status', args)
    return this.buildStatus()
  }

  async createCluster(...args: ApiArgs<'createCluster'>): Promise<ClusterStatus> {
    const [input] = parseArgs('createCluster', args)
    const t = input.timing ?? {}
    const timing = {
      tickMs: t.tickMs ?? DEFAULT_TIMING.tickMs,
      electionTicks: t.electionTicks ?? DEFAULT_TIMING.electionTicks,
      heartbeatTicks: t.heartbeatTicks ?? DEFAULT_TIMING.heartbeatTicks,
    }
    if (timing.electionTicks <= timing.heartbeatTicks) {
      throw new Error(
        `electionTicks (${timing.electionTicks}) must be greater than heartbeatTicks (${timing.heartbeatTicks})`,
      )
    }
    if (this.manager.hasCluster) {
      if (!input.replace) {
        throw new Error(
          `workspace ${this.workspace} already holds cluster "${this.manager.clusterFile.name}"; ` +
            'pass replace: true to delete it and create a new one',
        )
      }
      await this.destroy()
    }
    const c = await this.manager.create({
      nodes: input.nodes,
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.basePort !== undefined ? { basePort: input.basePort } : {}),
      timing,
      snapshotCount: t.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
      slowMotion: t.slowMotion ?? 1,
    })
    this.emit({
      kind: 'clusterCreated',
      message: `cluster "${c.name}" created with ${c.nodes.length} node(s)`,
      data: { name: c.name, nodes: c.nodes.map((n) => n.id), timing: this.timingView(c) },
    })
    if (input.start !== false) {
      await this.manager.startAll()
      await this.manager.waitForLeader(15_000 * this.slowMotion()).catch(() => {})
    }
    return this.buildStatus()
  }

  private async destroy(): Promise<void> {
    const name = this.manager.clusterFile.name
    this.stopWatch()
    this.faults = NO_FAULTS
    this.clusterTerm = 0
    this.electedTerm = 0
    this.confIndexes.clear()
    await this.manager.destroy()
    // The events go with the rest of the cluster's data, as "Delete all data?" promises: a
    // new cluster's node 3 is not the old one, and one timeline of both would mislead. The
    // boundary event keeps the numbering going, and tells every client to drop what it holds.
    this.log.clear({
      kind: 'clusterDestroyed',
      message: `cluster "${name}" destroyed; its data and its events were deleted`,
      data: { name },
    })
    this.touch()
  }

  async destroyCluster(...args: ApiArgs<'destroyCluster'>): Promise<null> {
    parseArgs('destroyCluster', args)
    if (!this.manager.hasCluster) throw new Error(`workspace ${this.workspace} has no cluster`)
    await this.destroy()
    return null
  }

  // ---- ClusterApi: supervision ----

  async startNode(...args: ApiArgs<'startNode'>): Promise<NodeView> {
    const [id] = parseArgs('startNode', args)
    this.member(id)
    // A stop asked for while the node started wins: the view says it is stopped.
    await this.manager.startNode(id).catch(unlessInterrupted)
    return this.nodeView(id)
  }

  async stopNode(...args: ApiArgs<'stopNode'>): Promise<NodeView> {
    const [id] = parseArgs('stopNode', args)
    this.member(id)
    await this.manager.stopNode(id, { handOver: true })
    return this.nodeView(id)
  }

  async killNode(...args: ApiArgs<'killNode'>): Promise<NodeView> {
    const [id] = parseArgs('killNode', args)
    this.member(id)
    await this.manager.killNode(id)
    return this.nodeView(id)
  }

  async pauseNode(...args: ApiArgs<'pauseNode'>): Promise<NodeView> {
    const [id] = parseArgs('pauseNode', args)
    this.member(id)
    this.manager.pauseNode(id)
    return this.nodeView(id)
  }

  async resumeNode(...args: ApiArgs<'resumeNode'>): Promise<NodeView> {
    const [id] = parseArgs('resumeNode', args)
    this.member(id)
    this.manager.resumeNode(id)
    return this.nodeView(id)
  }

  async restartNode(...args: ApiArgs<'restartNode'>): Promise<NodeView> {
    const [id] = parseArgs('restartNode', args)
    this.member(id)
    await this.manager.restartNode(id, { handOver: true }).catch(unlessInterrupted)
    return this.nodeView(id)
  }

  async startAll(...args: ApiArgs<'startAll'>): Promise<ClusterStatus> {
    parseArgs('startAll', args)
    await this.manager.startAll()
    return this.buildStatus()
  }

  async stopAll(...args: ApiArgs<'stopAll'>): Promise<ClusterStatus> {
    parseArgs('stopAll', args)
    await this.manager.stopAll()
    return this.buildStatus()
  }

  // ---- ClusterApi: membership ----

  private membershipHost(): membership.MembershipHost {
    return {
      manager: this.manager,
      reachable: (id, leader) =>
        this.manager.process(id).running &&
        this.manager.phase(id) !== 'paused' &&
        !blocked(this.faults, id, leader),
      progress: (p) => this.progress(p),
      slowMotion: this.slowMotion(),
    }
  }

  async addNode(...args: ApiArgs<'addNode'>): Promise<NodeView> {
    parseArgs('addNode', args)
    const id = await this.exclusive('adding a node', () =>
      membership.addNode(this.membershipHost()),
    )
    // A partition in force already treats the new node as one of its last group: say so.
    this.faults = withNewNode(this.faults, id)
    return this.nodeView(id)
  }

  async removeNode(...args: ApiArgs<'removeNode'>): Promise<ClusterStatus> {
    const [id] = parseArgs('removeNode', args)
    this.member(id)
    await this.exclusive(`removing node ${id}`, () =>
      membership.removeNode(this.membershipHost(), id),
    )
    this.faults = {
      partitions: this.faults.partitions
        .map((g) => g.filter((n) => n !== id))
        .filter((g) => g.length > 0),
      links: this.faults.links.filter((l) => l.from !== id && l.to !== id),
    }
    return this.buildStatus()
  }

  async promoteNode(...args: ApiArgs<'promoteNode'>): Promise<NodeView> {
    const [id] = parseArgs('promoteNode', args)
    this.member(id)
    await this.exclusive(`promoting node ${id}`, () =>
      membership.promoteNode(this.membershipHost(), id),
    )
    return this.nodeView(id)
  }

  async transferLeadership(...args: ApiArgs<'transferLeadership'>): Promise<ClusterStatus> {
    const [to] = parseArgs('transferLeadership', args)
    this.member(to)
    await this.exclusive(`transferring leadership to node ${to}`, async () => {
      const leader = this.manager.leader()
      if (leader === undefined) throw new Error('the cluster has no leader to hand over from')
      if (leader === to) return
      const state = this.stateOf(leader)
      if (!state?.confState.voters.includes(to)) {
        throw new Error(`node ${to} is not a voter, so it cannot lead`)
      }
      if (!this.manager.process(to).running || this.manager.phase(to) === 'paused') {
        throw new Error(`node ${to} is not running, so it cannot take over`)
      }
      const timeoutMs = 10_000 * this.slowMotion()
      try {
        await this.manager.process(leader).request({ method: 'transferLeadership', to }, timeoutMs)
      } catch (e) {
        // The leader's answer, e.g. "node 1: etcdserver: request timed out, leader transfer
        // took too long".
        throw new Error(`leadership did not move to node ${to}: ${(e as Error).message}`)
      }
      const deadline = Date.now() + timeoutMs
      while (this.manager.leader() !== to) {
        if (Date.now() > deadline) {
          throw new Error(
            `leadership did not move from node ${leader} to node ${to} within ${timeoutMs} ms`,
          )
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    })
    return this.buildStatus()
  }

  // ---- ClusterApi: faults ----

  /** Sends every running node its rules; a paused node gets them when it wakes. */
  private async setFaults(next: FaultState, message: string): Promise<FaultsView> {
    this.faults = next
    const known = this.knownIds()
    const sends = this.manager
      .nodes()
      .filter((n) => n.running)
      .map((n) => {
        const sent = this.manager
          .process(n.id)
          .request({ method: 'setFaults', rules: rulesFor(next, n.id, known) }, 10_000)
        if (this.manager.phase(n.id) !== 'paused') return sent
        // A frozen process reads its rules when it wakes; its answer is not awaited.
        sent.catch(() => {})
        return Promise.resolve(null)
      })
    const results = await Promise.allSettled(sends)
    const failed = results
      .map((r) => (r.status === 'rejected' ? (r.reason as Error).message : null))
      .filter((x): x is string => x !== null)
    this.emit({
      kind: 'faultChanged',
      message: `${message}: ${describeFaults(next)}`,
      data: { ...this.faultsView(), ...(failed.length > 0 ? { failed } : {}) },
    })
    return this.faultsView()
  }

  async partition(...args: ApiArgs<'partition'>): Promise<FaultsView> {
    const [groups] = parseArgs('partition', args)
    this.requireCluster()
    const partitions = partitionOf(groups, this.knownIds())
    return this.setFaults({ ...this.faults, partitions }, 'partition')
  }

  async isolate(...args: ApiArgs<'isolate'>): Promise<FaultsView> {
    const [id] = parseArgs('isolate', args)
    this.member(id)
    return this.setFaults(
      { ...this.faults, partitions: isolationOf(id, this.knownIds()) },
      `isolate node ${id}`,
    )
  }

  async setLinkFault(...args: ApiArgs<'setLinkFault'>): Promise<FaultsView> {
    const [input] = parseArgs('setLinkFault', args)
    this.requireCluster()
    const next = withLinkFault(this.faults, input, this.knownIds())
    return this.setFaults(next, `link ${input.from}→${input.to}`)
  }

  async heal(...args: ApiArgs<'heal'>): Promise<FaultsView> {
    parseArgs('heal', args)
    if (!this.manager.hasCluster) return this.faultsView()
    for (const id of this.manager.paused()) this.manager.resumeNode(id)
    return this.setFaults(NO_FAULTS, 'heal')
  }

  // ---- ClusterApi: timing ----

  async setTiming(...args: ApiArgs<'setTiming'>): Promise<TimingView> {
    const [t] = parseArgs('setTiming', args)
    const before = this.manager.clusterFile
    const timing = {
      tickMs: t.tickMs ?? before.timing.tickMs,
      electionTicks: t.electionTicks ?? before.timing.electionTicks,
      heartbeatTicks: t.heartbeatTicks ?? before.timing.heartbeatTicks,
    }
    if (timing.electionTicks <= timing.heartbeatTicks) {
      throw new Error(
        `electionTicks (${timing.electionTicks}) must be greater than heartbeatTicks (${timing.heartbeatTicks})`,
      )
    }
    const c = await this.manager.update((f) => ({
      ...f,
      timing,
      snapshotCount: t.snapshotCount ?? f.snapshotCount,
      slowMotion: t.slowMotion ?? f.slowMotion ?? 1,
    }))
    const live = this.manager.nodes().filter((n) => n.running)
    const failed: string[] = []
    await Promise.all(
      live.map(async (n) => {
        const p = this.manager.process(n.id)
        const sent = (async () => {
          await p.request({ method: 'setTiming', timing: effectiveTiming(c) }, 10_000)
          if (c.snapshotCount !== before.snapshotCount) {
            await p.request({ method: 'setSnapshotCount', snapshotCount: c.snapshotCount }, 10_000)
          }
        })()
        // A paused node reads the change when it wakes; its answer is not awaited.
        if (this.manager.phase(n.id) === 'paused') {
          sent.catch(() => {})
          return
        }
        await sent.catch((e: unknown) => failed.push((e as Error).message))
      }),
    )
    const view = this.timingView(c)
    this.emit({
      kind: 'timingChanged',
      message: `timing: tick ${view.tickMs} ms × ${view.slowMotion}, election ${view.electionTicks} ticks, heartbeat ${view.heartbeatTicks} ticks, snapshot every ${view.snapshotCount} entries`,
      data: { ...view, ...(failed.length > 0 ? { failed } : {}) },
    })
    return view
  }

  // ---- ClusterApi: events ----

  async events(...args: ApiArgs<'events'>): Promise<readonly ClusterEvent[]> {
    const [q] = parseArgs('events', args)
    return this.log.query(q)
  }

  async eventCounts(...args: ApiArgs<'eventCounts'>): Promise<EventCounts> {
    const [q] = parseArgs('eventCounts', args)
    return this.log.countEvents(q)
  }

  // ---- ClusterApi: logs ----

  private logSource(id: number): LogSource {
    const spec = this.manager.clusterFile.nodes.find((n) => n.id === id)
    if (!spec) {
      throw new Error(
        `node ${id} is not part of this cluster (nodes: ${this.knownIds().join(', ')})`,
      )
    }
    const p = this.manager.process(id)
    // A paused process cannot answer; its files are read instead.
    const live = p.running && this.manager.phase(id) === 'running'
    return {
      id,
      dataDir: dataDirOf(this.workspace, id),
      state: p.state,
      live: live
        ? async (lo, hi) => (await p.request({ method: 'readLog', lo, hi }, 15_000)) as unknown[]
        : null,
    }
  }

  private logSources(ids?: readonly number[]): LogSource[] {
    return (ids ?? this.manager.clusterFile.nodes.map((n) => n.id)).map((id) => this.logSource(id))
  }

  async readLog(...args: ApiArgs<'readLog'>): Promise<LogPage> {
    const [q] = parseArgs('readLog', args)
    return readLogPage(this.logSource(q.node), q)
  }

  async compareLogs(...args: ApiArgs<'compareLogs'>): Promise<LogCompare> {
    const [q] = parseArgs('compareLogs', args)
    return compareLogs(this.logSources(q.nodes), q)
  }

  private async exportPath(name: string): Promise<string> {
    const dir = join(this.workspace, 'exports')
    await mkdir(dir, { recursive: true })
    return join(dir, name)
  }

  async exportNodeLog(...args: ApiArgs<'exportNodeLog'>): Promise<ExportResult> {
    const [q] = parseArgs('exportNodeLog', args)
    const path = q.path ?? (await this.exportPath(`node-${q.node}-log-${stamp()}.${q.format}`))
    return exportNodeLog(this.logSource(q.node), q.format, path)
  }

  async exportBundle(...args: ApiArgs<'exportBundle'>): Promise<ExportResult> {
    const [q] = parseArgs('exportBundle', args)
    const status = this.buildStatus()
    const keys = status.leader !== null ? await this.keys.exportKeys().catch(() => null) : null
    return writeBundle(
      {
        workspace: this.workspace,
        sources: status.exists ? this.logSources() : [],
        status,
        keys,
        ...(q.path !== undefined ? { path: q.path } : {}),
      },
      (p) => this.progress(p),
    )
  }

  // ---- ClusterApi: keys ----

  async listKeys(...args: ApiArgs<'listKeys'>): Promise<KeyPage> {
    const [q] = parseArgs('listKeys', args)
    return this.keys.list(q).catch(plainKeyError)
  }

  async getKey(...args: ApiArgs<'getKey'>): Promise<KeyDetail> {
    const [key] = parseArgs('getKey', args)
    return this.keys.get(key).catch(plainKeyError)
  }

  async putKey(...args: ApiArgs<'putKey'>): Promise<KeyWriteResult> {
    const [input] = parseArgs('putKey', args)
    return this.keys.put(input).catch(plainKeyError)
  }

  async deleteKey(
    ...args: ApiArgs<'deleteKey'>
  ): Promise<KeyWriteResult & { readonly deleted: number }> {
    const [input] = parseArgs('deleteKey', args)
    return this.keys.delete(input).catch(plainKeyError)
  }

  async importKeys(...args: ApiArgs<'importKeys'>): Promise<ImportResult> {
    const [dump] = parseArgs('importKeys', args)
    return this.keys.importKeys(dump, (p) => this.progress(p)).catch(plainKeyError)
  }

  async exportKeys(...args: ApiArgs<'exportKeys'>): Promise<KeyDump> {
    const [q] = parseArgs('exportKeys', args)
    return this.keys.exportKeys(q.prefix).catch(plainKeyError)
  }
}

function raftView(s: NodeState): RaftStateView {
  return {
    role: s.role,
    term: s.term,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    lastIndex: s.lastIndex,
    snapshotIndex: s.snapshotIndex,
    voters: s.confState.voters,
    learners: s.confState.learners,
    revision: s.revision,
  }
}
