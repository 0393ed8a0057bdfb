// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import type { VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { base64ToBytes } from '../../src/shared/api'
import type { KeyListQuery, LogQuery } from '../../src/shared/api'
import { apiKey } from '../../src/renderer/api'
import { useKeysStore } from '../../src/renderer/stores/keys'
import { useLogStore } from '../../src/renderer/stores/log'
import { useUiStore } from '../../src/renderer/stores/ui'
import { useShortcutListener } from '../../src/renderer/composables/useShortcuts'
import KeysView from '../../src/renderer/views/KeysView.vue'
import { createFakeApi } from './support/fakeapi'
import type { FakeApi, FakeApiOptions } from './support/fakeapi'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.restoreAllMocks()
})

async function mountView(options: FakeApiOptions = {}): Promise<{ api: FakeApi; w: VueWrapper }> {
  const api = createFakeApi(options)
  const pinia = createPinia()
  setActivePinia(pinia)
  // The app's one key listener is installed by App.vue; the shortcuts reach the view through it.
  // The view is shown the way App.vue shows it, so a test can leave it and come back.
  const ui = useUiStore()
  ui.show('keys')
  const Host = defineComponent({
    setup() {
      useShortcutListener()
      return () => (ui.view === 'keys' ? h(KeysView) : null)
    },
  })
  const w = mount(Host, {
    global: { plugins: [pinia], provide: { [apiKey as symbol]: api } },
    attachTo: document.body,
  })
  wrapper = w
  await flushPromises()
  return { api, w }
}

