// The cluster manager: owns a workspace, starts, stops, kills, pauses and resumes the node
// processes of its cluster, and follows their state. The ClusterService builds membership,
// faults, timing and events on top of it; the CLI's `up` uses it alone. It imports nothing of
// Electron.

import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatInitialCluster, type MemberAddress } from '../node/config'
import type { NodeEvent, NodeState } from '../node/raftnode'
import type { FaultRules } from '../node/transport/faults'
import { NodeProcess, type NodeExit, type NodeLaunch } from './nodeprocess'
import {
  clusterFilePath,
  dataDirOf,
  effectiveTiming,
  lockWorkspace,
  newClusterFile,
  readClusterFile,
  writeClusterFile,
  type ClusterFile,
  type NewClusterOptions,
} from './workspace'

export interface ManagerOptions {
  readonly workspace: string
  /** out/main/node.js; defaults to the node.js next to this bundle. */
  readonly nodeEntry?: string
}

/** What the manager knows of a node's process. */
export type ProcessPhase = 'running' | 'paused' | 'stopped' | 'starting' | 'stopping'

/** Why a process ended: asked to stop, killed on purpose, or on its own (a crash, a removal). */
export type ExitCause = 'stop' | 'kill' | 'self'

/**
 * A start ended by a stop or kill asked for while the node was starting (Stop all during Start
 * all): the node is stopped as asked, which is no failure of the start to report.
 */
export class StartInterrupted extends Error {}

/** Lets a start that a requested stop or kill ended pass as done; other failures go on. */
export function unlessInterrupted(e: unknown): void {
  if (!(e instanceof StartInterrupted)) throw e
}

export interface ManagedExit extends NodeExit {
  readonly cause: ExitCause
  readonly at: number
}

export interface NodeInfo {
  readonly id: number
  readonly name: string
  readonly pid: number | undefined
  readonly client: string
  readonly peer: string
  readonly running: boolean
  readonly state: NodeState | undefined
}

export function defaultNodeEntry(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'node.js')
}

export class ClusterManager {
  private readonly procs = new Map<number, NodeProcess>()
  private readonly phases = new Map<number, ProcessPhase>()
  private readonly causes = new Map<number, ExitCause>()
  private readonly exits = new Map<number, ManagedExit>()
  private unlock: (() => Promise<void>) | undefined
  private closing = false
  private writes: Promise<unknown> = Promise.resolve()
  onExit: (e: ManagedExit) => void = () => {}
  onState: (id: number, s: NodeState) => void = () => {}
  onEvent: (id: number, e: NodeEvent) => void = () => {}
  /** A node's process changed phase (starting, running, paused, …). */
  onPhase: (id: number, phase: ProcessPhase) => void = () => {}
  /** The fault rules a node must get as soon as it serves (none by default). */
  faultRulesFor: (id: number) => FaultRules = () => []

  private constructor(
    readonly workspace: string,
    private cluster: ClusterFile | undefined,
    private readonly nodeEntry: string,
  ) {}

  /**
   * Opens the workspace's cluster, creating it from `create` when the workspace has none.
   * Refuses a workspace another manager holds.
   */
  static async open(opts: ManagerOptions, create?: NewClusterOptions): Promise<ClusterManager> {
    const m = await ClusterManager.openWorkspace(opts)
    if (!m.cluster) {
      try {
        await m.create(create ?? { nodes: 3 })
      } catch (e) {
        await m.close()
        throw e
      }
    }
    return m
  }

  /** Opens and locks a workspace that may hold no cluster yet. */
  static async openWorkspace(opts: ManagerOptions): Promise<ClusterManager> {
    const entry = opts.nodeEntry ?? defaultNodeEntry()
    if (!existsSync(entry)) {
      throw new Error(`the node program ${entry} does not exist; run \`npm run build\` first`)
    }
    const unlock = await lockWorkspace(opts.workspace)
    try {
      const cluster = await readClusterFile(opts.workspace)
      const m = new ClusterManager(opts.workspace, cluster, entry)
      m.unlock = unlock
      return m
    } catch (e) {
      await unlock()
      throw e
    }
  }

  get hasCluster(): boolean {
    return this.cluster !== undefined
  }

  get clusterFile(): ClusterFile {
    if (!this.cluster) {
      throw new Error(`workspace ${this.workspace} has no cluster yet: create one first`)
    }
    return this.cluster
  }

  /** Writes a new cluster.json. The workspace must hold no cluster (destroy it first). */
  async create(opts: NewClusterOptions): Promise<ClusterFile> {
    if (this.cluster) {
      throw new Error(`workspace ${this.workspace} already holds cluster "${this.cluster.name}"`)
    }
    const c = await newClusterFile(opts)
    // Data left behind by an earlier cluster would make the new nodes rejoin an old log.
    await rm(join(this.workspace, 'nodes'), { recursive: true, force: true })
    await writeClusterFile(this.workspace, c)
    this.cluster = c
    return c
  }

