// @vitest-environment happy-dom
// What the Cluster view offers as live: a removed node is listed for its data but counted,
// drawn and controlled nowhere; a stopped node's last reported role is shown as stale and no
// screen names it leader. And the debug bundle export, from button to path on screen.
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClusterStatus, NodeView } from '../../src/shared/api'
import StatusBar from '../../src/renderer/components/common/StatusBar.vue'
import { useAppStore } from '../../src/renderer/stores/app'
import { useClusterStore } from '../../src/renderer/stores/cluster'
import { useUiStore } from '../../src/renderer/stores/ui'
import { departedIds, liveLeader, memberLabel } from '../../src/renderer/utils/nodes'
import ClusterView from '../../src/renderer/views/ClusterView.vue'
import { testApp } from './support/app'

const mounted: VueWrapper[] = []
afterEach(() => {
  for (const w of mounted.splice(0)) w.unmount()
  vi.restoreAllMocks()
})

async function mountView() {
  const t = testApp({ nodes: 3 })
  await useAppStore().start()
  await useClusterStore().start()
  const w = mount(ClusterView, { global: t.global })
  const bar = mount(StatusBar, { global: t.global })
  mounted.push(w, bar)
  await flushPromises()
  return { ...t, w, bar }
}

const byId = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`)

/** The status with one node rewritten, as a host could push it. */
function withNode(s: ClusterStatus, id: number, f: (n: NodeView) => NodeView): ClusterStatus {
  return { ...s, nodes: s.nodes.map((n) => (n.id === id ? f(n) : n)) }
}

describe('a removed node is not offered as live', () => {
  it('leaves the header count, the picture and the fault panel, and loses its controls', async () => {
    const { w, api } = await mountView()
    await w.find('[data-testid="cluster-add-node"]').trigger('click')
    await flushPromises()
    expect(byId(w, 'fault-isolate-4').exists()).toBe(true)
    expect(w.find('h1').text()).toContain('4 nodes, 4 running')

    await byId(w, 'node-remove-4').trigger('click')
    await byId(w, 'node-remove-4').trigger('click')
    await flushPromises()
    expect(api.callsOf('removeNode')).toEqual([[4]])

    expect(w.find('h1').text()).toContain('3 nodes, 3 running')
    const row = byId(w, 'node-row-4')
    expect(row.attributes('data-member')).toBe('removed')
    expect(row.classes()).toContain('removed')
    for (const action of ['start', 'restart', 'stop', 'kill', 'remove']) {
      expect(byId(w, `node-${action}-4`).exists()).toBe(false)
    }
    expect(byId(w, 'topo-node-4').exists()).toBe(false)
    expect(byId(w, 'fault-isolate-4').exists()).toBe(false)
    expect(byId(w, 'fault-group-4').exists()).toBe(false)
    expect(byId(w, 'fault-isolate-1').exists()).toBe(true)
  })

  it('treats a stopped node the leader no longer holds as gone before the manager marks it', async () => {
    const { w } = await mountView()
    const cluster = useClusterStore()
    const s = cluster.status as ClusterStatus
    const leader = cluster.leader as number
    const victim = [1, 2, 3].find((id) => id !== leader) as number
    // The removal committed (the leader's configuration dropped the node) and the node stopped,
    // but cluster.json does not say "removed" yet.
    let next = withNode(s, victim, (n) => ({ ...n, process: 'stopped', pid: null, member: null }))
    next = withNode(next, leader, (n) =>
      n.raft ? { ...n, raft: { ...n.raft, voters: n.raft.voters.filter((v) => v !== victim) } } : n,
    )
    cluster.status = next
    await flushPromises()
    expect([...departedIds(next)]).toEqual([victim])
    expect(w.find('h1').text()).toContain('2 nodes, 2 running')
    expect(byId(w, `topo-node-${victim}`).exists()).toBe(false)
    expect(byId(w, `fault-isolate-${victim}`).exists()).toBe(false)
    expect(byId(w, `node-start-${victim}`).exists()).toBe(false)
    expect(byId(w, `node-row-${victim}`).attributes('data-role')).toBe('removed')
    expect(byId(w, `node-member-${victim}`).text()).toBe('removed')
  })

  it('says a node is being removed, not new, once it has applied its own removal', async () => {
    const { w, api } = await mountView()
    const cluster = useClusterStore()
    const leader = cluster.leader as number
    // The leader applied the entry that removes it (its own configuration no longer holds it,
    // so it reports no membership) and still runs while it steps down: a 2-node cluster's
    // removal of its leader shows this for about half a second.
    api.emit(
      'status',
      withNode(
        { ...(cluster.status as ClusterStatus), pendingChange: `removing node ${leader}` },
        leader,
        (n) => ({ ...n, member: null }),
      ),
    )
    await flushPromises()
    expect(byId(w, `node-member-${leader}`).text()).toBe('removing')
    const other = [1, 2, 3].find((id) => id !== leader) as number
    expect(byId(w, `node-member-${other}`).text()).toBe('voter')
  })

  it('calls a node that never reported new, and one its own configuration lacks no member', () => {
    const node = (raft: NodeView['raft']): NodeView => ({
      id: 4,
      name: 'node-4',
      client: '127.0.0.1:1',
      peer: '127.0.0.1:2',
      process: 'running',
      pid: 1,
      member: null,
      raft,
      lastExit: null,
    })
    expect(memberLabel(node(null), false)).toBe('new')
    expect(memberLabel(node(null), true)).toBe('removing')
    const raft = {
      role: 'follower' as const,
      term: 2,
      leader: 1,
      commit: 9,
      applied: 9,
      lastIndex: 9,
      snapshotIndex: 0,
      voters: [1, 2, 3],
      learners: [],
      revision: 5,
    }
    expect(memberLabel(node(raft), false)).toBe('not a member')
    expect(memberLabel({ ...node(raft), member: 'learner' }, false)).toBe('learner')
  })

  it('keeps a merely killed node as a member that can be started again', async () => {
    const { w } = await mountView()
    await byId(w, 'node-kill-2').trigger('click')
    await flushPromises()
    expect(departedIds(useClusterStore().status).has(2)).toBe(false)
    expect(w.find('h1').text()).toContain('3 nodes, 2 running')
    expect(byId(w, 'node-start-2').exists()).toBe(true)
    expect(byId(w, 'topo-node-2').exists()).toBe(true)
  })
})

describe('a stopped node is never shown as leading', () => {
  it('marks the row with the process state, shows the last role as stale, and names no leader', async () => {
    const { w, bar } = await mountView()
    const cluster = useClusterStore()
    const leader = cluster.leader as number
    expect(byId(bar, 'leader-badge').text()).toBe(`node ${leader}`)
    // The host's last word still names the killed node: its final report said "leader".
    const s = cluster.status as ClusterStatus
    cluster.status = withNode(s, leader, (n) => ({ ...n, process: 'stopped', pid: null }))
    await flushPromises()
    expect(cluster.status.leader).toBe(leader)

    const row = byId(w, `node-row-${leader}`)
    expect(row.attributes('data-role')).toBe('stopped')
    expect(row.attributes('data-last-role')).toBe('leader')
    expect(row.classes()).not.toContain('leader')
    expect(byId(w, `role-${leader}`).text()).toBe('stopped')
    expect(byId(w, `node-last-role-${leader}`).text()).toBe('(was leader)')
    const topo = byId(w, `topo-node-${leader}`)
    expect(topo.classes()).not.toContain('leader')
    expect(topo.attributes('data-role')).toBe('stopped')
    expect(topo.find('.halo').exists()).toBe(false)
    expect(byId(bar, 'leader-badge').text()).toBe('no leader')
    expect(byId(bar, 'leader-badge').attributes('data-leader')).toBe('')
  })

  it('liveLeader names only a running member', () => {
    const node = (id: number, process: NodeView['process']): NodeView => ({
      id,
      name: `n${id}`,
      client: '',
      peer: '',
      process,
      pid: null,
      member: 'voter',
      raft: null,
      lastExit: null,
    })
    const base: ClusterStatus = {
      workspace: '/tmp/w',
      exists: true,
      name: 'c',
      nodes: [node(1, 'running'), node(2, 'running')],
      leader: 1,
      term: 2,
      faults: { partitions: [], links: [], paused: [] },
      timing: {
        tickMs: 100,
        electionTicks: 10,
        heartbeatTicks: 1,
        snapshotCount: 100,
        slowMotion: 1,
      },
      pendingChange: null,
    }
    expect(liveLeader(base)).toBe(1)
    expect(liveLeader({ ...base, nodes: [node(1, 'paused'), node(2, 'running')] })).toBeNull()
    expect(liveLeader({ ...base, leader: 7 })).toBeNull()
    expect(liveLeader(null)).toBeNull()
  })
})

describe('debug bundle export', () => {
  it('calls exportBundle, tracks its progress and shows the path it wrote', async () => {
    const { w, api } = await mountView()
    const ui = useUiStore()
    expect(byId(w, 'export-bundle-path').exists()).toBe(false)
    await byId(w, 'export-bundle').trigger('click')
    await flushPromises()
    expect(api.callsOf('exportBundle')).toEqual([[{}]])
    const path = '/tmp/raftlab-fake/exports/raftlab-bundle-1.tar'
    expect(byId(w, 'export-bundle-path').text()).toBe(path)
    expect(ui.progress.find((p) => p.task === 'export')).toMatchObject({ done: 1, total: 1 })
    expect(ui.toasts.map((t) => t.message)).toContain(`Debug bundle written to ${path}`)
  })

  it('reads as a sentence, with spaces around the path', async () => {
    const { w } = await mountView()
    await byId(w, 'export-bundle').trigger('click')
    await flushPromises()
    expect(byId(w, 'export-bundle-note').text()).toMatch(
      /^Debug bundle written to \/tmp\/raftlab-fake\/exports\/raftlab-bundle-1\.tar \(\d+ KiB\)$/,
    )
  })

  it('forgets the bundle of a destroyed cluster', async () => {
    const { w } = await mountView()
    await byId(w, 'export-bundle').trigger('click')
    await flushPromises()
    expect(byId(w, 'export-bundle-path').exists()).toBe(true)
    await byId(w, 'cluster-destroy').trigger('click')
    await byId(w, 'cluster-destroy').trigger('click')
    await flushPromises()
    await byId(w, 'create-cluster-form').trigger('submit')
    await flushPromises()
    expect(byId(w, 'node-table').exists()).toBe(true)
    expect(byId(w, 'export-bundle-path').exists()).toBe(false)
  })

  it('shows a failed export as an error toast and no path', async () => {
    const { w, api } = await mountView()
    vi.spyOn(api, 'exportBundle').mockRejectedValue(new Error('disk full writing exports/'))
    await byId(w, 'export-bundle').trigger('click')
    await flushPromises()
    const toast = useUiStore().toasts.at(-1)
    expect(toast?.kind).toBe('error')
    expect(toast?.message).toBe('Exporting the debug bundle failed: disk full writing exports/')
    expect(byId(w, 'export-bundle-path').exists()).toBe(false)
    expect((byId(w, 'export-bundle').element as HTMLButtonElement).disabled).toBe(false)
  })
})
