// A test cluster's node logs as the service reads them: live over the control channel while
// the node runs, from its data directory when it is stopped.

import { expect } from 'vitest'
import type { LogSource } from '../../src/main/cluster/logs'
import { dataDirOf } from '../../src/main/cluster/workspace'
import { eventually, type TestCluster } from './cluster'

export function logSource(cluster: TestCluster, id: number): LogSource {
  const p = cluster.manager.process(id)
  return {
    id,
    dataDir: dataDirOf(cluster.workspace, id),
    state: p.state,
    live: p.running
      ? async (lo, hi) => (await p.request({ method: 'readLog', lo, hi })) as unknown[]
      : null,
  }
}

/**
 * Waits until every node has applied the leader's last entry, so their logs can be compared, and
 * until the manager's copy of each node's state says so (nodes report index moves at most every
 * 50 ms, so the copy may trail the node by that much).
 */
export async function allApplied(cluster: TestCluster): Promise<void> {
  const leader = await cluster.leader()
  const fresh = (await cluster.manager.process(leader).request({ method: 'state' })) as {
    lastIndex: number
  }
  const last = fresh.lastIndex
  await eventually(async () => {
    for (const n of cluster.manager.nodes()) {
      const state = cluster.manager.process(n.id).state
      expect(state?.applied).toBeGreaterThanOrEqual(last)
      expect(state?.commit).toBeGreaterThanOrEqual(last)
    }
  })
}
