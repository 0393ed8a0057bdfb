// @vitest-environment happy-dom
// The Keys header: the revision follows the newest one seen (live changes, later pages, own
// writes), not the first search's; and one key is "1 key".
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it } from 'vitest'
import { apiKey } from '../../src/renderer/api'
import { useKeysStore } from '../../src/renderer/stores/keys'
import KeysView from '../../src/renderer/views/KeysView.vue'
import { createFakeApi, type FakeApi, type FakeApiOptions } from './support/fakeapi'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

async function mountView(options: FakeApiOptions): Promise<{ api: FakeApi; w: VueWrapper }> {
  const api = createFakeApi(options)
  const pinia = createPinia()
  setActivePinia(pinia)
  const w = mount(KeysView, { global: { plugins: [pinia], provide: { [apiKey as symbol]: api } } })
  wrapper = w
  await flushPromises()
  return { api, w }
}

const countText = (w: VueWrapper): string =>
  w.get('[data-testid="key-count"]').text().replace(/\s+/g, ' ')

/** The revision the header names. */
function shownRevision(w: VueWrapper): number {
  const m = /revision (\d+)/.exec(countText(w))
  if (!m) throw new Error(`the key count names no revision: "${countText(w)}"`)
  return Number(m[1])
}

describe('Keys header', () => {
  it('says "1 key" for one key and "2 keys" for two', async () => {
    const { api, w } = await mountView({ keys: { '/only': 'x' } })
    expect(countText(w)).toMatch(/^1 key · revision \d+$/)
    await api.putKey({ key: '/second', value: 'y' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(countText(w)).toMatch(/^2 keys · revision \d+$/)
  })

  it('follows the newest revision of live changes, even outside the searched prefix', async () => {
    const { api, w } = await mountView({ keys: { '/a/1': 'x', '/b/1': 'y' } })
    const first = shownRevision(w)
    const put = await api.putKey({ key: '/a/2', value: 'z' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(put.revision).toBeGreaterThan(first)
    expect(shownRevision(w)).toBe(put.revision)

    // A write under another prefix still moves the keyspace's revision.
    await useKeysStore().search('/a/')
    await flushPromises()
    const other = await api.putKey({ key: '/b/2', value: 'w' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(shownRevision(w)).toBe(other.revision)
  })

  it('never goes back to an older revision', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } })
    const put = await api.putKey({ key: '/a', value: '2' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(shownRevision(w)).toBe(put.revision)
    // A late, older change (as events can arrive after a newer page) does not lower it.
    const store = useKeysStore()
    api.emit('event', {
      seq: 999,
      at: 0,
      kind: 'keyChanged',
      node: 1,
      message: 'put /a',
      data: { key: '/a', type: 'put', modRevision: put.revision - 1 },
    })
    store.flushChanges()
    await flushPromises()
    expect(shownRevision(w)).toBe(put.revision)
  })
})
