// @vitest-environment happy-dom
import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { createApp } from 'vue'
import { base64ToBytes } from '../../src/shared/api'
import type { KeyListQuery } from '../../src/shared/api'
import { apiKey } from '../../src/renderer/api'
import { KEY_PAGE_SIZE, useKeysStore } from '../../src/renderer/stores/keys'
import { createFakeApi } from './support/fakeapi'
import type { FakeApiOptions } from './support/fakeapi'

function setup(options: FakeApiOptions = {}) {
  const api = createFakeApi(options)
  const pinia = createPinia()
  createApp({}).provide(apiKey, api).use(pinia)
  setActivePinia(pinia)
  return { api, store: useKeysStore() }
}

const numbered = (n: number, prefix = 'k/'): [string, string][] =>
  Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(6, '0')}`, `v${i}`])

const text = (b64: string): string => new TextDecoder().decode(base64ToBytes(b64))

describe('keys store: paging with the cursor', () => {
  it('loads the first page, then pages after the cursor up to a row far down', async () => {
    const { api, store } = setup()
    api.seedKeys(numbered(5_000))
    await store.search('')
    expect(store.rows).toHaveLength(KEY_PAGE_SIZE)
    expect(store.count).toBe(5_000)
    expect(store.cursor).toBe('k/000999')
    expect(store.exhausted).toBe(false)

    await store.ensureLoaded(3_200)
    expect(store.rows.length).toBeGreaterThan(3_200)
    const keys = store.rows.map((r) => r.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys).toEqual([...keys].sort())
    expect(keys[3_200]).toBe('k/003200')
    // Every page after the first asked for the keys after the last one it had.
    const lists = api.callsOf('listKeys').map((a) => a[0] as KeyListQuery)
    expect(lists[0]?.after).toBeUndefined()
    expect(lists.slice(1).every((q) => q.after !== undefined && q.keysOnly === true)).toBe(true)

    await store.ensureLoaded(10_000)
    expect(store.rows).toHaveLength(5_000)
    expect(store.exhausted).toBe(true)
    expect(store.cursor).toBeNull()
  })

  it('searches by prefix on the server and drops a page that answers an older search', async () => {
    const { api, store } = setup()
    api.seedKeys([...numbered(30, 'a/'), ...numbered(20, 'b/')])
    const older = store.search('a/')
    const newer = store.search('b/')
    await Promise.all([older, newer])
    expect(store.prefix).toBe('b/')
    expect(store.count).toBe(20)
    expect(store.rows.every((r) => r.key.startsWith('b/'))).toBe(true)
    expect(api.callsOf('listKeys').map((a) => (a[0] as KeyListQuery).prefix)).toEqual(['a/', 'b/'])
  })

  it('shows a failed page as a readable error', async () => {
    const { api, store } = setup()
    api.failNext('listKeys', 'etcdserver: no leader')
    await store.search('')
    expect(store.error).toBe('Could not list keys: etcdserver: no leader')
  })
})

describe('keys store: live updates from keyChanged events', () => {
  it('inserts a new key in order, updates a changed one and drops a deleted one', async () => {
    const { api, store } = setup({ keys: { '/a': '1', '/c': '3' } })
    await store.search('')
    expect(store.rows.map((r) => r.key)).toEqual(['/a', '/c'])

    await api.putKey({ key: '/b', value: '2' })
    await api.putKey({ key: '/a', value: 'one' })
    store.flushChanges()
    expect(store.rows.map((r) => r.key)).toEqual(['/a', '/b', '/c'])
    expect(store.count).toBe(3)
    const a = store.rows[0]
    const detail = await api.getKey('/a')
    expect(a?.modRevision).toBe(detail.kv?.modRevision)

    await api.deleteKey({ key: '/c' })
    store.flushChanges()
    expect(store.rows.map((r) => r.key)).toEqual(['/a', '/b'])
    expect(store.count).toBe(2)
  })

  it('applies changes after a short batch without being asked', async () => {
    const { api, store } = setup({ keys: { '/a': '1' } })
    await store.search('')
    await api.putKey({ key: '/z', value: 'late' })
    await expect.poll(() => store.rows.map((r) => r.key), { timeout: 2_000 }).toEqual(['/a', '/z'])
  })

  it('ignores keys outside the prefix and only recounts keys beyond the loaded pages', async () => {
    const { api, store } = setup()
    api.seedKeys(numbered(3_000))
    await store.search('k/')
    const loaded = store.rows.length
    await api.putKey({ key: 'other/x', value: '1' })
    await api.putKey({ key: 'k/999999', value: 'far' })
    store.flushChanges()
    await flushPromises()
    expect(store.rows).toHaveLength(loaded)
    expect(store.rows.some((r) => r.key === 'k/999999')).toBe(false)
    expect(store.count).toBe(3_001)
    // The list still reaches the new key when the user scrolls that far.
    await store.ensureLoaded(5_000)
    expect(store.rows.at(-1)?.key).toBe('k/999999')
  })

  it('reloads after a delete by prefix it cannot patch key by key', async () => {
    const { api, store } = setup()
    api.seedKeys([...numbered(10, 'a/'), ...numbered(10, 'b/')])
    await store.search('')
    await api.deleteKey({ key: 'a/', prefix: true })
    store.flushChanges()
    await flushPromises()
    expect(store.rows.map((r) => r.key).every((k) => k.startsWith('b/'))).toBe(true)
    expect(store.count).toBe(10)
  })

  it('tells the editor when someone else changes the open key', async () => {
    const { api, store } = setup({ keys: { '/cfg': 'v1' } })
    await store.search('')
    await store.select('/cfg')
    expect(store.remoteChange).toBeNull()
    await api.putKey({ key: '/cfg', value: 'v2' })
    store.flushChanges()
    expect(store.remoteChange?.type).toBe('put')
    expect(store.remoteChange?.modRevision).toBeGreaterThan(store.loadedModRevision)
  })
})

describe('keys store: compare-and-swap writes', () => {
  it('sends the loaded mod_revision and refuses a stale edit, then saves after a reload', async () => {
    const { api, store } = setup({ keys: { '/cfg': 'v1' } })
    await store.search('')
    await store.select('/cfg')
    const loadedAt = store.loadedModRevision
    expect(loadedAt).toBeGreaterThan(0)

    // Someone else writes while the editor holds v1.
    await api.putKey({ key: '/cfg', value: 'theirs' })
    expect(await store.save('/cfg', 'mine')).toBe('stale')
    const put = api.callsOf('putKey').at(-1)?.[0] as { expectModRevision?: number }
    expect(put.expectModRevision).toBe(loadedAt)
    expect(store.stale?.action).toBe('save')
    expect(text(store.stale?.current?.value ?? '')).toBe('theirs')
    expect(text((await api.getKey('/cfg')).kv?.value ?? '')).toBe('theirs')

    await store.loadDetail()
    expect(store.stale).toBeNull()
    expect(text(store.detail?.kv?.value ?? '')).toBe('theirs')
    expect(await store.save('/cfg', 'mine')).toBe('done')
    expect(text((await api.getKey('/cfg')).kv?.value ?? '')).toBe('mine')
    expect(store.loadedModRevision).toBe((await api.getKey('/cfg')).kv?.modRevision)
  })

  it('writes over a newer value only when forced', async () => {
    const { api, store } = setup({ keys: { '/cfg': 'v1' } })
    await store.select('/cfg')
    await api.putKey({ key: '/cfg', value: 'theirs' })
    expect(await store.save('/cfg', 'mine')).toBe('stale')
    expect(await store.save('/cfg', 'mine', { force: true })).toBe('done')
    expect(text((await api.getKey('/cfg')).kv?.value ?? '')).toBe('mine')
  })

  it('creates a key only if it is absent', async () => {
    const { api, store } = setup({ keys: { '/taken': 'x' } })
    await store.search('')
    store.startNew()
    expect(await store.save('/taken', 'y')).toBe('stale')
    expect(store.stale?.current?.key).toBe('/taken')
    expect(await store.save('/fresh', 'y', { ttl: 30 })).toBe('done')
    const put = api.callsOf('putKey').at(-1)?.[0] as { expectModRevision?: number; ttl?: number }
    expect(put).toMatchObject({ expectModRevision: 0, ttl: 30 })
    expect(store.selectedKey).toBe('/fresh')
    expect(store.creating).toBe(false)
    expect(store.rows.map((r) => r.key)).toContain('/fresh')
    expect(store.detail?.leaseTtl).toBe(30)
  })

  it('deletes with compare-and-swap and refuses a delete of a changed key', async () => {
    const { api, store } = setup({ keys: { '/a': '1', '/b': '2' } })
    await store.search('')
    await store.select('/a')
    await api.putKey({ key: '/a', value: 'changed' })
    expect(await store.remove('/a')).toBe('stale')
    expect(store.stale?.action).toBe('delete')
    expect((await api.getKey('/a')).kv).not.toBeNull()

    await store.select('/b')
    expect(await store.remove('/b')).toBe('done')
    expect((await api.getKey('/b')).kv).toBeNull()
    expect(store.rows.map((r) => r.key)).toEqual(['/a'])
    expect(store.selectedKey).toBeNull()
  })

  it('deletes by prefix and refuses an empty prefix', async () => {
    const { api, store } = setup()
    api.seedKeys([...numbered(5, 'a/'), ...numbered(3, 'b/')])
    await store.search('a/')
    expect(await store.removePrefix('')).toBeNull()
    expect(store.transfer).toMatchObject({
      ok: false,
      message: expect.stringMatching(/needs a prefix/),
    })
    expect(await store.removePrefix('a/')).toBe(5)
    expect(store.transfer).toEqual({ ok: true, message: 'Deleted 5 keys under a/.' })
    expect(store.count).toBe(0)
    expect((await api.listKeys({})).count).toBe(3)
  })
})

describe('keys store: unsaved edits', () => {
  it('holds a switch away from an unsaved edit until the user answers; a confirmed delete does not ask', async () => {
    const { store } = setup({ keys: { '/a': '1', '/b': '2' } })
    await store.search('')
    await store.select('/a')
    store.noteUnsaved(true)
    await store.select('/b')
    store.startNew()
    expect(store.selectedKey).toBe('/a')
    expect(store.creating).toBe(false)
    expect(store.pendingSwitch).toEqual({ kind: 'new' })
    // Undone by hand: nothing is left to lose, so nothing is left to ask.
    store.noteUnsaved(false)
    expect(store.pendingSwitch).toBeNull()

    store.noteUnsaved(true)
    store.closeEditor()
    await store.discardEdit()
    expect(store.selectedKey).toBeNull()
    expect(store.unsaved).toBe(false)

    await store.select('/a')
    store.noteUnsaved(true)
    expect(await store.remove('/a')).toBe('done')
    expect(store.selectedKey).toBeNull()
    expect(store.unsaved).toBe(false)
    await store.select('/b')
    expect(store.selectedKey).toBe('/b')
    expect(store.pendingSwitch).toBeNull()
  })
})

describe('keys store: import and export', () => {
  it('names the file and the field when an import is not a key export', async () => {
    const { api, store } = setup()
    expect(await store.importText('{ nope', 'keys.json')).toBeNull()
    expect(store.transfer?.message).toMatch(/^keys\.json is not JSON/)
    expect(await store.importText('{"keys":[{"key":"","value":"x"}]}', 'bad.json')).toBeNull()
    expect(store.transfer?.message).toMatch(/^bad\.json is not a key export at keys\.0\.key/)
    expect(store.transfer?.ok).toBe(false)
    // A file the user picked is not the list: the list itself has nothing wrong with it.
    expect(store.error).toBeNull()
    expect(api.callsOf('importKeys')).toHaveLength(0)
  })

  it('imports a valid export and lists the new keys; exports what the prefix matches', async () => {
    const { store } = setup({ keys: { '/keep': 'k' } })
    const dump = {
      keys: [
        { key: '/new/a', value: 'A' },
        { key: '/new/b', value: 'Qg==', base64: true },
      ],
    }
    const result = await store.importText(JSON.stringify(dump), 'dump.json')
    expect(result?.keys).toBe(2)
    expect(store.rows.map((r) => r.key)).toEqual(['/keep', '/new/a', '/new/b'])
    expect(store.transfer).toEqual({ ok: true, message: 'Imported 2 keys from dump.json.' })

    await store.search('/new/')
    const exported = await store.exportDump()
    expect(exported?.keys).toEqual([
      { key: '/new/a', value: 'A' },
      { key: '/new/b', value: 'B' },
    ])
  })
})

describe('keys store: event storms', () => {
  it('keeps the rows on screen while a bulk change reloads them, as deep as they were', async () => {
    const { api, store } = setup()
    api.seedKeys(numbered(5_000))
    await store.search('')
    await store.ensureLoaded(3_500)
    const depth = store.rows.length
    await api.importKeys({ keys: [{ key: 'k/000100x', value: 'new' }] })
    store.flushChanges()
    // Mid-reload the old rows are still there (the list does not jump to the top).
    expect(store.rows.length).toBe(depth)
    await expect.poll(() => store.loading).toBe(false)
    await flushPromises()
    expect(store.rows.length).toBeGreaterThanOrEqual(depth)
    expect(store.rows.map((r) => r.key)).toContain('k/000100x')
    expect(store.count).toBe(5_001)
  })

  it('reloads once per storm of bulk changes, not once per batch', async () => {
    const { api, store } = setup({ keys: { '/a': '1' } })
    await store.search('')
    const before = api.callsOf('listKeys').length
    const storm = (n: number) => {
      for (let i = 0; i < n; i++) {
        api.emit('event', {
          seq: 1_000 + i,
          at: 0,
          kind: 'keyChanged',
          node: 1,
          message: 'put',
          data: { key: `/storm/${i}`, type: 'put', modRevision: 10 + i },
        })
      }
      store.flushChanges()
    }
    await api.importKeys({
      keys: Array.from({ length: 800 }, (_, i) => ({ key: `/storm/${i}`, value: 'x' })),
    })
    storm(800)
    storm(800)
    storm(800)
    await flushPromises()
    await expect.poll(() => store.loading).toBe(false)
    // One reload, and one more for the batches that arrived while it ran.
    expect(api.callsOf('listKeys').length - before).toBe(2)
    expect(store.count).toBe(801)
  })
})
