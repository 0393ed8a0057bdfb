// etcd's strict reconfiguration check on real node processes, through etcd's Cluster API: with
// a voter down, a change that would leave fewer voters up than a majority of the new
// configuration is refused with etcd's error before it is proposed, and nothing changes.

import { afterEach, describe, expect, it } from 'vitest'
import { removeWorkspace, startCluster, type TestCluster } from '../support/cluster'

let cluster: TestCluster | undefined

afterEach(async () => {
  const c = cluster
  cluster = undefined
  if (!c) return
  await c.close()
  await removeWorkspace(c.workspace)
})

describe('strict reconfiguration check', () => {
  it('with one of three voters down, refuses what would lose quorum and allows the rest', async () => {
    const c = await startCluster()
    cluster = c
    const leader = await c.leader()
    const [down, up] = c.manager
      .nodes()
      .map((n) => n.id)
      .filter((id) => id !== leader) as [number, number]
    await c.manager.killNode(down)
    // A client per call: etcd3's circuit breaker shuts a host out after an Unavailable error,
    // and "unhealthy cluster" is one.
    const api = () => c.client(leader).cluster
    const ids = async (): Promise<number[]> =>
      (await api().memberList({})).members.map((m) => Number(m.ID)).sort()

    // The leader counts a voter as down once it has not heard from it for two election
    // timeouts (800 ms at the tests' timing).
    await new Promise((r) => setTimeout(r, 2000))
    // A fourth voter would need 3 of 4 up; only 2 are.
    await expect(
      api().memberAdd({ peerURLs: ['http://127.0.0.1:1'], isLearner: false }),
    ).rejects.toThrow('etcdserver: unhealthy cluster')
    // Removing the other live voter would leave 1 of 2 up.
    await expect(api().memberRemove({ ID: String(up) })).rejects.toThrow(
      'etcdserver: unhealthy cluster',
    )
    expect(await ids()).toEqual([1, 2, 3])

    // A learner never counts towards a majority: added. (Promoting it is refused first for
    // not being in sync, as by etcd: it does not run.)
    const added = await api().memberAdd({ peerURLs: ['http://127.0.0.1:2'], isLearner: true })
    const learner = Number(added.member.ID)
    await expect(api().memberPromote({ ID: String(learner) })).rejects.toThrow(
      'etcdserver: can only promote a learner member which is in sync with leader',
    )
    // Removing a learner, or a voter that is down, cannot cost the majority.
    await api().memberRemove({ ID: String(learner) })
    await api().memberRemove({ ID: String(down) })
    expect(await ids()).toEqual([leader, up].sort())
    await c.client(leader).put('still').value('writable')
    expect(await c.client(up).get('still').string()).toBe('writable')
  }, 60_000)
})
