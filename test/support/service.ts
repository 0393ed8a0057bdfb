// ClusterService on real node processes for tests: temporary workspaces, services and etcd
// clients opened through one scope, all closed and removed after each test even when it fails.

import { Etcd3 } from 'etcd3'
import { afterEach } from 'vitest'
import { ClusterService } from '../../src/main/cluster/service'
import type { AppInfo, ClusterStatus } from '../../src/shared/api'
import { eventually, NODE_ENTRY, removeWorkspace, tempWorkspace, TEST_TIMING } from './cluster'

export interface ServiceScope {
  /** A new empty workspace, removed after the test. */
  workspace(): Promise<string>
  /** A service on `workspace`, closed after the test unless `close` came first. */
  open(workspace: string, host?: AppInfo['host']): Promise<ClusterService>
  /** A service on a new workspace with a running cluster of `nodes` that has elected a leader. */
  cluster(nodes: number): Promise<ClusterService>
  /** Closes `s` now (a test that reopens its workspace) and forgets it. */
  close(s: ClusterService): Promise<void>
  /** An etcd client of one node's client endpoint, closed after the test. */
  client(endpoint: string): Etcd3
}

/** Call at the top of a test file: the scope's cleanup runs after each test of that file. */
export function serviceScope(): ServiceScope {
  const services: ClusterService[] = []
  const clients: Etcd3[] = []
  const workspaces: string[] = []

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    for (const s of services.splice(0)) await s.close()
    for (const w of workspaces.splice(0)) await removeWorkspace(w)
  }, 60_000)

  const scope: ServiceScope = {
    workspace: async () => {
      const w = await tempWorkspace()
      workspaces.push(w)
      return w
    },
    open: async (workspace, host = 'cli') => {
      const s = await ClusterService.open({ workspace, nodeEntry: NODE_ENTRY, host })
      services.push(s)
      return s
    },
    cluster: async (nodes) => {
      const s = await scope.open(await scope.workspace())
      const st = await s.createCluster({ nodes, timing: TEST_TIMING })
      if (st.leader === null) throw new Error(`a new cluster of ${nodes} has no leader`)
      return s
    },
    close: async (s) => {
      const i = services.indexOf(s)
      if (i >= 0) services.splice(i, 1)
      await s.close()
    },
    client: (endpoint) => {
      const c = new Etcd3({ hosts: [`http://${endpoint}`], dialTimeout: 2000 })
      clients.push(c)
      return c
    },
  }
  return scope
}

/** One node's row of a status, or an error naming the node that is missing. */
export function nodeOf(st: ClusterStatus, id: number): ClusterStatus['nodes'][number] {
  const n = st.nodes.find((x) => x.id === id)
  if (!n) throw new Error(`no node ${id} in status`)
  return n
}

/** The leader the service reports once there is one other than `not` (if given). */
export async function leaderOf(s: ClusterService, not?: number): Promise<number> {
  return eventually(async () => {
    const l = (await s.status()).leader
    if (l === null || l === not) throw new Error(`leader is still ${l}`)
    return l
  }, 15_000)
}
