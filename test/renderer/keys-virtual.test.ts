// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import type { VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it } from 'vitest'
import { defineComponent, h } from 'vue'
import type { KeyListQuery, KeyView } from '../../src/shared/api'
import { apiKey } from '../../src/renderer/api'
import KeyList from '../../src/renderer/components/keys/KeyList.vue'
import KeyTree from '../../src/renderer/components/keys/KeyTree.vue'
import { useVirtualList } from '../../src/renderer/composables/useVirtualList'
import { useKeysStore } from '../../src/renderer/stores/keys'
import KeysView from '../../src/renderer/views/KeysView.vue'
import { createFakeApi } from './support/fakeapi'

const ROW = 26
const HUNDRED_THOUSAND = 100_000

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

function scrollTo(el: Element, top: number): void {
  ;(el as HTMLElement).scrollTop = top
  el.dispatchEvent(new Event('scroll'))
}

const keyOf = (i: number): string => `/bulk/${String(i).padStart(6, '0')}`

function keyView(i: number): KeyView {
  return {
    key: keyOf(i),
    value: '',
    size: 1,
    createRevision: i + 2,
    modRevision: i + 2,
    version: 1,
    lease: 0,
  }
}

describe('useVirtualList', () => {
  it('renders a window of rows around the scroll position, not all 100,000', async () => {
    const Probe = defineComponent({
      setup() {
        const list = useVirtualList({
          count: HUNDRED_THOUSAND,
          rowHeight: 20,
          overscan: 5,
          fallbackHeight: 400,
        })
        return () =>
          h('div', { ref: list.container, class: 'vp', onScroll: list.onScroll }, [
            h(
              'div',
              { style: { height: `${list.totalHeight.value}px` } },
              list.indexes.value.map((i) => h('div', { class: 'r', key: i }, String(i))),
            ),
          ])
      },
    })
    const w = mount(Probe)
    wrapper = w
    // 400 px of 20 px rows, plus 5 rows of overscan below (none above at the top).
    expect(w.findAll('.r').map((r) => r.text())).toEqual(
      Array.from({ length: 25 }, (_, i) => String(i)),
    )
    expect((w.get('.vp > div').element as HTMLElement).style.height).toBe('2000000px')

    scrollTo(w.get('.vp').element, 50_000 * 20)
    await flushPromises()
    const shown = w.findAll('.r').map((r) => Number(r.text()))
    expect(shown[0]).toBe(49_995)
    expect(shown.at(-1)).toBe(50_024)
    expect(shown).toHaveLength(30)
  })
})

describe('KeyList with 100,000 keys', () => {
  it('keeps only the visible rows in the DOM and asks for rows it has not loaded', async () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => keyView(i))
    const w = mount(KeyList, { props: { rows, count: HUNDRED_THOUSAND, selected: null } })
    wrapper = w
    const domRows = () => w.findAll('[data-testid^="key-row-"]')
    expect(domRows().length).toBeGreaterThan(10)
    expect(domRows().length).toBeLessThan(60)
    expect(domRows()[0]?.attributes('data-testid')).toBe(`key-row-${keyOf(0)}`)

    // Far beyond the loaded rows: placeholders, and a request for the last one on screen.
    scrollTo(w.get('[data-testid=key-list]').element, 80_000 * ROW)
    await flushPromises()
    expect(domRows()).toHaveLength(0)
    expect(w.findAll('.pending').length).toBeGreaterThan(10)
    const need = w.emitted('need') ?? []
    const asked = Number(need.at(-1)?.[0])
    expect(asked).toBeGreaterThan(80_000)
    expect(asked).toBeLessThan(80_300)
  })
})

describe('KeyTree with 100,000 keys', () => {
  it('adds appended pages to the tree, rebuilds after other changes, and renders a window', async () => {
    const all = Array.from({ length: HUNDRED_THOUSAND }, (_, i) => keyView(i))
    const first = all.slice(0, 40_000)
    const w = mount(KeyTree, {
      props: {
        rows: first,
        separator: '/',
        selected: null,
        count: HUNDRED_THOUSAND,
        exhausted: false,
      },
    })
    wrapper = w
    const size = () => w.get('[data-testid="key-folder-/bulk/"] .size').text()
    await w.get('[data-testid="key-folder-/"]').trigger('click')
    expect(size()).toBe('40000+')
    // The end of the tree is on screen: it asks for a big step of keys, not a screenful.
    const need = (w.emitted('need') ?? []).map((e) => Number(e[0]))
    expect(Math.max(...need)).toBeGreaterThanOrEqual(40_000 + 1_000)

    await w.setProps({ rows: first.concat(all.slice(40_000)), exhausted: true })
    expect(size()).toBe('100000')
    await w.get('[data-testid="key-folder-/bulk/"]').trigger('click')
    const shown = w.findAll('[data-testid^="key-row-"]')
    expect(shown.length).toBeGreaterThan(5)
    expect(shown.length).toBeLessThan(60)

    // A key deleted from the middle: not an append, so the tree is rebuilt without it.
    const fewer = all.filter((_, i) => i !== 3)
    await w.setProps({ rows: fewer })
    expect(size()).toBe('99999')
    expect(w.find(`[data-testid="key-row-${keyOf(3)}"]`).exists()).toBe(false)
    expect(w.find(`[data-testid="key-row-${keyOf(4)}"]`).exists()).toBe(true)
  })
})

describe('KeysView with 100,000 keys', () => {
  it('loads pages on demand as the list scrolls and shows the right keys at every depth', async () => {
    const api = createFakeApi()
    api.seedKeys(Array.from({ length: HUNDRED_THOUSAND }, (_, i) => [keyOf(i), `v${i}`] as const))
    const pinia = createPinia()
    setActivePinia(pinia)
    const w = mount(KeysView, {
      global: { plugins: [pinia], provide: { [apiKey as symbol]: api } },
    })
    wrapper = w
    await flushPromises()
    const store = useKeysStore()
    expect(store.count).toBe(HUNDRED_THOUSAND)
    expect(store.rows.length).toBeLessThan(HUNDRED_THOUSAND)
    const list = w.get('[data-testid=key-list]')

    for (const target of [5_000, 42_000, 99_990]) {
      scrollTo(list.element, target * ROW)
      await expect.poll(() => store.rows.length > target, { timeout: 10_000 }).toBe(true)
      await flushPromises()
      const shown = w.findAll('[data-testid^="key-row-"]')
      expect(shown.length).toBeLessThan(60)
      expect(shown.map((r) => r.attributes('data-testid'))).toContain(`key-row-${keyOf(target)}`)
    }
    // Pages came in key order through the cursor, never more than the API allows.
    const queries = api.callsOf('listKeys').map((a) => a[0] as KeyListQuery)
    expect(queries.every((q) => (q.limit ?? 0) <= 10_000)).toBe(true)
    const keys = store.rows.map((r) => r.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys[99_990]).toBe(keyOf(99_990))
  })
})
