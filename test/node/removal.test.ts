// Removing the leader from a cluster of real node processes through etcd's MemberRemove: the
// old leader must commit and apply its own removal, answer the call, shut itself down, and
// leave the others a cluster that elects a leader among themselves and keeps taking writes.

import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/main/node/raftnode'
import { eventually, removeWorkspace, startCluster, type TestCluster } from '../support/cluster'

interface LogLine {
  readonly msg: string
  readonly role?: string
  readonly change?: { readonly type: string; readonly nodeId: number }
}

let cluster: TestCluster | undefined

afterEach(async () => {
  const c = cluster
  cluster = undefined
  if (!c) return
  await c.close()
  await removeWorkspace(c.workspace)
})

describe('removing the leader through MemberRemove', () => {
  it('the old leader applies its removal and exits on its own; the others elect a leader and keep serving writes', async () => {
    const c = await startCluster()
    cluster = c
    const events: NodeEvent[] = []
    const old = await c.leader()
    c.manager.onEvent = (id, e) => {
      if (id === old) events.push(e)
    }
    const rest = c.manager
      .nodes()
      .map((n) => n.id)
      .filter((id) => id !== old)
    await c.client(old).put('before').value('1')

    // Asked of the leader itself: it answers once it has applied the change.
    const answer = await c.client(old).cluster.memberRemove({ ID: String(old) })
    expect(answer.members.map((m) => Number(m.ID)).sort()).toEqual(rest)

    // Nobody stops it: it shuts itself down once the removal is applied.
    await eventually(async () => {
      if (c.manager.process(old).running) throw new Error(`node ${old} is still running`)
    }, 15_000)
    expect(c.manager.lastExit(old)).toMatchObject({ cause: 'self', code: 0 })
    expect(events.map((e) => e.type)).toContain('removed')
    const lines = (await readFile(c.manager.process(old).logFile, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LogLine)
    expect(
      lines.some(
        (l) =>
          l.msg === 'membership change committed' &&
          l.change?.type === 'removeNode' &&
          l.change.nodeId === old,
      ),
    ).toBe(true)
    // It never tried to lead again after handing over.
    const removedAt = lines.findIndex((l) => l.msg.startsWith('this node was removed'))
    expect(removedAt).toBeGreaterThan(-1)
    const rolesAfter = lines.slice(removedAt).filter((l) => l.msg === 'role changed')
    expect(rolesAfter.map((l) => l.role)).toEqual(['follower'])

    // The survivors lead themselves, agree on the new membership and take writes.
    const next = await c.leader()
    expect(rest).toContain(next)
    await eventually(() => c.client(next).put('after').value('2').exec(), 15_000)
    for (const id of rest) {
      await eventually(async () => {
        expect(await c.client(id).get('after').serializable(true).string()).toBe('2')
        expect(await c.client(id).get('before').serializable(true).string()).toBe('1')
      }, 10_000)
      expect(c.manager.nodes().find((n) => n.id === id)?.state?.confState).toEqual({
        voters: rest,
        learners: [],
      })
    }
  }, 60_000)
})

describe('a removed member that never heard of its removal', () => {
  it('is told by the members when it connects and shuts down, after their restart too', async () => {
    // Snapshots every 10 entries: the survivors restart from one that must carry the removal.
    const c = await startCluster({ snapshotCount: 10 })
    cluster = c
    const leader = await c.leader()
    const [gone, kept] = c.manager
      .nodes()
      .map((n) => n.id)
      .filter((id) => id !== leader) as [number, number]
    await c.client(leader).put('before').value('1')

    // Frozen while it is removed, it cannot receive the removal: it resumes as a member in its
    // own eyes, in a cluster that no longer sends it anything.
    c.manager.pauseNode(gone)
    await c.client(leader).cluster.memberRemove({ ID: String(gone) })
    for (let i = 0; i < 15; i++) await c.client(leader).put(`after/${i}`).value('x')
    c.manager.resumeNode(gone)
    await eventually(async () => {
      if (c.manager.process(gone).running) throw new Error(`node ${gone} is still running`)
    }, 15_000)
    expect(c.manager.lastExit(gone)).toMatchObject({ cause: 'self', code: 0 })
    const log = await readFile(c.manager.process(gone).logFile, 'utf8')
    expect(log).toContain('this node was removed from the cluster (a member says so)')

    // The members keep what they applied across a restart from their snapshots: started again,
    // the removed node is told at once.
    await c.manager.restartNode(kept)
    await c.manager.restartNode(leader)
    await c.manager.waitForLeader()
    await c.manager.startNode(gone).catch(() => {})
    await eventually(async () => {
      if (c.manager.process(gone).running) throw new Error(`node ${gone} is still running`)
    }, 15_000)
    expect(c.manager.lastExit(gone)).toMatchObject({ cause: 'self', code: 0 })
    // The two members serve on.
    const next = await c.leader()
    await eventually(() => c.client(next).put('last').value('2').exec(), 15_000)
  }, 90_000)
})