  /** Stops every node and deletes cluster.json and the nodes' data. */
  async destroy(): Promise<void> {
    await this.stopAll()
    this.procs.clear()
    this.phases.clear()
    this.exits.clear()
    this.cluster = undefined
    await this.writes.catch(() => {})
    await rm(clusterFilePath(this.workspace), { force: true })
    await rm(join(this.workspace, 'nodes'), { recursive: true, force: true })
  }

  /** Changes cluster.json; writes are serialized so a later change never loses to an earlier. */
  update(change: (c: ClusterFile) => ClusterFile): Promise<ClusterFile> {
    const next = change(this.clusterFile)
    this.cluster = next
    const write = this.writes.then(() => writeClusterFile(this.workspace, next))
    this.writes = write.catch(() => {})
    return write.then(() => next)
  }

  private launchOf(id: number): NodeLaunch {
    const c = this.clusterFile
    const spec = c.nodes.find((n) => n.id === id)
    if (!spec) throw new Error(`node ${id} is not part of this cluster`)
    // A joining node is told every current member: it must reach whichever node leads.
    const founders = spec.join ? c.nodes.filter((n) => !n.removed) : c.nodes.filter((n) => !n.join)
    const dataDir = dataDirOf(this.workspace, id)
    return {
      id,
      dataDir,
      entry: this.nodeEntry,
      config: {
        id,
        name: spec.name,
        clusterName: c.name,
        dataDir,
        peerAddr: spec.peer,
        clientAddr: spec.client,
        initialCluster: formatInitialCluster(founders),
        join: spec.join,
        ...(spec.hasRun ? { hasRun: true } : {}),
        snapshotCount: c.snapshotCount,
        ...effectiveTiming(c),
      },
    }
  }

  /** The process object of a node (created on first use; it may not be running). */
  process(id: number): NodeProcess {
    let p = this.procs.get(id)
    if (p) return p
    p = new NodeProcess(this.launchOf(id))
    p.onState = (s) => {
      if (s.term > 0 || s.lastIndex > 0) this.markRun(id)
      this.onState(id, s)
    }
    p.onEvent = (e) => this.onEvent(id, e)
    p.onExit = (e) => this.exited(e)
    this.procs.set(id, p)
    return p
  }

  /**
   * Records in cluster.json that node `id` holds state it must not lose (a term, a log entry):
   * from then on it may not start from an empty data directory. Not at its first start: a node
   * added to the cluster holds nothing until the leader first reaches it, and one restarted
   * before that lost nothing.
   */
  private markRun(id: number): void {
    if (this.marking.has(id) || this.clusterFile.nodes.find((n) => n.id === id)?.hasRun) return
    this.marking.add(id)
    void this.update((c) => ({
      ...c,
      nodes: c.nodes.map((n) => (n.id === id ? { ...n, hasRun: true } : n)),
    }))
      .catch(() => {})
      .finally(() => this.marking.delete(id))
  }

  private readonly marking = new Set<number>()

  phase(id: number): ProcessPhase {
    return this.phases.get(id) ?? 'stopped'
  }

  lastExit(id: number): ManagedExit | undefined {
    return this.exits.get(id)
  }

  private setPhase(id: number, phase: ProcessPhase): void {
    if (this.phases.get(id) === phase) return
    this.phases.set(id, phase)
    this.onPhase(id, phase)
  }

  private exited(e: NodeExit): void {
    const cause = this.causes.get(e.id) ?? 'self'
    this.causes.delete(e.id)
    const exit: ManagedExit = { ...e, cause, at: Date.now() }
    this.exits.set(e.id, exit)
    this.setPhase(e.id, 'stopped')
    if (!this.closing && this.cluster) void this.recordRunning().catch(() => {})
    this.onExit(exit)
  }

  /** cluster.json remembers which nodes run, so a reopened workspace restarts them. */
  private recordRunning(): Promise<ClusterFile> {
    const running = this.clusterFile.nodes
      .map((n) => n.id)
      .filter((id) => this.procs.get(id)?.running)
    return this.update((c) => ({ ...c, running }))
  }

  async startNode(id: number): Promise<void> {
    const spec = this.clusterFile.nodes.find((n) => n.id === id)
    if (!spec) throw new Error(`node ${id} is not part of this cluster`)
    if (spec.removed) throw new Error(`node ${id} was removed from the cluster; add a new node`)
    const p = this.process(id)
    if (p.running) return
    // Timing and addresses may have changed since the last start.
    p.launch = this.launchOf(id)
    this.setPhase(id, 'starting')
    const before = this.exits.get(id)
    try {
      await p.start()
    } catch (e) {
      this.setPhase(id, 'stopped')
      // The exit of this start is recorded (with its cause) before the start's promise settles.
      const exit = this.exits.get(id)
      if (exit !== undefined && exit !== before && exit.cause !== 'self') {
        throw new StartInterrupted(
          `node ${id} was ${exit.cause === 'kill' ? 'killed' : 'stopped'} as asked before it was ready`,
        )
      }
      throw e
    }
    this.setPhase(id, 'running')
    const rules = this.faultRulesFor(id)
    if (rules.length > 0) await p.request({ method: 'setFaults', rules }).catch(() => {})
    await p.request({ method: 'learnMemberAddresses', members: this.addresses() }).catch(() => {})
    await this.recordRunning()
  }

