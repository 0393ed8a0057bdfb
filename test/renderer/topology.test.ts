// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { layout, partitionGroups } from '../../src/renderer/components/cluster/topology'
import { createFakeApi } from './support/fakeapi'

describe('topology layout', () => {
  it('puts the nodes on a circle, apart from each other', () => {
    const t = layout(createFakeApi({ nodes: 5 }).snapshot())
    expect(t.nodes).toHaveLength(5)
    expect(t.links).toHaveLength(10)
    for (const p of t.nodes) {
      for (const q of t.nodes) {
        if (p !== q) expect(Math.hypot(p.x - q.x, p.y - q.y)).toBeGreaterThan(64)
      }
    }
  })

  it('counts unlisted nodes as one more partition group, as the contract says', () => {
    const api = createFakeApi({ nodes: 5 })
    api.state.partitions = [[1, 2]]
    expect(partitionGroups(api.snapshot())).toEqual([
      [1, 2],
      [3, 4, 5],
    ])
  })

  it('cuts exactly the links between groups and seats each group together', () => {
    const api = createFakeApi({ nodes: 5 })
    api.state.partitions = [
      [2, 4],
      [1, 3, 5],
    ]
    const t = layout(api.snapshot())
    const blocked = t.links.filter((l) => l.state === 'blocked').map((l) => `${l.a}-${l.b}`)
    expect(blocked.sort()).toEqual(['1-2', '1-4', '2-3', '2-5', '3-4', '4-5'])
    // Around the circle the order is group by group.
    expect(t.nodes.map((p) => p.group)).toEqual([0, 0, 1, 1, 1])
  })

  it('marks delayed and dropping links and names each direction when they differ', () => {
    const api = createFakeApi({ nodes: 3 })
    api.state.links = [
      { from: 1, to: 2, delayMs: 100, drop: 0, blocked: false },
      { from: 2, to: 1, delayMs: 0, drop: 0.5, blocked: false },
    ]
    const link = layout(api.snapshot()).links.find((l) => l.a === 1 && l.b === 2)
    expect(link?.state).toBe('faulty')
    expect(link?.delayed && link.dropping).toBe(true)
    expect(link?.label).toBe('1→2 100ms; 2→1 50% drop')
  })

  it('draws heartbeats only on links from the leader to running nodes', () => {
    const api = createFakeApi({ nodes: 3 })
    const leader = api.state.leader as number
    const stopped = [1, 2, 3].find((id) => id !== leader) as number
    const n = api.state.nodes.find((x) => x.id === stopped)
    if (n) n.process = 'stopped'
    const links = layout(api.snapshot()).links
    const toStopped = links.find((l) => [l.a, l.b].includes(leader) && [l.a, l.b].includes(stopped))
    expect(toStopped?.state).toBe('down')
    expect(toStopped?.fromLeader).toBe(false)
    const live = links.filter((l) => l.fromLeader)
    expect(live).toHaveLength(1)
  })
})
