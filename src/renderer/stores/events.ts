import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import {
  clusterEventKinds,
  eventMatches,
  type ClusterEvent,
  type ClusterEventKind,
  type EventCounts,
  type EventFilter,
} from '../../shared/api'
import { useApi } from '../api'
import { errorMessage } from '../errors'

/** Events asked of the host per page: at start, after a filter changes, and per "Load older". */
export const EVENT_PAGE = 300
/**
 * The most events the timeline holds. The history on the host can be far longer; past this,
 * the view asks for narrower filters instead of loading more, so memory stays bounded.
 */
export const TIMELINE_LIMIT = 5000
/** Typing in the text filter asks the host once the typing pauses this long. */
export const TEXT_FILTER_DELAY_MS = 250

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
  { label: 'Membership', kinds: ['membershipChanged', 'clusterCreated', 'clusterDestroyed'] },
  { label: 'Snapshots', kinds: ['snapshotTaken', 'snapshotInstalled'] },
  { label: 'Faults and timing', kinds: ['faultChanged', 'timingChanged'] },
  { label: 'Keys', kinds: ['keyChanged'] },
  { label: 'Errors', kinds: ['error'] },
]

/**
 * The event timeline. The host keeps the whole history and applies the filters (kinds, node,
 * text), so the newest page that matches is loaded first and older pages on request; the
 * counts are the host's totals over the whole history, not over what is loaded. Pushed events
 * that pass the filters are added as they happen, and counted. Subscribing comes before
 * reading, and pages are merged by `seq`, so nothing that happens in between is lost or shown
 * twice.
 */
