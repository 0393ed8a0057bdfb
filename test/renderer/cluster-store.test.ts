// @vitest-environment happy-dom
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useAppStore } from '../../src/renderer/stores/app'
import { useClusterStore } from '../../src/renderer/stores/cluster'
import { useUiStore } from '../../src/renderer/stores/ui'
import { testApp } from './support/app'

afterEach(() => {
  vi.useRealTimers()
})

describe('cluster store', () => {
  it('reads the status at start and follows every status push after it', async () => {
    const { api } = testApp({ nodes: 3 })
    const cluster = useClusterStore()
    await cluster.start()
    expect(cluster.exists).toBe(true)
    expect(cluster.nodes).toHaveLength(3)
    const first = cluster.leader
    expect(first).not.toBeNull()

    // A change made by someone else (another window, the CLI) arrives only as a push.
    const pushed = api.snapshot()
    api.emit('status', { ...pushed, term: pushed.term + 5, leader: null })
    expect(cluster.term).toBe(pushed.term + 5)
    expect(cluster.leader).toBeNull()
    expect(api.listenerCount('status')).toBe(1)

    cluster.stop()
    api.emit('status', { ...pushed, term: 999 })
    expect(cluster.term).toBe(pushed.term + 5)
    expect(api.listenerCount('status')).toBe(0)
  })

  it('subscribes once however often it is started', async () => {
    const { api } = testApp()
    const cluster = useClusterStore()
    await cluster.start()
    await cluster.start()
    expect(api.listenerCount('status')).toBe(1)
  })

  it('kills a node through the API and shows the new leader', async () => {
    const { api } = testApp({ nodes: 3 })
    const cluster = useClusterStore()
    await cluster.start()
    const old = cluster.leader as number
    await cluster.killNode(old)
    expect(api.callsOf('killNode')).toEqual([[old]])
    expect(cluster.nodes.find((n) => n.id === old)?.process).toBe('stopped')
    expect(cluster.leader).not.toBeNull()
    expect(cluster.leader).not.toBe(old)
  })

  it('marks a call as pending while it runs', async () => {
    const { api } = testApp({ nodes: 3, latencyMs: 20 })
    const cluster = useClusterStore()
    await cluster.start()
    const pause = cluster.nodeAction('pause', 2)
    expect(cluster.isPending('pause:2')).toBe(true)
    expect(cluster.isPending('pause:1')).toBe(false)
    await pause
    expect(cluster.isPending('pause:2')).toBe(false)
    expect(api.state.nodes.find((n) => n.id === 2)?.process).toBe('paused')
  })

  it('turns a failed call into a readable toast, never a thrown error', async () => {
    const { api } = testApp({ nodes: 3 })
    const cluster = useClusterStore()
    const ui = useUiStore()
    await cluster.start()
    api.failNext(
      'killNode',
      "Error invoking remote method 'raftlab:killNode': Error: node 2 is gone",
    )
    await expect(cluster.killNode(2)).resolves.toBeUndefined()
    expect(ui.toasts).toHaveLength(1)
    expect(ui.toasts[0]?.kind).toBe('error')
    expect(ui.toasts[0]?.message).toBe('Killing node 2 failed: node 2 is gone')
  })

  it('reports the host’s own refusal (an unknown node) with the host’s words', async () => {
    testApp({ nodes: 3 })
    const cluster = useClusterStore()
    const ui = useUiStore()
    await cluster.start()
    await cluster.nodeAction('stop', 9)
    expect(ui.toasts.at(-1)?.message).toMatch(/^Stopping node 9 failed: node 9 is not in cluster/)
  })

  it('keeps the reason when the status cannot be read, and the connection as lost', async () => {
    const { api } = testApp()
    const cluster = useClusterStore()
    const app = useAppStore()
    api.failNext('status', 'socket closed')
    api.failNext('appInfo', 'socket closed')
    await cluster.start()
    await flushPromises()
    expect(cluster.status).toBeNull()
    expect(cluster.loadError).toBe('socket closed')
    expect(app.connection).toBe('lost')
    await cluster.refresh()
    expect(cluster.loadError).toBeNull()
    expect(cluster.status?.exists).toBe(true)
    expect(app.connection).toBe('connected')
  })

  it('a failed operation on a live host leaves the connection marked connected', async () => {
    const { api } = testApp()
    const cluster = useClusterStore()
    const app = useAppStore()
    await cluster.start()
    api.failNext('heal', 'not now')
    await cluster.heal()
    await flushPromises()
    expect(app.connection).toBe('connected')
  })

  it('creates a cluster in an empty workspace', async () => {
    const { api } = testApp({ nodes: 0 })
    const cluster = useClusterStore()
    await cluster.start()
    expect(cluster.exists).toBe(false)
    const ok = await cluster.createCluster({ nodes: 5, timing: { tickMs: 50 } })
    expect(ok).toBe(true)
    expect(api.callsOf('createCluster')).toEqual([[{ nodes: 5, timing: { tickMs: 50 } }]])
    expect(cluster.nodes).toHaveLength(5)
    expect(cluster.timing?.tickMs).toBe(50)
  })

  it('partitions, isolates, sets link faults and heals through the API', async () => {
    const { api } = testApp({ nodes: 3 })
    const cluster = useClusterStore()
    await cluster.start()
    await cluster.partition([[1], [2, 3]])
    expect(cluster.faults?.partitions).toEqual([[1], [2, 3]])
    await cluster.isolate(3)
    expect(cluster.faults?.partitions).toEqual([[3]])
    await cluster.setLinkFault({ from: 1, to: 2, delayMs: 200 })
    expect(cluster.faults?.links).toHaveLength(2)
    await cluster.heal()
    expect(cluster.faults).toEqual({ partitions: [], links: [], paused: [] })
    expect(api.calls.map((c) => c.method)).toEqual(
      expect.arrayContaining(['partition', 'isolate', 'setLinkFault', 'heal']),
    )
  })

  it('adds a node and announces it', async () => {
    vi.useFakeTimers()
    testApp({ nodes: 3 })
    const cluster = useClusterStore()
    const ui = useUiStore()
    await cluster.start()
    const view = await cluster.addNode()
    expect(view?.id).toBe(4)
    expect(cluster.nodes.map((n) => n.id)).toEqual([1, 2, 3, 4])
    expect(ui.toasts.at(-1)).toMatchObject({ kind: 'info', message: 'Node 4 joined the cluster' })
    vi.advanceTimersByTime(5000)
    expect(ui.toasts).toHaveLength(0)
  })

  it('changes the timing and refuses a nonsensical one with the host’s reason', async () => {
    testApp()
    const cluster = useClusterStore()
    const ui = useUiStore()
    await cluster.start()
    expect(await cluster.setTiming({ slowMotion: 20 })).toBe(true)
    expect(cluster.timing?.slowMotion).toBe(20)
    expect(await cluster.setTiming({ electionTicks: 1 })).toBe(false)
    expect(ui.toasts.at(-1)?.message).toMatch(/^Changing the timing failed: .*electionTicks/)
  })
})

