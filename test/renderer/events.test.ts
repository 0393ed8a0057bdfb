// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import type { ClusterEvent } from '../../src/shared/api'
import { EVENT_PAGE, TEXT_FILTER_DELAY_MS, useEventsStore } from '../../src/renderer/stores/events'
import EventsView from '../../src/renderer/views/EventsView.vue'
import type { FakeApi } from './support/fakeapi'
import { testApp } from './support/app'

function event(seq: number, over: Partial<ClusterEvent> = {}): ClusterEvent {
  return {
    seq,
    at: 1_700_000_000_000 + seq,
    kind: 'nodeStarted',
    node: 1,
    message: `event ${seq}`,
    data: {},
    ...over,
  }
}

/**
 * The history QA found: two kills, then a bulk import's key changes, far more than a page, so
 * the kills are only on the host until someone asks for them.
 */
function seedLongHistory(api: FakeApi, keyChanges = 2500): void {
  api.state.events.push(
    event(1, { kind: 'nodeKilled', node: 2, message: 'node 2 killed (SIGKILL)' }),
    event(2, { kind: 'nodeKilled', node: 3, message: 'node 3 killed (SIGKILL)' }),
  )
  for (let i = 0; i < keyChanges; i++) {
    api.state.events.push(event(3 + i, { kind: 'keyChanged', node: 1, message: `put /k/${i}` }))
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('events store', () => {
  it('merges the history and the pushes by seq, without losing or doubling any', async () => {
    const { api } = testApp({ nodes: 3 })
    const events = useEventsStore()
    const historySize = api.state.events.length
    expect(historySize).toBeGreaterThan(0)
    const loading = events.start()
    // Pushed while the history is on its way: one event the history also holds, one it does not.
    const last = api.state.events.at(-1) as ClusterEvent
    api.emit('event', last)
    api.emit('event', event(last.seq + 1, { kind: 'error', message: 'late' }))
    await loading
    const seqs = events.events.map((e) => e.seq)
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b))
    expect(seqs).toHaveLength(historySize + 1)
    expect(events.events.at(-1)?.message).toBe('late')
  })

  it('follows live events from the API', async () => {
    const { api } = testApp({ nodes: 3 })
    const events = useEventsStore()
    await events.start()
    await api.killNode(2)
    const kinds = events.events.map((e) => e.kind)
    expect(kinds).toContain('nodeKilled')
  })

  it('filters and counts on the host, so events older than any page are found', async () => {
    const { api } = testApp({ nodes: 0 })
    seedLongHistory(api)
    const events = useEventsStore()
    await events.start()
    // One page is loaded, but the counts are the whole history's.
    expect(events.events).toHaveLength(EVENT_PAGE)
    expect(events.counts).toMatchObject({ nodeKilled: 2, keyChanged: 2500 })
    expect(events.matching).toBe(2502)
    expect(events.all).toBe(2502)
    expect(events.nodesSeen).toEqual([1, 2, 3])

    events.toggleKind('nodeKilled')
    await flushPromises()
    expect(events.filtered.map((e) => e.seq)).toEqual([2, 1])
    expect(events.matching).toBe(2)
    expect(events.hasOlder).toBe(false)
    expect(api.callsOf('events').at(-1)?.[0]).toMatchObject({ kinds: ['nodeKilled'] })

    events.node = 3
    await flushPromises()
    expect(events.filtered.map((e) => e.seq)).toEqual([2])
    expect(events.counts).toEqual({ nodeKilled: 1 })

    events.clearFilters()
    events.text = 'NODE 2 KILLED'
    await pause(TEXT_FILTER_DELAY_MS + 20)
    await flushPromises()
    expect(events.filtered.map((e) => e.seq)).toEqual([1])
    expect(events.counts).toEqual({ nodeKilled: 1 })
    expect(events.all).toBe(2502)

    events.clearFilters()
    await flushPromises()
    events.newestFirst = false
    expect(events.filtered[0]?.seq).toBe(2503 - EVENT_PAGE)
  })

  it('pages back through the whole history, one page from the host at a time', async () => {
    const { api } = testApp({ nodes: 0 })
    seedLongHistory(api, 1000)
    const events = useEventsStore()
    await events.start()
    while (events.hasOlder) await events.loadOlder()
    expect(events.events.map((e) => e.seq)).toEqual(Array.from({ length: 1002 }, (_, i) => i + 1))
    const pages = api.callsOf('events').map((args) => args[0] as { before?: number })
    expect(pages).toHaveLength(Math.ceil(1002 / EVENT_PAGE))
    expect(pages.slice(1).every((q) => q.before !== undefined)).toBe(true)
  })

  it('adds pushed events that pass the filters, and counts every one', async () => {
    const { api } = testApp({ nodes: 0 })
    seedLongHistory(api)
    const events = useEventsStore()
    await events.start()
    events.toggleKind('nodeKilled')
    await flushPromises()
    api.emit('event', event(2600, { kind: 'keyChanged', node: 1, message: 'put /late' }))
    api.emit('event', event(2601, { kind: 'nodeKilled', node: 1, message: 'node 1 killed' }))
    expect(events.filtered.map((e) => e.seq)).toEqual([2601, 2, 1])
    expect(events.counts).toMatchObject({ nodeKilled: 3, keyChanged: 2501 })
    expect(events.matching).toBe(3)
    expect(events.all).toBe(2504)
  })

  it('drops the events of a destroyed cluster, as the host does', async () => {
    const { api } = testApp({ nodes: 3 })
    const events = useEventsStore()
    await events.start()
    await api.killNode(2)
    expect(events.counts.nodeKilled).toBe(1)
    await api.destroyCluster()
    await flushPromises()
    expect(events.events.map((e) => e.kind)).toEqual(['clusterDestroyed'])
    expect(events.counts).toEqual({ clusterDestroyed: 1 })
    expect(events.nodesSeen).toEqual([])
  })

  it('keeps the reason when the history cannot be read', async () => {
    const { api } = testApp()
    const events = useEventsStore()
    api.failNext('events', 'the manager is gone')
    await events.start()
    expect(events.loadError).toBe('the manager is gone')
    await events.load()
    expect(events.loadError).toBeNull()
  })
})

