import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ClusterEvent, ClusterEventKind } from '../../shared/api'
import { useApi } from '../api'
import { errorMessage } from '../errors'

/** How much history the timeline asks for at start and keeps in memory. */
export const TIMELINE_LIMIT = 2000

/** The event kinds in the order the filter offers them, grouped the way users think of them. */
export const EVENT_KIND_GROUPS: readonly {
  readonly label: string
  readonly kinds: readonly ClusterEventKind[]
}[] = [
  { label: 'Raft', kinds: ['leaderElected', 'termChanged', 'roleChanged'] },
  {
    label: 'Processes',
    kinds: ['nodeStarted', 'nodeExited', 'nodeKilled', 'nodePaused', 'nodeResumed'],
  },
  { label: 'Membership', kinds: ['membershipChanged', 'clusterCreated'] },
  { label: 'Snapshots', kinds: ['snapshotTaken', 'snapshotInstalled'] },
  { label: 'Faults and timing', kinds: ['faultChanged', 'timingChanged'] },
  { label: 'Keys', kinds: ['keyChanged'] },
  { label: 'Errors', kinds: ['error'] },
]

/**
 * The event timeline: the history the host keeps, then every pushed event. Subscribing comes
 * before reading the history, and both are merged by `seq`, so nothing that happens in between
 * is lost or shown twice.
 */
export const useEventsStore = defineStore('events', () => {
  const api = useApi()

  /** Oldest first, by seq. */
  const events = ref<ClusterEvent[]>([])
  const loadError = ref<string | null>(null)
  const loaded = ref(false)
  /** Kinds to show; empty shows every kind. */
  const kinds = ref<ClusterEventKind[]>([])
  /** The node to show events of; null shows all, including cluster-wide events. */
  const node = ref<number | null>(null)
  const text = ref('')
  const newestFirst = ref(true)
  let unsubscribe: (() => void) | null = null

  function merge(incoming: readonly ClusterEvent[]): void {
    if (incoming.length === 0) return
    // The common case, a push after everything known, needs no sort.
    let previous = events.value.at(-1)?.seq ?? 0
    let inOrder = true
    for (const e of incoming) {
      if (e.seq <= previous) {
        inOrder = false
        break
      }
      previous = e.seq
    }
    if (inOrder) {
      events.value = [...events.value, ...incoming].slice(-TIMELINE_LIMIT)
      return
    }
    const bySeq = new Map(events.value.map((e) => [e.seq, e]))
    for (const e of incoming) bySeq.set(e.seq, e)
    events.value = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-TIMELINE_LIMIT)
  }

  async function load(): Promise<void> {
    try {
      merge(await api.events({ limit: TIMELINE_LIMIT }))
      loadError.value = null
      loaded.value = true
    } catch (cause) {
      loadError.value = errorMessage(cause)
    }
  }

  function start(): Promise<void> {
    if (!unsubscribe) unsubscribe = api.on('event', (e) => merge([e]))
    return load()
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
  }

  function toggleKind(kind: ClusterEventKind): void {
    kinds.value = kinds.value.includes(kind)
      ? kinds.value.filter((k) => k !== kind)
      : [...kinds.value, kind]
  }

  function clearFilters(): void {
    kinds.value = []
    node.value = null
    text.value = ''
  }

  const nodesSeen = computed(() =>
    [...new Set(events.value.map((e) => e.node).filter((n): n is number => n !== null))].sort(
      (a, b) => a - b,
    ),
  )

  const counts = computed(() => {
    const c: Partial<Record<ClusterEventKind, number>> = {}
    for (const e of events.value) c[e.kind] = (c[e.kind] ?? 0) + 1
    return c
  })

  const filtered = computed(() => {
    const needle = text.value.trim().toLowerCase()
    const shown = events.value.filter(
      (e) =>
        (kinds.value.length === 0 || kinds.value.includes(e.kind)) &&
        (node.value === null || e.node === node.value) &&
        (!needle || e.message.toLowerCase().includes(needle)),
    )
    return newestFirst.value ? shown.reverse() : shown
  })

  return {
    events,
    loadError,
    loaded,
    kinds,
    node,
    text,
    newestFirst,
    nodesSeen,
    counts,
    filtered,
    start,
    stop,
    load,
    toggleKind,
    clearFilters,
  }
})
