// Membership through the service on real node processes: adding a node (learner, catch-up,
// promotion) while another node is down, removing the leader, promotion and refusals that
// name their reason (quorum, a change in flight, a node that is not a learner).

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Progress } from '../../src/shared/api'
import { dataDirOf, readClusterFile } from '../../src/main/cluster/workspace'
import { eventually } from '../support/cluster'
import { leaderOf, nodeOf, serviceScope } from '../support/service'

const { cluster, client } = serviceScope()

describe('membership', { timeout: 120_000 }, () => {
  it('adds a node while another is down: learner, caught up, promoted, serving data', async () => {
    const s = await cluster(3)
    const leader = await leaderOf(s)
    const leaderClient = nodeOf(await s.status(), leader).client
    for (let i = 0; i < 20; i++) await client(leaderClient).put(`/pre/${i}`).value(`v${i}`)
    const down = [1, 2, 3].find((id) => id !== leader) ?? 0
    await s.stopNode(down)

    const progress: Progress[] = []
    s.on('progress', (p) => progress.push(p))
    const added = await s.addNode()
    expect(added.id).toBe(4)
    expect(added.process).toBe('running')
    expect(added.member).toBe('voter')
    expect(progress.map((p) => p.done)).toEqual(
      [...progress.map((p) => p.done)].sort((a, b) => a - b),
    )
    expect(progress.at(-1)).toMatchObject({ task: 'add node', done: 4, total: 4 })

    // The new node holds the data written before it joined.
    const v = await eventually(
      () => client(added.client).get('/pre/19').serializable(true).string(),
      15_000,
    )
    expect(v).toBe('v19')
    const file = await readClusterFile(s.workspace)
    expect(file?.nodes.find((n) => n.id === 4)).toMatchObject({ join: true, client: added.client })
    const events = await s.events({ kinds: ['membershipChanged'] })
    const last = events.at(-1)?.data as { voters: number[] } | undefined
    expect(last?.voters).toEqual([1, 2, 3, 4])
    await eventually(async () => {
      expect(nodeOf(await s.status(), leader).raft?.voters).toEqual([1, 2, 3, 4])
    })
    // The added node can lead, and a follower forwards writes to it: the members know its
    // client address although MemberAdd carried only its peer URL.
    const moved = await s.transferLeadership(4)
    expect(moved.leader).toBe(4)
    await client(nodeOf(moved, leader).client).put('/via-follower').value('ok')
    expect(await client(added.client).get('/via-follower').string()).toBe('ok')
  })

  it('removes the leader: the rest elect a new one and the removed node is marked', async () => {
    const s = await cluster(3)
    const leader = await leaderOf(s)
    const after = await s.removeNode(leader)
    expect(nodeOf(after, leader)).toMatchObject({ member: 'removed', process: 'stopped' })
    const next = await leaderOf(s)
    expect(next).not.toBe(leader)
    const st = await s.status()
    expect(nodeOf(st, next).raft?.voters).toEqual([1, 2, 3].filter((id) => id !== leader))
    // The two remaining voters still commit writes.
    await client(nodeOf(st, next).client).put('after-removal').value('ok')
    await expect(s.startNode(leader)).rejects.toThrow(/removed/)
    const file = await readClusterFile(s.workspace)
    expect(file?.nodes.find((n) => n.id === leader)?.removed).toBe(true)
  })

  it('refuses a removal that would lose quorum, and a second change in flight', async () => {
    const s = await cluster(3)
    const leader = await leaderOf(s)
    const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number]
    await s.stopNode(a)
    // Removing b leaves voters {leader, a}, of which only the leader runs: no majority.
    await expect(s.removeNode(b)).rejects.toThrow(/lose quorum/)
    await s.startNode(a)

    const adding = s.addNode()
    await expect(s.removeNode(b)).rejects.toThrow(/adding a node.*in progress/)
    expect((await s.status()).pendingChange).toBe('adding a node')
    await adding
    expect((await s.status()).pendingChange).toBeNull()
    await expect(s.promoteNode(b)).rejects.toThrow(/already a voter/)
    await expect(s.removeNode(99)).rejects.toThrow(/node 99 is not part of this cluster/)
  })

  it('stopping the leader hands leadership to another voter first, as etcd does', async () => {
    const s = await cluster(3)
    const leader = await leaderOf(s)
    const leaderClient = nodeOf(await s.status(), leader).client
    await client(leaderClient).put('/before-stop').value('x')
    await s.stopNode(leader)
    const log = (await readFile(join(dataDirOf(s.workspace, leader), 'node.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; to?: number })
    const handed = log.find((l) => l.msg === 'handing leadership over before stopping')
    expect(handed?.to).toBeGreaterThan(0)
    expect(log.some((l) => l.msg.startsWith('leadership was not handed over'))).toBe(false)
    // The node it chose leads: no election picked between the two survivors.
    expect(await leaderOf(s, leader)).toBe(handed?.to)
    // Stopping a follower hands nothing over.
    const follower = [1, 2, 3].find((id) => id !== leader && id !== handed?.to) ?? 0
    await s.stopNode(follower)
    const flog = await readFile(join(dataDirOf(s.workspace, follower), 'node.log'), 'utf8')
    expect(flog).not.toContain('handing leadership over')
  })

  it('transfers leadership to a chosen voter', async () => {
    const s = await cluster(3)
    const leader = await leaderOf(s)
    const target = [1, 2, 3].find((id) => id !== leader) ?? 0
    const st = await s.transferLeadership(target)
    expect(st.leader).toBe(target)
    await expect(s.transferLeadership(42)).rejects.toThrow(/node 42 is not part/)
  })
})
