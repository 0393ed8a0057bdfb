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