describe('Events view', () => {
  it('shows the timeline and narrows it with the kind and node filters', async () => {
    const t = testApp({ nodes: 3 })
    const events = useEventsStore()
    await events.start()
    await t.api.killNode(3)
    await t.api.pauseNode(2)
    const w = mount(EventsView, { global: t.global })
    await flushPromises()
    const rows = () => w.findAll('[data-testid="event-row"]')
    expect(rows().length).toBe(t.api.state.events.length)
    // Newest first.
    const seqs = rows().map((r) => Number(r.attributes('data-seq')))
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a))
    expect(seqs[0]).toBe(t.api.state.events.at(-1)?.seq)

    await w.find('[data-testid="event-kind-nodeKilled"]').trigger('click')
    await flushPromises()
    expect(rows().map((r) => r.attributes('data-kind'))).toEqual(['nodeKilled'])
    expect(w.find('[data-testid="event-kind-nodeKilled"]').attributes('aria-pressed')).toBe('true')

    await w.find('[data-testid="event-clear-filters"]').trigger('click')
    await w.find('[data-testid="event-node-filter"]').setValue('2')
    await flushPromises()
    expect(rows().length).toBeGreaterThan(0)
    expect(rows().every((r) => r.attributes('data-node') === '2')).toBe(true)

    await w.find('[data-testid="event-kind-nodeKilled"]').trigger('click')
    await flushPromises()
    expect(rows()).toHaveLength(0)
    expect(w.find('[data-testid="events-empty"]').text()).toContain('No event matches')
    w.unmount()
  })

  it('adds pushed events to the top as they happen', async () => {
    const t = testApp({ nodes: 3 })
    await useEventsStore().start()
    const w = mount(EventsView, { global: t.global })
    await flushPromises()
    const before = w.findAll('[data-testid="event-row"]').length
    await t.api.isolate(1)
    await flushPromises()
    const rows = w.findAll('[data-testid="event-row"]')
    expect(rows.length).toBeGreaterThan(before)
    expect(rows.map((r) => r.attributes('data-kind'))).toContain('faultChanged')
    expect(Number(rows[0]?.attributes('data-seq'))).toBe(t.api.state.events.at(-1)?.seq)
    w.unmount()
  })

  it('text filter narrows by message', async () => {
    const t = testApp({ nodes: 3 })
    await useEventsStore().start()
    const w = mount(EventsView, { global: t.global })
    await flushPromises()
    await w.find('[data-testid="event-search"]').setValue('created')
    await pause(TEXT_FILTER_DELAY_MS + 20)
    await flushPromises()
    const rows = w.findAll('[data-testid="event-row"]')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.attributes('data-kind')).toBe('clusterCreated')
    const all = t.api.state.events.length
    expect(w.find('[data-testid="event-count"]').text()).toBe(`1 of 1 shown · ${all} events in all`)
    w.unmount()
  })

  it('shows true totals and reaches events older than the loaded ones', async () => {
    const t = testApp({ nodes: 0 })
    seedLongHistory(t.api)
    await useEventsStore().start()
    const w = mount(EventsView, { global: t.global })
    await flushPromises()
    const rows = () => w.findAll('[data-testid="event-row"]')
    const count = () => w.find('[data-testid="event-count"]').text()
    expect(count()).toBe(`${EVENT_PAGE} of 2502 shown`)
    expect(w.find('[data-testid="event-kind-nodeKilled"]').text()).toBe('nodeKilled 2')

    // Every loaded row is shown, so the button asks the host for the page before them.
    await w.find('[data-testid="events-older"]').trigger('click')
    await flushPromises()
    expect(rows()).toHaveLength(2 * EVENT_PAGE)
    expect(count()).toBe(`${2 * EVENT_PAGE} of 2502 shown`)
    expect(Number(rows().at(-1)?.attributes('data-seq'))).toBe(2503 - 2 * EVENT_PAGE)

    await w.find('[data-testid="event-kind-nodeKilled"]').trigger('click')
    await flushPromises()
    expect(rows().map((r) => r.attributes('data-seq'))).toEqual(['2', '1'])
    expect(count()).toBe('2 of 2 shown · 2502 events in all')
    expect(w.find('[data-testid="events-older"]').exists()).toBe(false)
    w.unmount()
  })

  it('offers "Load older events" once, next to the oldest row shown in either order', async () => {
    const t = testApp({ nodes: 0 })
    seedLongHistory(t.api)
    await useEventsStore().start()
    const w = mount(EventsView, { global: t.global })
    await flushPromises()
    /** The list's rows and buttons in document order, by test id. */
    const order = () =>
      w
        .findAll('[data-testid="event-row"], [data-testid^="events-"]')
        .map((e) => e.attributes('data-testid'))
        .filter((id) => id === 'events-older' || id === 'event-row')
    const older = () => w.findAll('[data-testid="events-older"]')

    // Newest first: below the rows, where the older events will appear.
    expect(older()).toHaveLength(1)
    expect(order().at(-1)).toBe('events-older')
    expect(order().indexOf('events-older')).toBe(EVENT_PAGE)

    await w.find('[data-testid="event-newest-first"]').setValue(false)
    await flushPromises()
    // Oldest first: above them.
    expect(older()).toHaveLength(1)
    expect(order()[0]).toBe('events-older')

    await older()[0]?.trigger('click')
    await flushPromises()
    expect(w.findAll('[data-testid="event-row"]')).toHaveLength(2 * EVENT_PAGE)
    expect(older()).toHaveLength(1)
    w.unmount()
  })
})
