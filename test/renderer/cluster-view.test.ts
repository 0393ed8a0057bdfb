// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING } from '../../src/shared/defaults'
import { useClusterStore } from '../../src/renderer/stores/cluster'
import { useUiStore } from '../../src/renderer/stores/ui'
import ClusterView from '../../src/renderer/views/ClusterView.vue'
import { testApp } from './support/app'
import type { FakeApiOptions } from './support/fakeapi'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

async function mountView(options: FakeApiOptions = {}) {
  const t = testApp(options)
  await useClusterStore().start()
  wrapper = mount(ClusterView, { global: t.global })
  await flushPromises()
  return { ...t, w: wrapper }
}

const byId = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`)

describe('Cluster view: no cluster yet', () => {
  it('offers the create form, which refuses a cluster of 9 nodes with a sentence', async () => {
    const { w, api } = await mountView({ nodes: 0 })
    expect(byId(w, 'create-cluster-form').exists()).toBe(true)
    await byId(w, 'create-nodes').setValue('9')
    expect(byId(w, 'create-errors').text()).toContain('Nodes must be at most 7')
    expect(byId(w, 'create-submit').attributes('disabled')).toBeDefined()
    await byId(w, 'create-cluster-form').trigger('submit')
    expect(api.callsOf('createCluster')).toHaveLength(0)
  })

  it('refuses election ticks that do not exceed heartbeat ticks', async () => {
    const { w } = await mountView({ nodes: 0 })
    await byId(w, 'create-election').setValue('2')
    await byId(w, 'create-heartbeat').setValue('2')
    expect(byId(w, 'create-errors').text()).toContain(
      'Election ticks must be greater than heartbeat ticks',
    )
    expect(byId(w, 'create-election').attributes('aria-invalid')).toBe('true')
  })

  it('starts from the manager’s default timing, and points to slow motion for watching', async () => {
    const { w, api } = await mountView({ nodes: 0 })
    const value = (id: string): string => (byId(w, id).element as HTMLInputElement).value
    expect(value('create-tick')).toBe(String(DEFAULT_TIMING.tickMs))
    expect(value('create-election')).toBe(String(DEFAULT_TIMING.electionTicks))
    expect(value('create-heartbeat')).toBe(String(DEFAULT_TIMING.heartbeatTicks))
    expect(value('create-snapshot')).toBe(String(DEFAULT_SNAPSHOT_COUNT))
    expect(byId(w, 'create-slowmo-hint').text()).toContain('election')
    await byId(w, 'create-cluster-form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('createCluster')[0]?.[0]).toMatchObject({
      timing: { ...DEFAULT_TIMING, snapshotCount: DEFAULT_SNAPSHOT_COUNT, slowMotion: 1 },
    })
  })

  it('creates the cluster with the chosen size and timing, then shows it', async () => {
    const { w, api } = await mountView({ nodes: 0 })
    await byId(w, 'create-nodes').setValue('5')
    await byId(w, 'create-tick').setValue('40')
    await byId(w, 'create-cluster-form').trigger('submit')
    await flushPromises()
    const [args] = api.callsOf('createCluster')
    expect(args?.[0]).toMatchObject({ nodes: 5, timing: { tickMs: 40, electionTicks: 10 } })
    expect(byId(w, 'create-cluster-form').exists()).toBe(false)
    expect(w.findAll('[data-testid^="node-row-"]')).toHaveLength(5)
    expect(w.findAll('[data-testid^="topo-node-"]')).toHaveLength(5)
  })
})

describe('Cluster view: a running cluster', () => {
  it('shows every node with its role, and the leader in the picture', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    const leader = api.state.leader as number
    const row = byId(w, `node-row-${leader}`)
    expect(row.attributes('data-role')).toBe('leader')
    expect(row.attributes('data-process')).toBe('running')
    expect(byId(w, `topo-node-${leader}`).classes()).toContain('leader')
    const follower = [1, 2, 3].find((id) => id !== leader) as number
    expect(byId(w, `node-row-${follower}`).attributes('data-role')).toBe('follower')
    expect(byId(w, `node-indexes-${follower}`).text()).toMatch(/^\d+ \/ \d+ \/ \d+$/)
  })

  it('counts the nodes in words that agree with the number', async () => {
    const { w } = await mountView({ nodes: 1 })
    expect(byId(w, 'cluster-counts').text()).toBe('· 1 node, 1 running')
  })

  it('kill calls killNode, and the row and picture follow the status push', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    const leader = api.state.leader as number
    await byId(w, `node-kill-${leader}`).trigger('click')
    await flushPromises()
    expect(api.callsOf('killNode')).toEqual([[leader]])
    expect(byId(w, `node-row-${leader}`).attributes('data-process')).toBe('stopped')
    expect(byId(w, `node-row-${leader}`).text()).toContain('killed by SIGKILL')
    expect(byId(w, `topo-node-${leader}`).classes()).toContain('stopped')
    // The stopped node offers Start, no longer Kill.
    expect(byId(w, `node-kill-${leader}`).exists()).toBe(false)
    expect(byId(w, `node-start-${leader}`).exists()).toBe(true)
    const next = api.state.leader as number
    expect(next).not.toBe(leader)
    expect(byId(w, `node-row-${next}`).attributes('data-role')).toBe('leader')
  })

  it('pause, resume, transfer and remove (after confirming) call the API', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    const leader = api.state.leader as number
    const other = [1, 2, 3].find((id) => id !== leader) as number
    await byId(w, `node-transfer-${other}`).trigger('click')
    await flushPromises()
    expect(api.callsOf('transferLeadership')).toEqual([[other]])
    expect(byId(w, `node-row-${other}`).attributes('data-role')).toBe('leader')

    await byId(w, `node-pause-${leader}`).trigger('click')
    await flushPromises()
    expect(byId(w, `node-row-${leader}`).attributes('data-process')).toBe('paused')
    expect(byId(w, `topo-node-${leader}`).classes()).toContain('paused')
    await byId(w, `node-resume-${leader}`).trigger('click')
    await flushPromises()
    expect(api.callsOf('resumeNode')).toEqual([[leader]])

    await byId(w, `node-remove-${leader}`).trigger('click')
    expect(api.callsOf('removeNode')).toHaveLength(0)
    expect(byId(w, `node-remove-${leader}`).text()).toBe('Remove?')
    await byId(w, `node-remove-${leader}`).trigger('click')
    await flushPromises()
    expect(api.callsOf('removeNode')).toEqual([[leader]])
    // A removed node stays listed (its log is still readable) but leaves the picture and has
    // no controls left.
    const removed = byId(w, `node-row-${leader}`)
    expect(removed.attributes('data-member')).toBe('removed')
    expect(removed.findAll('button')).toHaveLength(0)
    expect(byId(w, `topo-node-${leader}`).exists()).toBe(false)
    expect(w.findAll('[data-testid^="topo-node-"]')).toHaveLength(2)
    expect(byId(w, `fault-isolate-${leader}`).exists()).toBe(false)
  })

  it('add node calls addNode and a new learner-then-voter row appears', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'cluster-add-node').trigger('click')
    await flushPromises()
    expect(api.callsOf('addNode')).toHaveLength(1)
    expect(byId(w, 'node-row-4').exists()).toBe(true)
    expect(byId(w, 'node-row-4').text()).toContain('voter')
  })

  it('clicking a node in the picture shows its details, last lines after a crash', async () => {
    const { w } = await mountView({ nodes: 3 })
    expect(w.find('[data-testid^="node-detail-"]').exists()).toBe(false)
    await byId(w, 'node-kill-2').trigger('click')
    await flushPromises()
    await byId(w, 'topo-node-2').trigger('click')
    const detail = byId(w, 'node-detail-2')
    expect(detail.text()).toContain('killed by SIGKILL')
    expect(detail.text()).toContain('etcdctl --endpoints=127.0.0.1:')
    expect(byId(w, 'node-last-lines').text()).toContain('SIGKILL')
    expect(byId(w, 'node-row-2').classes()).toContain('selected')
  })

  it("keeps the addresses a narrow node table leaves out in the node's details", async () => {
    const { w, api } = await mountView({ nodes: 3 })
    // The columns a card narrower than 60rem hides (NodeTable's container query).
    const optional = byId(w, 'node-row-2')
      .findAll('td.wide')
      .map((td) => td.text())
    const n = api.state.nodes.find((x) => x.id === 2)
    expect(optional).toHaveLength(2)
    expect(optional[0]).toBe(String(n?.pid))
    await byId(w, 'topo-node-2').trigger('click')
    expect(byId(w, 'node-addresses').text()).toBe(`client ${n?.client} · peer ${n?.peer}`)
    expect(byId(w, 'node-detail-2').text()).toContain(`pid ${n?.pid}`)
  })

  it('a failed control shows a toast with the reason', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    api.failNext('stopNode', 'node 1 did not stop within 5 s')
    await byId(w, 'node-stop-1').trigger('click')
    await flushPromises()
    expect(useUiStore().toasts.at(-1)?.message).toBe(
      'Stopping node 1 failed: node 1 did not stop within 5 s',
    )
  })
})

describe('Cluster view: fault panel and topology', () => {
  it('isolate calls isolate and the picture draws the cut links broken', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'fault-isolate-3').trigger('click')
    await flushPromises()
    expect(api.callsOf('isolate')).toEqual([[3]])
    expect(byId(w, 'topo-link-1-3').attributes('data-state')).toBe('blocked')
    expect(byId(w, 'topo-link-2-3').attributes('data-state')).toBe('blocked')
    expect(byId(w, 'topo-link-1-2').attributes('data-state')).toBe('ok')
    expect(byId(w, 'fault-summary-partition').text()).toContain('{3} | {1, 2}')
    expect(w.findAll('[data-testid^="topo-group-"]')).toHaveLength(2)
  })

  it('the group editor splits the network with partition, and heal restores it', async () => {
    const { w, api } = await mountView({ nodes: 5 })
    // All in A: nothing to split yet.
    expect(byId(w, 'fault-partition-apply').attributes('disabled')).toBeDefined()
    await byId(w, 'fault-group-4-B').setValue(true)
    await byId(w, 'fault-group-5-B').setValue(true)
    await byId(w, 'fault-partition-apply').trigger('click')
    await flushPromises()
    expect(api.callsOf('partition')).toEqual([
      [
        [
          [1, 2, 3],
          [4, 5],
        ],
      ],
    ])
    expect(byId(w, 'topo-link-3-4').attributes('data-state')).toBe('blocked')
    expect(byId(w, 'topo-link-4-5').attributes('data-state')).not.toBe('blocked')

    await byId(w, 'fault-heal').trigger('click')
    await flushPromises()
    expect(api.callsOf('heal')).toHaveLength(1)
    expect(byId(w, 'fault-summary').text()).toContain('The network is whole')
    expect(byId(w, 'topo-link-3-4').attributes('data-state')).toBe('ok')
    expect(byId(w, 'fault-heal').attributes('disabled')).toBeDefined()
  })

  it('sets a per-link delay and drop, marking the link in the picture', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'fault-link-from').setValue('1')
    await byId(w, 'fault-link-to').setValue('2')
    await byId(w, 'fault-link-delay').setValue('250')
    await byId(w, 'fault-link-drop').setValue('30')
    await byId(w, 'fault-link-apply').trigger('click')
    await flushPromises()
    expect(api.callsOf('setLinkFault')).toEqual([
      [{ from: 1, to: 2, drop: 0.3, delayMs: 250, both: true }],
    ])
    const link = byId(w, 'topo-link-1-2')
    expect(link.attributes('data-state')).toBe('faulty')
    expect(link.text()).toContain('250ms · 30% drop')
    expect(w.findAll('[data-testid="fault-summary-link"]')).toHaveLength(2)
  })

  it('offers no network faults on a 1-node cluster, and no error before anything is touched', async () => {
    const { w } = await mountView({ nodes: 1 })
    expect(byId(w, 'fault-need-two').text()).toContain('Network faults need two nodes or more')
    expect(byId(w, 'fault-isolate-1').exists()).toBe(false)
    expect(byId(w, 'fault-partition-apply').exists()).toBe(false)
    expect(byId(w, 'fault-link-apply').exists()).toBe(false)
    expect(byId(w, 'fault-link-error').exists()).toBe(false)
    expect(byId(w, 'fault-summary').text()).toContain('The network is whole.')
  })

  it('offers the network faults from two nodes on, with a valid link picked', async () => {
    const { w } = await mountView({ nodes: 2 })
    expect(byId(w, 'fault-need-two').exists()).toBe(false)
    expect(byId(w, 'fault-isolate-1').exists()).toBe(true)
    expect(byId(w, 'fault-link-error').exists()).toBe(false)
  })

  it('refuses a link from a node to itself before calling the API', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'fault-link-from').setValue('2')
    await byId(w, 'fault-link-to').setValue('2')
    expect(byId(w, 'fault-link-error').text()).toContain('two different nodes')
    expect(byId(w, 'fault-link-apply').attributes('disabled')).toBeDefined()
    expect(api.callsOf('setLinkFault')).toHaveLength(0)
  })
})

describe('Cluster view: timing', () => {
  it('a slow-motion preset calls setTiming and the slider follows', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'timing-slowmo-20').trigger('click')
    await flushPromises()
    expect(api.callsOf('setTiming')).toEqual([[{ slowMotion: 20 }]])
    expect(byId(w, 'timing-slowmo-value').text()).toBe('×20')
  })

  it('releasing the slider applies its factor', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    const slider = byId(w, 'timing-slowmo')
    await slider.setValue('50')
    await slider.trigger('change')
    await flushPromises()
    expect(api.callsOf('setTiming')).toEqual([[{ slowMotion: 10 }]])
  })

  it('keeps unsaved edits when a status push brings the same timing', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'timing-tick').setValue('250')
    api.pushStatus()
    await flushPromises()
    expect((byId(w, 'timing-tick').element as HTMLInputElement).value).toBe('250')
    await api.setTiming({ tickMs: 70 })
    await flushPromises()
    expect((byId(w, 'timing-tick').element as HTMLInputElement).value).toBe('70')
  })

  it('says what is wrong with a field in words, as the create form does', async () => {
    const { w } = await mountView({ nodes: 3 })
    await byId(w, 'timing-election').setValue('1')
    expect(byId(w, 'timing-error').text()).toBe('Election ticks must be at least 2')
    await byId(w, 'timing-election').setValue('10')
    await byId(w, 'timing-tick').setValue('2.5')
    expect(byId(w, 'timing-error').text()).toBe('Tick must be a whole number')
    expect(byId(w, 'timing-apply').attributes('disabled')).toBeDefined()
  })

  it('refuses election ticks not above heartbeat ticks before calling the API', async () => {
    const { w, api } = await mountView({ nodes: 3 })
    await byId(w, 'timing-heartbeat').setValue('20')
    expect(byId(w, 'timing-error').text()).toBe(
      'Election ticks must be greater than heartbeat ticks',
    )
    expect(byId(w, 'timing-apply').attributes('disabled')).toBeDefined()
    await byId(w, 'timing-heartbeat').setValue('2')
    expect(byId(w, 'timing-apply').attributes('disabled')).toBeUndefined()
    await byId(w, 'timing-form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('setTiming')).toEqual([
      [{ tickMs: 100, electionTicks: 10, heartbeatTicks: 2, snapshotCount: 10_000 }],
    ])
  })
})

describe('Cluster view: when the status cannot be read', () => {
  it('says why and retries on request instead of showing a blank page', async () => {
    const t = testApp({ nodes: 3 })
    t.api.failNext('status', 'connection refused by 127.0.0.1:4000')
    await useClusterStore().start()
    wrapper = mount(ClusterView, { global: t.global })
    await flushPromises()
    expect(byId(wrapper, 'cluster-load-error').text()).toContain(
      'connection refused by 127.0.0.1:4000',
    )
    await wrapper.find('button').trigger('click')
    await flushPromises()
    expect(wrapper.findAll('[data-testid^="node-row-"]')).toHaveLength(3)
  })
})
