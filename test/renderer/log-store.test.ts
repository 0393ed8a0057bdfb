// @vitest-environment happy-dom
import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { createApp } from 'vue'
import type { LogQuery } from '../../src/shared/api'
import { apiKey } from '../../src/renderer/api'
import { checkFilters, LOG_PAGE_SIZE, logQuery, useLogStore } from '../../src/renderer/stores/log'
import { createFakeApi } from './support/fakeapi'
import type { FakeApiOptions } from './support/fakeapi'

function setup(options: FakeApiOptions = {}) {
  const api = createFakeApi(options)
  const pinia = createPinia()
  createApp({}).provide(apiKey, api).use(pinia)
  setActivePinia(pinia)
  return { api, store: useLogStore() }
}

const noFilters = { kinds: [], key: '', prefix: false, term: null, from: null, to: null }

describe('log filters', () => {
  it('become exactly the readLog query the API understands', () => {
    expect(logQuery(2, noFilters, null)).toEqual({ node: 2, limit: LOG_PAGE_SIZE })
    expect(
      logQuery(
        1,
        { kinds: ['normal', 'confChange'], key: '/a/', prefix: true, term: 3, from: 5, to: 90 },
        null,
      ),
    ).toEqual({
      node: 1,
      limit: LOG_PAGE_SIZE,
      kinds: ['normal', 'confChange'],
      key: '/a/',
      prefix: true,
      term: 3,
      from: 5,
      to: 90,
    })
    // Every kind ticked is no filter at all; a later page reads from its own start.
    expect(
      logQuery(1, { ...noFilters, kinds: ['normal', 'confChange', 'empty'], from: 5 }, 40),
    ).toEqual({ node: 1, limit: LOG_PAGE_SIZE, from: 40 })
  })

  it('are checked with a sentence naming the bad field', () => {
    expect(checkFilters(noFilters)).toBeNull()
    expect(checkFilters({ ...noFilters, term: -1 })).toMatch(/term filter/)
    expect(checkFilters({ ...noFilters, from: 1.5 })).toMatch(/"from" index/)
    expect(checkFilters({ ...noFilters, from: 9, to: 3 })).toBe(
      'The index range is empty: "from" (9) is after "to" (3).',
    )
  })

  it('are applied by the server: only matching entries come back', async () => {
    const { api, store } = setup({ keys: { '/a/1': 'x', '/b/1': 'y', '/a/2': 'z' } })
    await store.reload()
    expect(store.entries.length).toBeGreaterThan(3)
    store.filters.key = '/a/'
    store.filters.prefix = true
    await store.reload()
    expect(store.entries.map((e) => e.summary)).toEqual(['put /a/1 = x', 'put /a/2 = z'])

    store.resetFilters()
    store.filters.kinds = ['empty']
    await store.reload()
    expect(store.entries.length).toBeGreaterThan(0)
    expect(store.entries.every((e) => e.kind === 'empty')).toBe(true)
    const q = api.callsOf('readLog').at(-1)?.[0] as LogQuery
    expect(q.kinds).toEqual(['empty'])
  })

  it('refuses an empty index range without asking the server', async () => {
    const { api, store } = setup()
    await store.reload()
    const before = api.callsOf('readLog').length
    store.filters.from = 10
    store.filters.to = 2
    await store.reload()
    expect(api.callsOf('readLog')).toHaveLength(before)
    expect(store.error).toMatch(/index range is empty/)
    expect(store.entries).toHaveLength(0)
  })
})

