// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import App from '../../src/renderer/App.vue'
import { shortcutOf, SHORTCUTS } from '../../src/renderer/composables/useShortcuts'
import { useUiStore } from '../../src/renderer/stores/ui'
import { testApp } from './support/app'
import type { FakeApiOptions } from './support/fakeapi'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.useRealTimers()
})

async function mountApp(options: FakeApiOptions = {}) {
  const t = testApp(options)
  wrapper = mount(App, { global: t.global, attachTo: document.body })
  await flushPromises()
  return { ...t, w: wrapper }
}

const byId = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`)

function press(key: string, init: KeyboardEventInit = {}, target: EventTarget = document.body) {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init })
  target.dispatchEvent(e)
  return e
}

describe('app shell', () => {
  it('navigates between the four views without a router', async () => {
    const { w } = await mountApp()
    expect(byId(w, 'view-cluster').exists()).toBe(true)
    expect(byId(w, 'nav-cluster').attributes('aria-current')).toBe('page')
    await byId(w, 'nav-events').trigger('click')
    expect(byId(w, 'view-events').exists()).toBe(true)
    expect(byId(w, 'view-cluster').exists()).toBe(false)
    expect(useUiStore().view).toBe('events')
    for (const view of ['keys', 'log', 'cluster'] as const) {
      await byId(w, `nav-${view}`).trigger('click')
      await flushPromises()
      expect(useUiStore().view).toBe(view)
      expect(byId(w, `nav-${view}`).attributes('aria-current')).toBe('page')
    }
  })

  it('shows workspace, leader, term and connection in the status bar, live', async () => {
    const { w, api } = await mountApp({ nodes: 3, workspace: '/home/ada/.raftlab' })
    expect(byId(w, 'status-workspace').text()).toBe('/home/ada/.raftlab')
    const leader = api.state.leader as number
    expect(byId(w, 'leader-badge').text()).toBe(`node ${leader}`)
    expect(byId(w, 'leader-badge').attributes('data-leader')).toBe(String(leader))
    expect(byId(w, 'status-term').text()).toBe(String(api.state.term))
    expect(byId(w, 'status-connection').text()).toContain('connected')
    await api.partition([[1], [2], [3]])
    await flushPromises()
    expect(byId(w, 'leader-badge').text()).toBe('no leader')
  })

  it('opens the help overlay with ? and lists every shortcut', async () => {
    const { w } = await mountApp()
    expect(byId(w, 'help-overlay').exists()).toBe(false)
    press('?')
    await flushPromises()
    expect(byId(w, 'help-overlay').exists()).toBe(true)
    for (const s of SHORTCUTS) expect(byId(w, `shortcut-${s.action}`).exists()).toBe(true)
    press('?')
    await flushPromises()
    expect(byId(w, 'help-overlay').exists()).toBe(false)
  })

  it('r reloads the cluster, but not while the user types in a field', async () => {
    const { w, api } = await mountApp()
    const before = api.callsOf('status').length
    const e = press('r')
    await flushPromises()
    expect(api.callsOf('status').length).toBe(before + 1)
    expect(e.defaultPrevented).toBe(true)
    const input = byId(w, 'fault-link-delay').element
    press('r', {}, input)
    await flushPromises()
    expect(api.callsOf('status').length).toBe(before + 1)
  })

  it('shows a failed call as a toast that can be dismissed', async () => {
    const { w, api } = await mountApp()
    api.failNext('heal', 'the manager refused: no cluster')
    await byId(w, 'fault-isolate-1').trigger('click')
    await flushPromises()
    await byId(w, 'fault-heal').trigger('click')
    await flushPromises()
    const toast = byId(w, 'toast')
    expect(toast.attributes('data-kind')).toBe('error')
    expect(toast.text()).toContain('Healing the network failed: the manager refused: no cluster')
    await toast.find('button').trigger('click')
    expect(byId(w, 'toast').exists()).toBe(false)
  })

  it('shows progress pushed by the host for long work', async () => {
    vi.useFakeTimers()
    const { w, api } = await mountApp()
    api.emit('progress', { task: 'import', done: 250, total: 1000, message: 'importing keys' })
    await flushPromises()
    const bar = byId(w, 'progress')
    expect(bar.attributes('data-task')).toBe('import')
    expect(bar.text()).toContain('250 / 1000')
    expect(bar.find('progress').attributes('value')).toBe('25')
    api.emit('progress', { task: 'import', done: 1000, total: 1000, message: 'done' })
    vi.advanceTimersByTime(2000)
    await flushPromises()
    expect(byId(w, 'progress').exists()).toBe(false)
  })

  it('a view that fails to render becomes a message, not a blank page', async () => {
    const t = testApp()
    const Broken = defineComponent({
      setup() {
        throw new Error('cannot read properties of undefined')
      },
      render: () => h('div'),
    })
    const ui = useUiStore()
    wrapper = mount(App, {
      global: { ...t.global, stubs: { EventsView: Broken } },
      attachTo: document.body,
    })
    await flushPromises()
    ui.show('events')
    await flushPromises()
    expect(ui.toasts.at(-1)?.message).toMatch(
      /^Showing the events view .* failed: cannot read properties of undefined$/,
    )
    expect(byId(wrapper, 'nav-cluster').exists()).toBe(true)
    expect(byId(wrapper, 'toast').exists()).toBe(true)
  })
})

describe('keyboard shortcuts', () => {
  const key = (k: string, init: KeyboardEventInit = {}, target?: EventTarget) => {
    const e = new KeyboardEvent('keydown', { key: k, ...init })
    if (target) Object.defineProperty(e, 'target', { value: target })
    return shortcutOf(e)
  }

  it('maps the documented keys to actions', () => {
    expect(key('/')).toBe('search')
    expect(key('k', { ctrlKey: true })).toBe('search')
    expect(key('K', { metaKey: true })).toBe('search')
    expect(key('r')).toBe('refresh')
    expect(key('Delete')).toBe('delete')
    expect(key('s', { ctrlKey: true })).toBe('save')
    expect(key('?', { shiftKey: true })).toBe('help')
    expect(key('x')).toBeNull()
    expect(key('r', { ctrlKey: true })).toBeNull()
  })

  it('leaves single keys to text fields but keeps Ctrl chords', () => {
    const input = document.createElement('input')
    const textarea = document.createElement('textarea')
    const checkbox = document.createElement('input')
    checkbox.type = 'checkbox'
    expect(key('r', {}, input)).toBeNull()
    expect(key('/', {}, textarea)).toBeNull()
    expect(key('Delete', {}, input)).toBeNull()
    expect(key('s', { ctrlKey: true }, textarea)).toBe('save')
    expect(key('r', {}, checkbox)).toBe('refresh')
  })
})