describe('ui store', () => {
  it('tracks progress per task and drops a finished task after a moment', () => {
    vi.useFakeTimers()
    testApp()
    const ui = useUiStore()
    ui.trackProgress({ task: 'import', done: 0, total: 10, message: 'starting' })
    ui.trackProgress({ task: 'export', done: 0, total: null, message: 'writing' })
    ui.trackProgress({ task: 'import', done: 5, total: 10, message: 'half' })
    expect(ui.progress.map((p) => [p.task, p.done])).toEqual([
      ['export', 0],
      ['import', 5],
    ])
    ui.trackProgress({ task: 'import', done: 10, total: 10, message: 'done' })
    expect(ui.progress.find((p) => p.task === 'import')?.done).toBe(10)
    vi.advanceTimersByTime(2000)
    expect(ui.progress.map((p) => p.task)).toEqual(['export'])
  })

  it('keeps at most five toasts, dropping the oldest', () => {
    testApp()
    const ui = useUiStore()
    for (let i = 1; i <= 7; i++) ui.reportError(`Call ${i}`, new Error('no'))
    expect(ui.toasts.map((t) => t.message)).toEqual(
      [3, 4, 5, 6, 7].map((i) => `Call ${i} failed: no`),
    )
    ui.dismiss(ui.toasts[0]?.id ?? -1)
    expect(ui.toasts).toHaveLength(4)
  })
})

describe('app store', () => {
  it('learns the host and follows its progress pushes', async () => {
    const { api } = testApp()
    const app = useAppStore()
    const ui = useUiStore()
    await app.start()
    expect(app.info?.host).toBe('browser')
    expect(app.connection).toBe('connected')
    api.emit('progress', { task: 'export', done: 1, total: 4, message: 'writing logs' })
    expect(ui.progress).toEqual([{ task: 'export', done: 1, total: 4, message: 'writing logs' }])
    app.stop()
    expect(api.listenerCount('progress')).toBe(0)
  })

  it('marks the connection lost, with a toast, when the bridge’s socket closes', async () => {
    const { api } = testApp()
    let close: (reason: string) => void = () => {}
    // The shape the browser bridge's WireClient adds to ClusterApi.
    Object.assign(api, { closed: new Promise<string>((resolve) => (close = resolve)) })
    const app = useAppStore()
    const ui = useUiStore()
    await app.start()
    expect(app.connection).toBe('connected')
    close('code 1006')
    await flushPromises()
    expect(app.connection).toBe('lost')
    expect(ui.toasts.at(-1)?.message).toContain('closed (code 1006)')
    // A restarted `raftlab web` has a new token: the toast sends the user to its new URL.
    expect(ui.toasts.at(-1)?.message).toMatch(/open the URL it prints/)
  })
})