  /** Every member's addresses as cluster.json has them. */
  addresses(): MemberAddress[] {
    return this.clusterFile.nodes
      .filter((n) => !n.removed)
      .map((n) => ({ id: n.id, name: n.name, peer: n.peer, client: n.client }))
  }

  /** Tells the running nodes of a member they may not know the client address of. */
  async announceAddresses(): Promise<void> {
    const members = this.addresses()
    await Promise.all(
      [...this.procs]
        .filter(([id, p]) => p.running && this.phase(id) === 'running')
        .map(([, p]) => p.request({ method: 'learnMemberAddresses', members }).catch(() => {})),
    )
  }

  /** Starts every member; one stopped or killed on request meanwhile is simply left stopped. */
  async startAll(): Promise<void> {
    await Promise.all(
      this.clusterFile.nodes
        .filter((n) => !n.removed)
        .map((n) => this.startNode(n.id).catch(unlessInterrupted)),
    )
  }

  /**
   * Graceful stop; a paused process is resumed first so it can shut down cleanly. `handOver`:
   * a leader first hands leadership to another voter, as etcd's do when stopped; off when the
   * whole cluster stops.
   */
  async stopNode(id: number, opts: { handOver?: boolean } = {}): Promise<ManagedExit | undefined> {
    const p = this.procs.get(id)
    if (!p?.running) return undefined
    this.causes.set(id, 'stop')
    if (this.phase(id) === 'paused') p.signal('SIGCONT')
    this.setPhase(id, 'stopping')
    await p.stop(undefined, opts.handOver === true)
    // cluster.json says it no longer runs before this returns (an export right after a stop).
    await this.writes
    return this.exits.get(id)
  }

  async killNode(id: number): Promise<ManagedExit | undefined> {
    const p = this.procs.get(id)
    if (!p?.running) return undefined
    this.causes.set(id, 'kill')
    await p.kill()
    await this.writes
    return this.exits.get(id)
  }

  /** SIGSTOP: the process freezes with its sockets open, as a node stuck in a long pause. */
  pauseNode(id: number): void {
    const p = this.procs.get(id)
    if (!p?.running) throw new Error(`node ${id} is not running, so it cannot be paused`)
    if (this.phase(id) === 'paused') return
    p.signal('SIGSTOP')
    this.setPhase(id, 'paused')
  }

  resumeNode(id: number): void {
    const p = this.procs.get(id)
    if (!p?.running) throw new Error(`node ${id} is not running, so it cannot be resumed`)
    if (this.phase(id) !== 'paused') return
    p.signal('SIGCONT')
    this.setPhase(id, 'running')
  }

  async restartNode(id: number, opts: { handOver?: boolean } = {}): Promise<void> {
    await this.stopNode(id, opts)
    await this.startNode(id)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.stopNode(id)))
  }

  paused(): number[] {
    return [...this.phases].filter(([, p]) => p === 'paused').map(([id]) => id)
  }

  nodes(): NodeInfo[] {
    if (!this.cluster) return []
    return this.cluster.nodes.map((n) => {
      const p = this.procs.get(n.id)
      return {
        id: n.id,
        name: n.name,
        pid: p?.running ? p.pid : undefined,
        client: n.client,
        peer: n.peer,
        running: p?.running ?? false,
        state: p?.state,
      }
    })
  }

  /**
   * The id of the node that a majority of its voters follow, among running nodes that are not
   * paused (a frozen leader's last report still says "leader").
   */
  leader(): number | undefined {
    const live = this.nodes().filter((n) => n.running && n.state && this.phase(n.id) !== 'paused')
    const leaders = live.filter((n) => n.state?.role === 'leader')
    for (const l of leaders) {
      const term = l.state?.term
      const voters = l.state?.confState.voters ?? []
      const followers = live.filter(
        (n) => voters.includes(n.id) && n.state?.leader === l.id && n.state.term === term,
      )
      if (followers.length * 2 > voters.length) return l.id
    }
    return undefined
  }

  async waitForLeader(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const l = this.leader()
      if (l !== undefined) return l
      if (Date.now() > deadline) {
        throw new Error(`no leader was elected within ${timeoutMs} ms`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /**
   * Stops every node gracefully and releases the workspace. cluster.json keeps the set of
   * nodes that were running, for the next open.
   */
  async close(): Promise<void> {
    this.closing = true
    for (const [id, p] of this.procs) {
      if (p.running && this.phase(id) === 'paused') p.signal('SIGCONT')
    }
    await Promise.all([...this.procs.keys()].map((id) => this.stopNode(id)))
    await this.writes.catch(() => {})
    await this.unlock?.()
    this.unlock = undefined
  }
}
