// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import type { ClusterEvent } from '../../src/shared/api'
import { useEventsStore } from '../../src/renderer/stores/events'
import EventsView from '../../src/renderer/views/EventsView.vue'
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

  it('filters by kind, node and text, newest first by default', async () => {
    const { api } = testApp({ nodes: 0 })
    const events = useEventsStore()
    await events.start()
    api.emit('event', event(1, { kind: 'nodeStarted', node: 1 }))
    api.emit('event', event(2, { kind: 'leaderElected', node: 2, message: 'node 2 leads' }))
    api.emit('event', event(3, { kind: 'nodeKilled', node: 2 }))
    api.emit('event', event(4, { kind: 'faultChanged', node: null, message: 'healed' }))
    expect(events.filtered.map((e) => e.seq)).toEqual([4, 3, 2, 1])
    events.node = 2
    expect(events.filtered.map((e) => e.seq)).toEqual([3, 2])
    events.toggleKind('leaderElected')
    expect(events.filtered.map((e) => e.seq)).toEqual([2])
    events.clearFilters()
    events.text = 'HEAL'
    expect(events.filtered.map((e) => e.seq)).toEqual([4])
    events.clearFilters()
    events.newestFirst = false
    expect(events.filtered.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(events.counts.nodeKilled).toBe(1)
    expect(events.nodesSeen).toEqual([1, 2])
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
    expect(rows().map((r) => r.attributes('data-kind'))).toEqual(['nodeKilled'])
    expect(w.find('[data-testid="event-kind-nodeKilled"]').attributes('aria-pressed')).toBe('true')

    await w.find('[data-testid="event-clear-filters"]').trigger('click')
    await w.find('[data-testid="event-node-filter"]').setValue('2')
    expect(rows().length).toBeGreaterThan(0)
    expect(rows().every((r) => r.attributes('data-node') === '2')).toBe(true)

    await w.find('[data-testid="event-kind-nodeKilled"]').trigger('click')
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
    const rows = w.findAll('[data-testid="event-row"]')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.attributes('data-kind')).toBe('clusterCreated')
    expect(w.find('[data-testid="event-count"]').text()).toMatch(/^1 of \d+ shown$/)
    w.unmount()
  })
})
