// Real clusters for tests: node processes of out/main/node.js in a temporary workspace, on
// ports the OS says are free, always stopped and removed afterwards.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Etcd3 } from 'etcd3'
import { ClusterManager } from '../../src/main/cluster/manager'
import type { NewClusterOptions } from '../../src/main/cluster/workspace'

export const ROOT = resolve(import.meta.dirname, '../..')
export const NODE_ENTRY = join(ROOT, 'out/main/node.js')
export const CLI_ENTRY = join(ROOT, 'out/main/cli.js')

export interface TestCluster {
  readonly manager: ClusterManager
  readonly workspace: string
  /** A client of one node (serializable reads there show that node's own state). */
  client(id: number): Etcd3
  /** A client of every node. */
  all(): Etcd3
  endpoints(): string[]
  leader(): Promise<number>
  close(): Promise<void>
}

export async function tempWorkspace(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'raftlab-test-'))
}

/**
 * Tests run several clusters side by side on two cores: a 40 ms tick (elections after
 * 400-800 ms) keeps a busy moment from being taken for a dead leader.
 */
export const TEST_TIMING = { tickMs: 40 }

export async function startCluster(opts: Partial<NewClusterOptions> = {}): Promise<TestCluster> {
  const workspace = await tempWorkspace()
  return openCluster(workspace, { nodes: 3, timing: TEST_TIMING, ...opts })
}

export async function openCluster(
  workspace: string,
  create: NewClusterOptions,
): Promise<TestCluster> {
  const manager = await ClusterManager.open({ workspace, nodeEntry: NODE_ENTRY }, create)
  const clients: Etcd3[] = []
  const make = (hosts: string[]): Etcd3 => {
    const c = new Etcd3({ hosts, dialTimeout: 2000 })
    clients.push(c)
    return c
  }
  const c: TestCluster = {
    manager,
    workspace,
    client: (id) => {
      const n = manager.nodes().find((x) => x.id === id)
      if (!n) throw new Error(`no node ${id}`)
      return make([`http://${n.client}`])
    },
    all: () => make(c.endpoints().map((e) => `http://${e}`)),
    endpoints: () => manager.nodes().map((n) => n.client),
    leader: () => manager.waitForLeader(10_000),
    close: async () => {
      for (const cl of clients) cl.close()
      await manager.close()
    },
  }
  try {
    await manager.startAll()
    await manager.waitForLeader(10_000)
  } catch (e) {
    await c.close()
    throw e
  }
  return c
}

export async function removeWorkspace(workspace: string): Promise<void> {
  await rm(workspace, { recursive: true, force: true })
}

/** Retries `f` until it stops throwing, for reads that must wait for a node to catch up. */
export async function eventually<T>(f: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await f()
    } catch (e) {
      if (Date.now() > deadline) throw e
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