const text = (b64: string | undefined): string => new TextDecoder().decode(base64ToBytes(b64 ?? ''))
const byId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`)

describe('KeysView', () => {
  it('lists the keys and shows the selected key in the viewer, editor and metadata', async () => {
    const { w } = await mountView({
      keys: { '/app/config': '{"replicas":3}', '/app/name': 'demo' },
    })
    expect(byId(w, 'key-count').text()).toContain('2 keys')
    await byId(w, 'key-row-/app/config').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('/app/config')
    expect(byId(w, 'value-kind').text()).toBe('json')
    expect((byId(w, 'key-editor-value').element as HTMLTextAreaElement).value).toBe(
      '{"replicas":3}',
    )
    expect(byId(w, 'key-version').text()).toBe('1')
    expect(byId(w, 'key-history').findAll('li')).toHaveLength(1)
  })

  it('refuses a stale edit, shows that the key changed, and reloads on request', async () => {
    const { api, w } = await mountView({ keys: { '/cfg': 'v1' } })
    await byId(w, 'key-row-/cfg').trigger('click')
    await flushPromises()
    const loadedAt = (await api.getKey('/cfg')).kv?.modRevision

    // Another client writes while the user edits.
    await api.putKey({ key: '/cfg', value: 'theirs' })
    await byId(w, 'key-editor-value').setValue('mine')
    await byId(w, 'key-save').trigger('click')
    await flushPromises()

    const put = api.callsOf('putKey').at(-1)?.[0] as { value: string; expectModRevision: number }
    expect(put).toMatchObject({ value: 'mine', expectModRevision: loadedAt })
    expect(text((await api.getKey('/cfg')).kv?.value)).toBe('theirs')
    const banner = byId(w, 'stale-banner')
    expect(banner.text()).toContain('The key changed')
    expect(banner.text()).toContain('theirs')
    // The user's edit is still there until they choose.
    expect((byId(w, 'key-editor-value').element as HTMLTextAreaElement).value).toBe('mine')

    await byId(w, 'key-reload').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="stale-banner"]').exists()).toBe(false)
    expect((byId(w, 'key-editor-value').element as HTMLTextAreaElement).value).toBe('theirs')

    await byId(w, 'key-editor-value').setValue('mine again')
    await byId(w, 'key-save').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="stale-banner"]').exists()).toBe(false)
    expect(text((await api.getKey('/cfg')).kv?.value)).toBe('mine again')
  })

  it('saves with Ctrl+S, asks before Delete deletes, and deletes on confirmation', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1', '/b': '2' } })
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('11')
    await byId(w, 'key-editor-value').trigger('keydown', { key: 's', ctrlKey: true })
    await flushPromises()
    expect(text((await api.getKey('/a')).kv?.value)).toBe('11')

    await byId(w, 'key-list').trigger('keydown', { key: 'Delete' })
    expect(api.callsOf('deleteKey')).toHaveLength(0)
    await byId(w, 'key-delete-confirm').trigger('click')
    await flushPromises()
    expect((await api.getKey('/a')).kv).toBeNull()
    const del = api.callsOf('deleteKey')[0]?.[0] as { expectModRevision?: number }
    expect(del.expectModRevision).toBeGreaterThan(0)
    expect(w.find('[data-testid="key-row-/a"]').exists()).toBe(false)
  })

  it('moves the selection with the arrow keys', async () => {
    const { w } = await mountView({ keys: { '/a': '1', '/b': '2', '/c': '3' } })
    const list = byId(w, 'key-list')
    await list.trigger('keydown', { key: 'ArrowDown' })
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('/a')
    await list.trigger('keydown', { key: 'ArrowDown' })
    await list.trigger('keydown', { key: 'ArrowDown' })
    await list.trigger('keydown', { key: 'ArrowDown' })
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('/c')
    await list.trigger('keydown', { key: 'ArrowUp' })
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('/b')
    expect(byId(w, 'key-row-/b').classes()).toContain('selected')
  })

  it('opens a binary value as hex, saves edited bytes as base64, and refuses it as text', async () => {
    const { api, w } = await mountView({ keys: {} })
    await api.putKey({ key: '/bin', value: 'AAH/', base64: true })
    await useKeysStore().search('')
    await flushPromises()
    await byId(w, 'key-row-/bin').trigger('click')
    await flushPromises()
    expect(byId(w, 'value-kind').text()).toBe('binary')
    const value = () => (byId(w, 'key-editor-value').element as HTMLTextAreaElement).value
    expect(value()).toBe('00 01 ff')
    expect((byId(w, 'key-encoding-hex').element as HTMLInputElement).checked).toBe(true)

    await byId(w, 'key-encoding-text').setValue(true)
    expect(byId(w, 'key-error').text()).toMatch(/not UTF-8 text/)
    expect(value()).toBe('00 01 ff')
    expect((byId(w, 'key-encoding-text').element as HTMLInputElement).checked).toBe(false)

    await byId(w, 'key-editor-value').setValue('00 01 fe 7f')
    expect(w.find('[data-testid=key-dirty]').exists()).toBe(true)
    await byId(w, 'key-save').trigger('click')
    await flushPromises()
    const put = api.callsOf('putKey').at(-1)?.[0]
    expect(put).toMatchObject({ key: '/bin', value: 'AAH+fw==', base64: true })
    expect([...base64ToBytes((await api.getKey('/bin')).kv?.value ?? '')]).toEqual([
      0, 1, 0xfe, 0x7f,
    ])
    expect(w.find('[data-testid=key-dirty]').exists()).toBe(false)
  })

  it('creates a key through the new-key form', async () => {
    const { api, w } = await mountView({ keys: {} })
    expect(byId(w, 'keys-empty').text()).toBe('No keys.')
    await byId(w, 'key-new').trigger('click')
    await byId(w, 'key-editor-key').setValue('/made/here')
    await byId(w, 'key-editor-value').setValue('hello')
    await byId(w, 'key-save').trigger('click')
    await flushPromises()
    expect(text((await api.getKey('/made/here')).kv?.value)).toBe('hello')
    expect(byId(w, 'key-editor-title').text()).toBe('/made/here')
    expect(w.find('[data-testid="key-row-/made/here"]').exists()).toBe(true)
  })

  it('shows a key another client writes, live', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } })
    await api.putKey({ key: '/live', value: 'x' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(w.find('[data-testid="key-row-/live"]').exists()).toBe(true)
    expect(byId(w, 'key-count').text()).toContain('2 keys')
  })

  it('searches the server by prefix on Enter', async () => {
    const { api, w } = await mountView({ keys: { '/a/1': 'x', '/b/1': 'y', '/b/2': 'z' } })
    await byId(w, 'key-search').setValue('/b/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    const last = api.callsOf('listKeys').at(-1)?.[0] as KeyListQuery
    expect(last.prefix).toBe('/b/')
    expect(w.find('[data-testid="key-row-/a/1"]').exists()).toBe(false)
    expect(w.find('[data-testid="key-row-/b/2"]').exists()).toBe(true)
  })

  it('shows the keys as a tree by a configurable separator', async () => {
    const { w } = await mountView({ keys: { 'svc.web.port': '80', 'svc.db.port': '5432' } })
    await byId(w, 'key-mode-tree').trigger('click')
    await byId(w, 'key-separator').setValue('.')
    await flushPromises()
    await byId(w, 'key-folder-svc.').trigger('click')
    await byId(w, 'key-folder-svc.web.').trigger('click')
    await byId(w, 'key-row-svc.web.port').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('svc.web.port')
    expect(w.find('[data-testid="key-row-svc.db.port"]').exists()).toBe(false)
  })

  it('jumps to the Log view filtered on the key', async () => {
    const { api, w } = await mountView({ keys: { '/jump': 'here', '/other': 'x' } })
    await byId(w, 'key-row-/jump').trigger('click')
    await flushPromises()
    await byId(w, 'key-show-in-log').trigger('click')
    await flushPromises()
    expect(useUiStore().view).toBe('log')
    const log = useLogStore()
    expect(log.filters.key).toBe('/jump')
    const q = api.callsOf('readLog').at(-1)?.[0] as LogQuery
    expect(q.key).toBe('/jump')
    expect(log.entries.map((e) => e.summary)).toEqual(['put /jump = here'])
  })

  it('exports the keys under the prefix as a JSON download', async () => {
    const { w } = await mountView({ keys: { '/a/1': 'one', '/b': 'two' } })
    const blobs: Blob[] = []
    vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
      blobs.push(b as Blob)
      return 'blob:keys'
    })
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {})
    const clicked: string[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push(this.download)
    })
    await byId(w, 'key-search').setValue('/a/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    await byId(w, 'key-export').trigger('click')
    await flushPromises()
    expect(clicked).toEqual(['raftlab-keys-a.json'])
    expect(JSON.parse(await blobs[0]!.text())).toEqual({ keys: [{ key: '/a/1', value: 'one' }] })
    expect(byId(w, 'keys-message').text()).toBe('Exported 1 key.')
  })

  it('imports a JSON file picked in the file input', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } })
    const file = new File(
      [JSON.stringify({ keys: [{ key: '/imported', value: 'yes' }] })],
      'dump.json',
      {
        type: 'application/json',
      },
    )
    const input = byId(w, 'key-import-file')
    Object.defineProperty(input.element, 'files', { value: [file] })
    await input.trigger('change')
    await expect.poll(() => api.callsOf('importKeys').length).toBe(1)
    await flushPromises()
    expect(text((await api.getKey('/imported')).kv?.value)).toBe('yes')
    expect(byId(w, 'keys-message').text()).toBe('Imported 1 key from dump.json.')
    expect(w.find('[data-testid="key-row-/imported"]').exists()).toBe(true)
  })

  it('deletes every key under the searched prefix after a confirmation', async () => {
    const { api, w } = await mountView({ keys: { '/tmp/1': 'x', '/tmp/2': 'y', '/keep': 'z' } })
    await byId(w, 'key-search').setValue('/tmp/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    await byId(w, 'key-delete-prefix').trigger('click')
    expect(byId(w, 'key-delete-prefix-confirm').text()).toBe('Delete 2')
    expect(api.callsOf('deleteKey')).toHaveLength(0)
    await byId(w, 'key-delete-prefix-confirm').trigger('click')
    await flushPromises()
    expect(api.callsOf('deleteKey')[0]?.[0]).toEqual({ key: '/tmp/', prefix: true })
    expect((await api.listKeys({})).keys.map((k) => k.key)).toEqual(['/keep'])
    expect(byId(w, 'keys-empty').text()).toBe('No keys under /tmp/.')
  })

  it('counts one key in the singular when it asks before and tells after a delete by prefix', async () => {
    const { w } = await mountView({ keys: { '/imported/a': 'x', '/keep': 'z' } })
    await byId(w, 'key-search').setValue('/imported/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    expect(byId(w, 'key-count').text()).toMatch(/^1 key · /)
    await byId(w, 'key-delete-prefix').trigger('click')
    // One element holds the question, so the confirmation's flex gap cannot split off the "?".
    expect(byId(w, 'key-delete-prefix-question').text()).toBe('Delete the 1 key under /imported/?')
    await byId(w, 'key-delete-prefix-confirm').trigger('click')
    await flushPromises()
    expect(byId(w, 'keys-message').text()).toBe('Deleted 1 key under /imported/.')
  })

  it("replaces the last import's outcome with the next one, success or failure", async () => {
    const { w } = await mountView({ keys: { '/a': '1' } })
    const notes = () => w.findAll('[data-testid=keys-message], [data-testid=keys-error]')
    const pick = async (name: string, content: string): Promise<void> => {
      const input = byId(w, 'key-import-file')
      const file = new File([content], name, { type: 'application/json' })
      Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
      await input.trigger('change')
      await vi.waitFor(() => expect(notes().some((n) => n.text().includes(name))).toBe(true))
      await flushPromises()
    }

    await pick('good.json', JSON.stringify({ keys: [{ key: '/x', value: '1' }] }))
    expect(notes().map((n) => n.text())).toEqual(['Imported 1 key from good.json.'])
    expect(notes()[0]?.classes()).not.toContain('failed')

    await pick('bad.json', '{ not json')
    expect(notes()).toHaveLength(1)
    expect(notes()[0]?.text()).toMatch(/^bad\.json is not JSON/)
    expect(notes()[0]?.classes()).toContain('failed')
    expect(notes()[0]?.attributes('role')).toBe('alert')

    await pick('again.json', JSON.stringify({ keys: [{ key: '/y', value: '2' }] }))
    expect(notes().map((n) => n.text())).toEqual(['Imported 1 key from again.json.'])
  })

  it("dismisses the last transfer's outcome at the user's next action, not at live changes", async () => {
    const { api, w } = await mountView({ keys: { '/tmp/1': 'x', '/tmp/2': 'y', '/keep': 'z' } })
    await byId(w, 'key-search').setValue('/tmp/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    await byId(w, 'key-delete-prefix').trigger('click')
    await byId(w, 'key-delete-prefix-confirm').trigger('click')
    await flushPromises()
    expect(byId(w, 'keys-message').text()).toBe('Deleted 2 keys under /tmp/.')

    // Another client's write reloads the list; the line still tells what the user last did.
    await api.putKey({ key: '/tmp/3', value: 'new' })
    useKeysStore().flushChanges()
    await flushPromises()
    expect(w.find('[data-testid="key-row-/tmp/3"]').exists()).toBe(true)
    expect(byId(w, 'keys-message').text()).toBe('Deleted 2 keys under /tmp/.')

    // Opening a key is the user moving on.
    await byId(w, 'key-row-/tmp/3').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=keys-message]').exists()).toBe(false)

    // So is a search, after an export.
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:keys')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {})
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    await byId(w, 'key-export').trigger('click')
    await flushPromises()
    expect(byId(w, 'keys-message').text()).toBe('Exported 1 key.')
    await byId(w, 'key-search').setValue('/')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid=keys-message]').exists()).toBe(false)
  })

  it('asks before Close drops an unsaved edit, and keeps editing on request', async () => {
    const { w } = await mountView({ keys: { '/config/a': 'one' } })
    const value = () => (byId(w, 'key-editor-value').element as HTMLTextAreaElement).value
    await byId(w, 'key-row-/config/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('one, edited')

    await byId(w, 'key-editor-close').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-discard').text()).toContain('Discard your unsaved changes to /config/a?')
    expect(byId(w, 'key-discard').attributes('role')).toBe('alert')
    await byId(w, 'key-discard-cancel').trigger('click')
    expect(w.find('[data-testid=key-discard]').exists()).toBe(false)
    expect(value()).toBe('one, edited')
    expect(w.find('[data-testid=key-dirty]').exists()).toBe(true)

    await byId(w, 'key-editor-close').trigger('click')
    await byId(w, 'key-discard-confirm').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=key-editor]').exists()).toBe(false)

    // Nothing edited, nothing to ask.
    await byId(w, 'key-row-/config/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-close').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=key-editor]').exists()).toBe(false)
  })

  it('asks before another key, from a click, an arrow key or the tree, replaces an edit', async () => {
    const { w } = await mountView({ keys: { '/a': '1', '/b': '2', '/c': '3' } })
    const title = () => byId(w, 'key-editor-title').text()
    const value = () => (byId(w, 'key-editor-value').element as HTMLTextAreaElement).value
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('1 edited')

    // The row of the key being edited only keeps the edit.
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=key-discard]').exists()).toBe(false)
    expect(value()).toBe('1 edited')

    await byId(w, 'key-row-/b').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-discard').text()).toContain(
      'Discard your unsaved changes to /a and open /b?',
    )
    expect(title()).toBe('/a')
    expect(byId(w, 'key-row-/a').classes()).toContain('selected')
    expect(value()).toBe('1 edited')

    await byId(w, 'key-list').trigger('keydown', { key: 'ArrowDown' })
    await flushPromises()
    expect(byId(w, 'key-discard').text()).toContain('and open /b?')
    expect(title()).toBe('/a')
    await byId(w, 'key-discard-confirm').trigger('click')
    await flushPromises()
    expect(title()).toBe('/b')
    expect(value()).toBe('2')
    expect(w.find('[data-testid=key-discard]').exists()).toBe(false)
    expect(w.find('[data-testid=key-dirty]').exists()).toBe(false)

    // The tree asks the same.
    await byId(w, 'key-editor-value').setValue('2 edited')
    await byId(w, 'key-mode-tree').trigger('click')
    await flushPromises()
    await byId(w, 'key-folder-/').trigger('click')
    await byId(w, 'key-row-/c').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-discard').text()).toContain('and open /c?')
    expect(title()).toBe('/b')
    await byId(w, 'key-discard-cancel').trigger('click')
    expect(value()).toBe('2 edited')
  })

  it('asks before a new key replaces an edit, and treats a typed name as one', async () => {
    const { w } = await mountView({ keys: { '/a': '1' } })
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('changed')
    await byId(w, 'key-new').trigger('click')
    expect(byId(w, 'key-discard').text()).toContain(
      'Discard your unsaved changes to /a and start a new key?',
    )
    expect(byId(w, 'key-editor-title').text()).toBe('/a')
    await byId(w, 'key-discard-confirm').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=key-editor-key]').exists()).toBe(true)

    await byId(w, 'key-editor-key').setValue('/draft')
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-discard').text()).toContain('Discard your new key /draft and open /a?')
  })

  it('drops the question once the edit is saved', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1', '/b': '2' } })
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('11')
    await byId(w, 'key-row-/b').trigger('click')
    expect(w.find('[data-testid=key-discard]').exists()).toBe(true)
    await byId(w, 'key-save').trigger('click')
    await flushPromises()
    expect(text((await api.getKey('/a')).kv?.value)).toBe('11')
    expect(w.find('[data-testid=key-discard]').exists()).toBe(false)
    await byId(w, 'key-row-/b').trigger('click')
    await flushPromises()
    expect(byId(w, 'key-editor-title').text()).toBe('/b')
  })

  it('keeps an unsaved edit while the user is in another view', async () => {
    const { w } = await mountView({ keys: { '/a': '1' } })
    const ui = useUiStore()
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('1 edited')

    ui.show('log')
    await flushPromises()
    expect(w.find('[data-testid=key-editor]').exists()).toBe(false)
    ui.show('keys')
    await flushPromises()
    expect((byId(w, 'key-editor-value').element as HTMLTextAreaElement).value).toBe('1 edited')
    expect(w.find('[data-testid=key-dirty]').exists()).toBe(true)
    await byId(w, 'key-editor-close').trigger('click')
    expect(w.find('[data-testid=key-discard]').exists()).toBe(true)
  })

  it('says that Reload after a remote change discards an unsaved edit', async () => {
    const { api, w } = await mountView({ keys: { '/cfg': 'v1' } })
    await byId(w, 'key-row-/cfg').trigger('click')
    await flushPromises()
    await api.putKey({ key: '/cfg', value: 'theirs' })
    useKeysStore().flushChanges()
    await flushPromises()
    // Nothing typed: a reload loses nothing.
    expect(byId(w, 'key-remote-reload').text()).toBe('Reload')

    await byId(w, 'key-editor-value').setValue('mine')
    expect(byId(w, 'key-remote-reload').text()).toBe('Reload (discard my edit)')
    await byId(w, 'key-remote-reload').trigger('click')
    await flushPromises()
    expect((byId(w, 'key-editor-value').element as HTMLTextAreaElement).value).toBe('theirs')
    expect(w.find('[data-testid=key-remote-change]').exists()).toBe(false)
  })

  it('forgets the keys, the open key and a kept edit of a destroyed cluster', async () => {
    const { api, w } = await mountView({ keys: { '/old/a': '1', '/old/b': '2' } })
    const ui = useUiStore()
    await byId(w, 'key-row-/old/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('1 edited')
    // The edit is kept while the user is away, destroying the cluster and making a new one.
    ui.show('cluster')
    await flushPromises()
    await api.destroyCluster()
    await api.createCluster({ nodes: 3 })
    await api.putKey({ key: '/new/x', value: 'fresh' })
    await flushPromises()
    const store = useKeysStore()
    expect(store.selectedKey).toBeNull()
    expect(store.unsaved).toBe(false)

    ui.show('keys')
    await flushPromises()
    expect(w.find('[data-testid=key-editor]').exists()).toBe(false)
    expect(w.find('[data-testid="key-row-/old/a"]').exists()).toBe(false)
    expect(w.find('[data-testid="key-row-/new/x"]').exists()).toBe(true)
    expect(byId(w, 'key-count').text()).toContain('1 key')
    // Nothing asks about the edit that went with the old cluster.
    await byId(w, 'key-row-/new/x').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid=key-discard]').exists()).toBe(false)
    expect(byId(w, 'key-editor-title').text()).toBe('/new/x')
  })

  it('closes an open edit when the cluster is destroyed under the view', async () => {
    const { api, w } = await mountView({ keys: { '/a': '1' } })
    await byId(w, 'key-row-/a').trigger('click')
    await flushPromises()
    await byId(w, 'key-editor-value').setValue('1 edited')
    await api.destroyCluster()
    await flushPromises()
    expect(w.find('[data-testid=key-editor]').exists()).toBe(false)
    expect(w.find('[data-testid="key-row-/a"]').exists()).toBe(false)
    expect(useKeysStore().unsaved).toBe(false)
  })

  it('shows a failed call as a readable message instead of an empty list', async () => {
    const api = createFakeApi({ keys: { '/a': '1' } })
    api.failNext('listKeys', 'etcdserver: request timed out')
    const pinia = createPinia()
    setActivePinia(pinia)
    const w = mount(KeysView, {
      global: { plugins: [pinia], provide: { [apiKey as symbol]: api } },
    })
    wrapper = w
    await flushPromises()
    expect(byId(w, 'keys-error').text()).toBe('Could not list keys: etcdserver: request timed out')
  })
})
