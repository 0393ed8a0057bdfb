// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import TopologyGraph from '../../src/renderer/components/cluster/TopologyGraph.vue'
// The component's own text: happy-dom applies no stylesheet, so the rules are read as written.
import topologySource from '../../src/renderer/components/cluster/TopologyGraph.vue?raw'
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

/** The declarations of one rule of the component's stylesheet, by its exact selector. */
function cssRule(source: string, selector: string): Record<string, string> {
  const style = source.slice(source.indexOf('<style'))
  const at = style.indexOf(`\n${selector} {`)
  if (at < 0) throw new Error(`no rule ${selector} in TopologyGraph.vue`)
  const body = style.slice(style.indexOf('{', at) + 1, style.indexOf('}', at))
  return Object.fromEntries(
    body
      .split(';')
      .map((d) => d.split(':').map((x) => x.trim()))
      .filter((d): d is [string, string] => d.length === 2 && d[0] !== ''),
  )
}

describe('topology picture', () => {
  it('draws heartbeats over a faulty link apart from its fault, and names both in the legend', () => {
    const api = createFakeApi({ nodes: 3 })
    const leader = api.state.leader as number
    const other = [1, 2, 3].find((id) => id !== leader) as number
    api.state.links = [{ from: leader, to: other, delayMs: 300, drop: 0.5, blocked: false }]
    const w = mount(TopologyGraph, { props: { status: api.snapshot() } })
    const [a, b] = [leader, other].sort((x, y) => x - y)
    const link = w.get(`[data-testid="topo-link-${a}-${b}"]`)
    expect(link.attributes('data-state')).toBe('faulty')
    // The fault is on the link's own line; the heartbeat is a line of its own over it.
    expect(link.findAll('line.delayed.dropping')).toHaveLength(1)
    expect(link.findAll('line.heartbeat')).toHaveLength(1)
    expect(w.get('[data-testid="legend-heartbeat"]').text()).toBe('heartbeats')
    expect(w.get('[data-testid="legend-faulty"]').text()).toBe('delay / drop')
    w.unmount()
  })

  it('gives heartbeats a colour and stroke no fault uses, and the legend the same look', () => {
    const source = topologySource
    const heartbeat = cssRule(source, '.link line.heartbeat')
    const faulty = cssRule(source, '.link.faulty line')
    const blocked = cssRule(source, '.link.blocked line')
    const dropping = cssRule(source, '.link line.dropping')
    expect(heartbeat.stroke).not.toBe(faulty.stroke)
    expect(heartbeat.stroke).not.toBe(blocked.stroke)
    // The leader's own colour is too close to the warning colour to tell apart on a thin line.
    expect(heartbeat.stroke).not.toBe('var(--role-leader)')
    expect(heartbeat['stroke-dasharray']).not.toBe(dropping['stroke-dasharray'])
    expect(cssRule(source, '.line.heartbeat')['border-color']).toBe(heartbeat.stroke)
    expect(cssRule(source, '.line.faulty')['border-color']).toBe(faulty.stroke)
  })
})
