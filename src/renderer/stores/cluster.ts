import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  ClusterStatus,
  CreateClusterInput,
  ExportResult,
  FaultsView,
  LinkFaultInput,
  NodeView,
  TimingInput,
  TimingView,
} from '../../shared/api'
import { useApi } from '../api'
import { errorMessage } from '../errors'
import { departedIds, liveLeader, memberNodes } from '../utils/nodes'
import { useAppStore } from './app'
import { useUiStore } from './ui'

/** The node actions a user can take from a row of the node table. */
export type NodeAction =
  'start' | 'stop' | 'kill' | 'pause' | 'resume' | 'restart' | 'remove' | 'promote' | 'transfer'

const ACTION_LABEL: Record<NodeAction, string> = {
  start: 'Starting',
  stop: 'Stopping',
  kill: 'Killing',
  pause: 'Pausing',
  resume: 'Resuming',
  restart: 'Restarting',
  remove: 'Removing',
  promote: 'Promoting',
  transfer: 'Moving leadership to',
}

/**
 * The cluster as the host last described it. Pushed 'status' events keep it current; every
 * call's own result is folded in too, so the view never waits for the next push to show what
 * the user just did. Failed calls become toasts (the store never throws at a component).
 */
export const useClusterStore = defineStore('cluster', () => {
  const api = useApi()
  const ui = useUiStore()
  const app = useAppStore()

  const status = ref<ClusterStatus | null>(null)
  /** Why the last status could not be read; the view shows it in place of the cluster. */
  const loadError = ref<string | null>(null)
  const loading = ref(false)
  /** Keys of the calls in flight ("kill:2", "heal", …), so buttons can show they are busy. */
  const pending = ref<ReadonlySet<string>>(new Set())
  /**
   * The last debug bundle written this session, so its path stays on screen to copy; only
   * while its cluster exists (a new cluster's page must not offer the old one's bundle).
   */
  const lastBundle = ref<ExportResult | null>(null)
  let unsubscribe: (() => void) | null = null

  const exists = computed(() => status.value?.exists ?? false)
  const nodes = computed<readonly NodeView[]>(() => status.value?.nodes ?? [])
  /** The nodes still in the cluster: removed ones stay in the status (their logs remain). */
  const members = computed(() => memberNodes(status.value))
  /** Nodes listed for their data only: removed, or stopped and out of the leader's configuration. */
  const departed = computed(() => departedIds(status.value))
  /**
   * Nodes whose removal is under way: asked for from this window, or named by the host's
   * change in progress ("removing node 2", as ClusterService.removeNode calls it), so a
   * removal started from the CLI shows too.
   */
  const removing = computed<ReadonlySet<number>>(() => {
    const ids = new Set<number>()
    for (const key of pending.value) {
      const own = /^remove:(\d+)$/.exec(key)
      if (own) ids.add(Number(own[1]))
    }
    const host = /^removing node (\d+)$/.exec(status.value?.pendingChange ?? '')
    if (host) ids.add(Number(host[1]))
    return ids
  })
  /** Never a stopped or removed node, whatever the host's last word was. */
  const leader = computed(() => liveLeader(status.value))
  const term = computed(() => status.value?.term ?? 0)
  const faults = computed(() => status.value?.faults ?? null)
  const timing = computed(() => status.value?.timing ?? null)

  function accept(next: ClusterStatus): void {
    status.value = next
    loadError.value = null
    // Destroyed, here or by another client: the bundle belonged to the cluster that is gone.
    if (!next.exists) lastBundle.value = null
  }

  function start(): Promise<void> {
    if (!unsubscribe) {
      unsubscribe = api.on('status', (s) => {
        app.alive()
        accept(s)
      })
    }
    return refresh()
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
  }

  async function refresh(): Promise<void> {
    loading.value = true
    try {
      accept(await api.status())
      app.alive()
    } catch (cause) {
      loadError.value = errorMessage(cause)
      void app.probe()
    } finally {
      loading.value = false
    }
  }

  function isPending(key: string): boolean {
    return pending.value.has(key)
  }

  /**
   * Runs one call with its busy mark; on failure tells the user (`what` names the attempt)
   * and answers undefined.
   */
  async function run<T>(key: string, what: string, call: () => Promise<T>): Promise<T | undefined> {
    pending.value = new Set([...pending.value, key])
    try {
      const result = await call()
      app.alive()
      return result
    } catch (cause) {
      ui.reportError(what, cause)
      void app.probe()
      return undefined
    } finally {
      const rest = new Set(pending.value)
      rest.delete(key)
      pending.value = rest
    }
  }

  function patchNode(view: NodeView | undefined): void {
    const s = status.value
    if (!view || !s) return
    const known = s.nodes.some((n) => n.id === view.id)
    const nodes = known ? s.nodes.map((n) => (n.id === view.id ? view : n)) : [...s.nodes, view]
    status.value = { ...s, nodes }
  }

  function patchFaults(f: FaultsView | undefined): void {
    if (f && status.value) status.value = { ...status.value, faults: f }
  }

  function patchTiming(t: TimingView | undefined): void {
    if (t && status.value) status.value = { ...status.value, timing: t }
  }

  async function createCluster(input: CreateClusterInput): Promise<boolean> {
    const s = await run('create', 'Creating the cluster', () => api.createCluster(input))
    if (s) {
      // A create may replace a cluster without this client ever seeing it gone.
      lastBundle.value = null
      accept(s)
    }
    return s !== undefined
  }

  async function destroyCluster(): Promise<void> {
    const done = await run('destroy', 'Destroying the cluster', () => api.destroyCluster())
    if (done !== undefined) await refresh()
  }

  async function nodeAction(action: NodeAction, id: number): Promise<void> {
    const key = `${action}:${id}`
    const what = `${ACTION_LABEL[action]} node ${id}`
    switch (action) {
      case 'start':
        return patchNode(await run(key, what, () => api.startNode(id)))
      case 'stop':
        return patchNode(await run(key, what, () => api.stopNode(id)))
      case 'kill':
        return patchNode(await run(key, what, () => api.killNode(id)))
      case 'pause':
        return patchNode(await run(key, what, () => api.pauseNode(id)))
      case 'resume':
        return patchNode(await run(key, what, () => api.resumeNode(id)))
      case 'restart':
        return patchNode(await run(key, what, () => api.restartNode(id)))
      case 'promote':
        return patchNode(await run(key, what, () => api.promoteNode(id)))
      case 'remove': {
        const s = await run(key, what, () => api.removeNode(id))
        if (s) accept(s)
        return
      }
      case 'transfer': {
        const s = await run(key, what, () => api.transferLeadership(id))
        if (s) accept(s)
        return
      }
    }
  }

  const killNode = (id: number): Promise<void> => nodeAction('kill', id)

  async function addNode(): Promise<NodeView | undefined> {
    const view = await run('add', 'Adding a node', () => api.addNode())
    patchNode(view)
    if (view) ui.notify('info', `Node ${view.id} joined the cluster`)
    return view
  }

  async function startAll(): Promise<void> {
    const s = await run('startAll', 'Starting all nodes', () => api.startAll())
    if (s) accept(s)
  }

  async function stopAll(): Promise<void> {
    const s = await run('stopAll', 'Stopping all nodes', () => api.stopAll())
    if (s) accept(s)
  }

  async function partition(groups: number[][]): Promise<void> {
    const what = `Partitioning into ${groups.map((g) => `{${g.join(',')}}`).join(' ')}`
    patchFaults(await run('partition', what, () => api.partition(groups)))
  }

  async function isolate(id: number): Promise<void> {
    patchFaults(await run(`isolate:${id}`, `Isolating node ${id}`, () => api.isolate(id)))
  }

  async function setLinkFault(input: LinkFaultInput): Promise<void> {
    const what = `Setting the fault on link ${input.from}→${input.to}`
    patchFaults(await run('link', what, () => api.setLinkFault(input)))
  }

  async function heal(): Promise<void> {
    patchFaults(await run('heal', 'Healing the network', () => api.heal()))
  }

  async function setTiming(input: TimingInput): Promise<boolean> {
    const t = await run('timing', 'Changing the timing', () => api.setTiming(input))
    patchTiming(t)
    return t !== undefined
  }

  /**
   * Writes a debug bundle (the host pushes its progress; the shell shows it) and keeps where it
   * went. Answers the result, or undefined after telling the user why it failed.
   */
  async function exportBundle(): Promise<ExportResult | undefined> {
    const result = await run('exportBundle', 'Exporting the debug bundle', () =>
      api.exportBundle({}),
    )
    if (result) {
      lastBundle.value = result
      ui.notify('info', `Debug bundle written to ${result.path}`)
    }
    return result
  }

  return {
    status,
    lastBundle,
    exportBundle,
    loadError,
    loading,
    pending,
    exists,
    nodes,
    members,
    departed,
    removing,
    leader,
    term,
    faults,
    timing,
    start,
    stop,
    refresh,
    isPending,
    createCluster,
    destroyCluster,
    nodeAction,
    killNode,
    addNode,
    startAll,
    stopAll,
    partition,
    isolate,
    setLinkFault,
    heal,
    setTiming,
  }
})
