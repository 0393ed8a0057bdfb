// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import type { VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it } from 'vitest'
import type { LogQuery } from '../../src/shared/api'
import { apiKey } from '../../src/renderer/api'
import LogView from '../../src/renderer/views/LogView.vue'
import { createFakeApi } from './support/fakeapi'
import type { FakeApi, FakeApiOptions } from './support/fakeapi'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

async function mountView(
  options: FakeApiOptions = {},
  prepare: (api: FakeApi) => void = () => {},
): Promise<{ api: FakeApi; w: VueWrapper }> {
  const api = createFakeApi(options)
  prepare(api)
  const pinia = createPinia()
  setActivePinia(pinia)
  const w = mount(LogView, {
    global: { plugins: [pinia], provide: { [apiKey as symbol]: api } },
    attachTo: document.body,
  })
  wrapper = w
  await flushPromises()
  return { api, w }
}

const byId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`)
const rowIds = (w: VueWrapper): string[] =>
  w.findAll('[data-testid^="log-row-"]').map((r) => r.attributes('data-testid') ?? '')

describe('LogView', () => {
  it('shows the leader’s log with committed and applied marks, and an entry’s command', async () => {
    const { api, w } = await mountView({ keys: { '/a': 'one' } })
    const select = byId(w, 'log-node-select').element as HTMLSelectElement
    expect(select.value).toBe(String(api.state.leader))
    expect([...select.options].map((o) => o.value)).toEqual(['1', '2', '3'])
    const rows = rowIds(w)
    expect(rows.length).toBeGreaterThan(1)
    const put = w.findAll('[data-testid^="log-row-"]').find((r) => r.text().includes('put /a'))
    expect(put?.attributes('data-committed')).toBe('true')
    expect(put?.attributes('data-applied')).toBe('true')
    expect(byId(w, 'log-source').text()).toBe('live')

    await put?.trigger('click')
    const detail = byId(w, 'log-entry-detail')
    expect(detail.text()).toContain('committed, applied')
    expect(byId(w, 'log-entry-keys').text()).toBe('/a')
    expect(JSON.parse(byId(w, 'log-entry-command').text())).toMatchObject({ op: 'put', key: '/a' })
    expect(detail.get('[data-testid=value-viewer]').text()).toContain('one')
  })

  it('marks an entry the node has not committed', async () => {
    const { w } = await mountView({}, (api) =>
      api.appendToNode(2, { term: 1, summary: 'only on node 2' }),
    )
    await byId(w, 'log-node-select').setValue('2')
    await flushPromises()
    const last = w.findAll('[data-testid^="log-row-"]').at(-1)
    expect(last?.text()).toContain('only on node 2')
    expect(last?.attributes('data-committed')).toBe('false')
    expect(last?.classes()).toContain('uncommitted')
  })

  it('keeps reading when a filtered page comes back empty with more log to scan', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } }, (api) => {
      // The host stops scanning a long log after a while and says where to go on.
      const readLog = api.readLog.bind(api)
      let first = true
      api.readLog = async (q) => {
        if (!first) return readLog(q)
        first = false
        const page = await readLog({ ...q, to: 1 })
        return { ...page, entries: [], next: 2 }
      }
    })
    await flushPromises()
    const froms = api.callsOf('readLog').map((a) => (a[0] as LogQuery).from)
    expect(froms).toEqual([undefined, 2])
    expect(rowIds(w)).toContain('log-row-2')
    expect(w.find('[data-testid=log-empty]').exists()).toBe(false)
  })

  it('shows the snapshot boundary where a node compacted its log', async () => {
    const { w } = await mountView({ keys: { '/a': '1', '/b': '2', '/c': '3' } }, (api) =>
      api.compactNodeLog(2, 3),
    )
    await byId(w, 'log-node-select').setValue('2')
    await flushPromises()
    expect(byId(w, 'log-snapshot-boundary').text()).toContain('Entries 1–3 are compacted')
    expect(rowIds(w)[0]).toBe('log-row-4')
  })

  it('filters by key from the filter form, and refuses a bad term with a message', async () => {
    const { api, w } = await mountView({ keys: { '/a/1': 'x', '/b': 'y' } })
    await byId(w, 'log-key-filter').setValue('/a/')
    await byId(w, 'log-key-prefix').setValue(true)
    await byId(w, 'log-filters').trigger('submit')
    await flushPromises()
    const q = api.callsOf('readLog').at(-1)?.[0] as LogQuery
    expect(q).toMatchObject({ key: '/a/', prefix: true })
    expect(w.findAll('[data-testid^="log-row-"]').map((r) => r.text())).toHaveLength(1)

    const calls = api.callsOf('readLog').length
    await byId(w, 'log-term-filter').setValue('two')
    await byId(w, 'log-filters').trigger('submit')
    expect(byId(w, 'log-filter-error').text()).toMatch(/term filter must be a whole number/)
    expect(api.callsOf('readLog')).toHaveLength(calls)
  })

  it('compares all nodes side by side and highlights the divergent rows', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } }, (api) => {
      api.appendToNode(2, { term: 5, summary: 'written by an old leader' })
      api.appendToNode(3, { term: 6, summary: 'written by another' })
    })
    await byId(w, 'log-compare').setValue(true)
    await flushPromises()
    const rows = w.findAll('[data-testid^="log-compare-row-"]')
    const divergent = rows.filter((r) => r.attributes('data-diverges') === 'true')
    expect(divergent).toHaveLength(1)
    expect(divergent[0]?.classes()).toContain('diverges')
    expect(divergent[0]?.text()).toContain('written by an old leader')
    expect(rows.filter((r) => r.classes('diverges'))).toHaveLength(1)
    expect(byId(w, 'log-compare-summary').text()).toContain('1 index diverges')
    // Each node's commit index is marked in its own column.
    const commit = api.state.nodes.find((n) => n.id === 1)?.raft?.commit ?? 0
    expect(byId(w, 'log-compare-node-1').text()).toContain(`commit ${commit}`)
    expect(byId(w, `log-compare-row-${commit}`).findAll('.commit-mark')).toHaveLength(3)
  })

  it("shows each node's own command at a divergent index, nodes that agree together", async () => {
    // QA's case: the isolated old leader appended a write no one else has; the new leader's
    // no-op took that index on the majority.
    const { w } = await mountView({ keys: { '/a': '1' } }, (api) => {
      api.appendToNode(2, { term: 5, summary: 'put /diverge/x = "lost"' })
      api.appendToNode(1, { term: 6, summary: 'no-op (new leader)' })
      api.appendToNode(3, { term: 6, summary: 'no-op (new leader)' })
    })
    await byId(w, 'log-compare').setValue(true)
    await flushPromises()
    const row = w.find('[data-testid^="log-compare-row-"][data-diverges="true"]')
    const index = row.attributes('data-testid')?.replace('log-compare-row-', '')
    const cell = byId(w, `log-compare-commands-${index}`)
    const lines = cell.findAll('div').map((d) => d.text())
    expect(lines).toEqual([
      'nodes 1, 3 · term 6 no-op (new leader)',
      'node 2 · term 5 put /diverge/x = "lost"',
    ])
    expect(cell.attributes('title')).toContain('node 2 · term 5: put /diverge/x = "lost"')
    // Rows the nodes agree on keep their one command.
    const agreed = w.find('[data-testid^="log-compare-row-"][data-diverges="false"]')
    expect(agreed.find('[data-testid^="log-compare-commands-"]').exists()).toBe(false)
  })

  it('says where the log is read from as the node stops and starts again', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } })
    const follower = [1, 2, 3].find((id) => id !== api.state.leader) as number
    await byId(w, 'log-node-select').setValue(String(follower))
    await flushPromises()
    expect(byId(w, 'log-source').text()).toBe('live')

    await api.stopNode(follower)
    await flushPromises()
    expect(byId(w, 'log-source').text()).toBe('disk')
    // Selected while stopped, then started: no Refresh needed to see it live.
    await byId(w, 'log-node-select').setValue(String(api.state.leader))
    await byId(w, 'log-node-select').setValue(String(follower))
    await flushPromises()
    expect(byId(w, 'log-source').text()).toBe('disk')
    await api.startNode(follower)
    await flushPromises()
    expect(byId(w, 'log-source').text()).toBe('live')
  })

  it('never shows a commit index past the last index', async () => {
    const { api, w } = await mountView({}, (api) => {
      for (let i = 0; i < 250; i++) void api.putKey({ key: `/k${i}`, value: 'x' })
    })
    await flushPromises()
    // Earlier pages are unread, so the new entry is not read yet; the status push reports it.
    await api.putKey({ key: '/late', value: 'x' })
    await flushPromises()
    const facts = /last (\d+) · commit (\d+)/.exec(byId(w, 'log-facts').text())
    const raft = api.state.nodes.find((n) => n.id === api.state.leader)?.raft
    expect(Number(facts?.[1])).toBe(raft?.lastIndex)
    expect(Number(facts?.[2])).toBe(raft?.commit)
  })

  it('names the node whose log was exported, even when the selection moved meanwhile', async () => {
    let finish: (r: { path: string; bytes: number }) => void = () => {}
    const { api, w } = await mountView({}, (api) => {
      api.exportNodeLog = () => new Promise((resolve) => (finish = resolve))
    })
    await byId(w, 'log-node-select').setValue('3')
    await flushPromises()
    await byId(w, 'log-export-csv').trigger('click')
    await byId(w, 'log-node-select').setValue('1')
    await flushPromises()
    finish({ path: `${api.state.workspace}/exports/node-3-log.csv`, bytes: 120 })
    await flushPromises()
    expect(byId(w, 'log-export-path').text()).toMatch(/^Node 3's log was written to \S+node-3-log/)
    await byId(w, 'log-node-select').setValue('2')
    await flushPromises()
    expect(w.find('[data-testid="log-export-path"]').exists()).toBe(false)
  })

  it('forgets the export note when its cluster is destroyed', async () => {
    const { api, w } = await mountView()
    await byId(w, 'log-export-csv').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="log-export-path"]').exists()).toBe(true)
    await api.destroyCluster()
    await flushPromises()
    expect(w.find('[data-testid="log-export-path"]').exists()).toBe(false)
    await api.createCluster({ nodes: 3 })
    await flushPromises()
    expect(w.find('[data-testid="log-export-path"]').exists()).toBe(false)
  })

  it('exports the node’s log and shows where it went', async () => {
    const { api, w } = await mountView()
    await byId(w, 'log-export-ndjson').trigger('click')
    await flushPromises()
    expect(api.callsOf('exportNodeLog')).toHaveLength(1)
    expect(byId(w, 'log-export-path').text()).toContain(
      `/tmp/raftlab-fake/exports/node-${api.state.leader}-log.ndjson`,
    )
  })
})