describe('log store: pages', () => {
  it('reads a long log page by page with the server’s next index', async () => {
    const { api, store } = setup()
    for (let i = 0; i < 450; i++) await api.putKey({ key: `/k${i}`, value: String(i) })
    await store.reload()
    expect(store.node).toBe(api.state.leader)
    expect(store.entries).toHaveLength(LOG_PAGE_SIZE)
    expect(store.next).not.toBeNull()
    while (store.next !== null) await store.loadMore()
    const indexes = store.entries.map((e) => e.index)
    expect(indexes).toEqual(indexes.map((_, i) => (indexes[0] ?? 0) + i))
    expect(indexes.at(-1)).toBe(store.page?.lastIndex)
    const froms = api.callsOf('readLog').map((a) => (a[0] as LogQuery).from)
    expect(froms[0]).toBeUndefined()
    expect(froms.slice(1)).toEqual(froms.slice(1).map((_, i) => LOG_PAGE_SIZE * (i + 1) + 1))
  })

  it('reads another node’s log when it is picked, and shows a failure as a message', async () => {
    const { api, store } = setup()
    await store.reload()
    await store.selectNode(3)
    expect((api.callsOf('readLog').at(-1)?.[0] as LogQuery).node).toBe(3)
    expect(store.page?.node).toBe(3)
    api.failNext('readLog', 'node 3 is not running and its data directory is missing')
    await store.reload()
    expect(store.error).toBe(
      "Could not read node 3's log: node 3 is not running and its data directory is missing",
    )
  })

  it('jumps to the entries that wrote one key', async () => {
    const { store } = setup({ keys: { '/x': '1', '/xy': '2' } })
    store.filters.term = 99
    await store.showKey('/x')
    expect(store.filters).toMatchObject({ key: '/x', prefix: false, term: null })
    expect(store.entries.map((e) => e.summary)).toEqual(['put /x = 1'])
    expect(store.selectedEntry?.summary).toBe('put /x = 1')
  })

  it('opens the newest write when a key was written across several pages', async () => {
    const { api, store } = setup()
    for (let i = 0; i < 450; i++) await api.putKey({ key: '/hot', value: String(i) })
    await store.showKey('/hot')
    expect(store.entries).toHaveLength(450)
    expect(store.selectedEntry?.summary).toBe('put /hot = 449')
  })

  it('counts entries committed since their page was read, from status pushes', async () => {
    const { api, store } = setup()
    await store.reload()
    const node = store.node ?? 0
    api.appendToNode(node, { term: api.state.term, summary: 'pending' })
    await store.reload()
    const pending = store.entries.at(-1)
    expect(pending && store.isCommitted(pending)).toBe(false)
    const raft = api.state.nodes.find((n) => n.id === node)?.raft
    if (raft) raft.commit = pending?.index ?? 0
    api.pushStatus()
    expect(pending && store.isCommitted(pending)).toBe(true)
  })
})

describe('log store: following the log', () => {
  it('appends entries written after the last page was read', async () => {
    const { api, store } = setup({ keys: { '/a': '1' } })
    await store.reload()
    const before = store.entries.length
    await api.putKey({ key: '/b', value: '2' })
    await expect.poll(() => store.entries.length).toBe(before + 1)
    expect(store.entries.at(-1)?.summary).toBe('put /b = 2')
    const indexes = store.entries.map((e) => e.index)
    expect(new Set(indexes).size).toBe(indexes.length)
  })

  it('does not follow while earlier pages are still unread', async () => {
    const { api, store } = setup()
    for (let i = 0; i < 250; i++) await api.putKey({ key: `/k${i}`, value: 'x' })
    await store.reload()
    expect(store.next).not.toBeNull()
    const reads = api.callsOf('readLog').length
    await api.putKey({ key: '/late', value: 'x' })
    await flushPromises()
    expect(api.callsOf('readLog')).toHaveLength(reads)
  })
})

describe('log store: compare and export', () => {
  it('compares every node and counts the divergent indexes', async () => {
    const { api, store } = setup({ keys: { '/a': '1' } })
    api.appendToNode(2, { term: 7, summary: 'stale on 2' })
    api.appendToNode(3, { term: 8, summary: 'stale on 3' })
    await store.setComparing(true)
    expect(store.compare?.nodes).toEqual([1, 2, 3])
    expect(store.divergent).toBe(1)
    const last = store.compareRows.at(-1)
    expect(last).toMatchObject({ diverges: true, terms: { '1': null, '2': 7, '3': 8 } })
  })

  it('exports one node’s log and keeps the path to show', async () => {
    const { api, store } = setup()
    await store.reload()
    await store.exportLog('csv')
    expect(api.callsOf('exportNodeLog').at(-1)?.[0]).toEqual({ node: store.node, format: 'csv' })
    expect(store.exported?.path).toMatch(/node-\d-log\.csv$/)
  })
})
