// The cluster manager: owns a workspace, starts and stops the node processes of its cluster,
// and follows their state. Electron, the browser bridge and the CLI all drive clusters through
// it; it imports nothing of Electron.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatInitialCluster } from '../node/config'
import type { NodeEvent, NodeState } from '../node/raftnode'
import { NodeProcess, type NodeExit } from './nodeprocess'
import {
  dataDirOf,
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
  private unlock: (() => Promise<void>) | undefined
  onExit: (e: NodeExit) => void = () => {}
  onState: (id: number, s: NodeState) => void = () => {}
  onEvent: (id: number, e: NodeEvent) => void = () => {}

  private constructor(
    readonly workspace: string,
    private cluster: ClusterFile,
    private readonly nodeEntry: string,
  ) {}

  /**
   * Opens the workspace's cluster, creating it from `create` when the workspace has none.
   * Refuses a workspace another manager holds.
   */
  static async open(opts: ManagerOptions, create?: NewClusterOptions): Promise<ClusterManager> {
    const entry = opts.nodeEntry ?? defaultNodeEntry()
    if (!existsSync(entry)) {
      throw new Error(`the node program ${entry} does not exist; run \`npm run build\` first`)
    }
    const unlock = await lockWorkspace(opts.workspace)
    try {
      let cluster = await readClusterFile(opts.workspace)
      if (!cluster) {
        cluster = await newClusterFile(create ?? { nodes: 3 })
        await writeClusterFile(opts.workspace, cluster)
      }
      const m = new ClusterManager(opts.workspace, cluster, entry)
      m.unlock = unlock
      return m
    } catch (e) {
      await unlock()
      throw e
    }
  }

  get clusterFile(): ClusterFile {
    return this.cluster
  }

  private proc(id: number): NodeProcess {
    let p = this.procs.get(id)
    if (p) return p
    const spec = this.cluster.nodes.find((n) => n.id === id)
    if (!spec) throw new Error(`node ${id} is not part of this cluster`)
    const founders = this.cluster.nodes.filter((n) => !n.join)
    p = new NodeProcess({
      id,
      dataDir: dataDirOf(this.workspace, id),
      entry: this.nodeEntry,
      config: {
        id,
        name: spec.name,
        clusterName: this.cluster.name,
        dataDir: dataDirOf(this.workspace, id),
        peerAddr: spec.peer,
        clientAddr: spec.client,
        initialCluster: formatInitialCluster(founders),
        join: spec.join,
        snapshotCount: this.cluster.snapshotCount,
        ...this.cluster.timing,
      },
    })
    p.onState = (s) => this.onState(id, s)
    p.onExit = (e) => this.onExit(e)
    p.onEvent = (e) => this.onEvent(id, e)
    this.procs.set(id, p)
    return p
  }

  async startNode(id: number): Promise<void> {
    await this.proc(id).start()
  }

  async startAll(): Promise<void> {
    await Promise.all(this.cluster.nodes.map((n) => this.startNode(n.id)))
  }

  async stopNode(id: number): Promise<NodeExit | undefined> {
    return this.procs.get(id)?.stop()
  }

  async killNode(id: number): Promise<NodeExit | undefined> {
    return this.procs.get(id)?.kill()
  }

  nodes(): NodeInfo[] {
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

  /** The id of the node that a majority of running nodes follow, once there is one. */
  leader(): number | undefined {
    const running = this.nodes().filter((n) => n.running && n.state)
    const leaders = running.filter((n) => n.state?.role === 'leader')
    for (const l of leaders) {
      const term = l.state?.term
      const voters = l.state?.confState.voters ?? []
      const followers = running.filter(
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

  /** Stops every node gracefully and releases the workspace. */
  async close(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop()))
    await this.unlock?.()
    this.unlock = undefined
  }
}