export const useEventsStore = defineStore('events', () => {
  const api = useApi()

  /** The loaded events that match the filters: the newest ones, oldest first, by seq. */
  const events = ref<ClusterEvent[]>([])
  const loadError = ref<string | null>(null)
  const loaded = ref(false)
  const loading = ref(false)
  /** False while the host may hold older matching events than the oldest loaded. */
  const reachedStart = ref(false)
  /** Kinds to show; empty shows every kind. */
  const kinds = ref<ClusterEventKind[]>([])
  /** The node to show events of; null shows all, including cluster-wide events. */
  const node = ref<number | null>(null)
  const text = ref('')
  const newestFirst = ref(true)
  /** The host's counts, with the pushed events since added; null until the first answer. */
  const totals = ref<EventCounts | null>(null)
  let unsubscribe: (() => void) | null = null
  /** Bumped by every reload, so an answer to an earlier filter is dropped. */
  let generation = 0
  let textTimer: ReturnType<typeof setTimeout> | undefined
  /** Events pushed while a reload is on its way, applied to its answer when it comes. */
  let pending: ClusterEvent[] | null = null

  function filter(): EventFilter {
    const t = text.value.trim()
    return {
      ...(kinds.value.length > 0 ? { kinds: kinds.value } : {}),
      ...(node.value !== null ? { node: node.value } : {}),
      ...(t !== '' ? { text: t } : {}),
    }
  }

  /** Adds events by seq, without doubles, keeping the newest TIMELINE_LIMIT. */
  function merge(incoming: readonly ClusterEvent[]): void {
    if (incoming.length === 0) return
    const last = events.value.at(-1)?.seq ?? 0
    const next = incoming.every((e, i) => e.seq > (i === 0 ? last : (incoming[i - 1]?.seq ?? 0)))
      ? // The common case, a push after everything loaded, needs no sort.
        [...events.value, ...incoming]
      : [...new Map([...events.value, ...incoming].map((e) => [e.seq, e])).values()].sort(
          (a, b) => a.seq - b.seq,
        )
    if (next.length > TIMELINE_LIMIT) reachedStart.value = false
    events.value = next.slice(-TIMELINE_LIMIT)
  }

  /** Adds a pushed event to the totals, unless the host counted it already. */
  function recount(e: ClusterEvent): void {
    const t = totals.value
    if (!t || e.seq <= t.lastSeq) return
    const counted = eventMatches(e, { ...filter(), kinds: [] })
    totals.value = {
      kinds: counted ? { ...t.kinds, [e.kind]: (t.kinds[e.kind] ?? 0) + 1 } : t.kinds,
      all: t.all + 1,
      nodes: e.node === null || t.nodes.includes(e.node) ? t.nodes : [...t.nodes, e.node],
      lastSeq: e.seq,
    }
  }

  function pushed(e: ClusterEvent): void {
    // The host has deleted the history (the cluster was destroyed): start again from it.
    if (e.kind === 'clusterDestroyed') {
      void load()
      return
    }
    pending?.push(e)
    recount(e)
    if (eventMatches(e, filter())) merge([e])
  }

  /** Reads the newest page that matches the filters, and the totals, afresh. */
  async function load(): Promise<void> {
    const mine = ++generation
    const f = filter()
    const early: ClusterEvent[] = []
    pending = early
    loading.value = true
    try {
      const [page, counts] = await Promise.all([
        api.events({ ...f, limit: EVENT_PAGE }),
        api.eventCounts({
          ...(f.node !== undefined ? { node: f.node } : {}),
          ...(f.text !== undefined ? { text: f.text } : {}),
        }),
      ])
      if (mine !== generation) return
      // Events pushed while the answers were on their way may be in them or not: merged by
      // seq, and counted where the host's totals do not cover them yet.
      events.value = []
      reachedStart.value = page.length < EVENT_PAGE
      merge([...page, ...early.filter((e) => eventMatches(e, f))])
      totals.value = counts
      for (const e of early) recount(e)
      loadError.value = null
      loaded.value = true
    } catch (cause) {
      if (mine === generation) loadError.value = errorMessage(cause)
    } finally {
      if (mine === generation) {
        loading.value = false
        pending = null
      }
    }
  }

  /** Reads the page of matching events before the oldest loaded one. */
  async function loadOlder(): Promise<void> {
    const oldest = events.value[0]
    if (!oldest || reachedStart.value || loading.value || !canLoadOlder.value) return
    const mine = generation
    loading.value = true
    try {
      const page = await api.events({ ...filter(), before: oldest.seq, limit: EVENT_PAGE })
      if (mine !== generation) return
      events.value = [...page, ...events.value]
      if (page.length < EVENT_PAGE) reachedStart.value = true
      loadError.value = null
    } catch (cause) {
      if (mine === generation) loadError.value = errorMessage(cause)
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  function start(): Promise<void> {
    if (!unsubscribe) unsubscribe = api.on('event', pushed)
    return load()
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
    clearTimeout(textTimer)
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

  // Every filter is applied by the host, so a change reads the first page again. Text waits
  // for a pause in the typing rather than asking once per key.
  watch([kinds, node], () => {
    clearTimeout(textTimer)
    if (unsubscribe) void load()
  })
  watch(text, () => {
    clearTimeout(textTimer)
    if (unsubscribe) textTimer = setTimeout(() => void load(), TEXT_FILTER_DELAY_MS)
  })

  /** Nodes the whole history mentions, removed ones too. */
  const nodesSeen = computed(() => totals.value?.nodes ?? [])

  /** Per kind: the matching events in the whole history (the kinds filter aside). */
  const counts = computed(() => totals.value?.kinds ?? {})

  /** The events in the whole history that match every filter. */
  const matching = computed(() => {
    const c = counts.value
    const shown: readonly ClusterEventKind[] =
      kinds.value.length > 0 ? kinds.value : clusterEventKinds
    return shown.reduce((n, k) => n + (c[k] ?? 0), 0)
  })

  /** Every event in the history, whatever the filters. */
  const all = computed(() => totals.value?.all ?? 0)

  const canLoadOlder = computed(() => events.value.length < TIMELINE_LIMIT)
  const hasOlder = computed(() => !reachedStart.value && events.value.length > 0)

  /** The loaded events in the order chosen. */
  const filtered = computed(() => (newestFirst.value ? [...events.value].reverse() : events.value))

  return {
    events,
    loadError,
    loaded,
    loading,
    kinds,
    node,
    text,
    newestFirst,
    nodesSeen,
    counts,
    matching,
    all,
    hasOlder,
    canLoadOlder,
    filtered,
    start,
    stop,
    load,
    loadOlder,
    toggleKind,
    clearFilters,
  }
})
