// The Log view's data: one node's log read page by page with the filters the API offers, the
// side-by-side comparison of every node's log, the selected entry, and exports.

import { defineStore } from 'pinia'
import { computed, inject, onScopeDispose, reactive, ref, shallowRef, watch } from 'vue'
import type {
  ClusterStatus,
  EntryKind,
  ExportResult,
  LogCompare,
  LogCompareRow,
  LogEntryView,
  LogPage,
  LogQuery,
  NodeView,
} from '../../shared/api'
import { apiKey } from '../api'
import { errorMessage } from '../errors'

export const LOG_PAGE_SIZE = 200
/** How far the jump from a key reads: a key written more often shows its first writes only. */
const JUMP_PAGES = 25
export const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'confChange', 'empty']

export interface LogFilters {
  /** Empty: every kind. */
  kinds: EntryKind[]
  key: string
  /** Treat `key` as a prefix. */
  prefix: boolean
  term: number | null
  from: number | null
  to: number | null
}

/** A node log export: where it went, and whose log it is (the selection may have moved on). */
export interface LogExport extends ExportResult {
  readonly node: number
}

/** The header's facts about the log on screen. */
export interface LogFacts {
  readonly source: LogPage['source']
  readonly firstIndex: number
  readonly lastIndex: number
  readonly commit: number
  readonly applied: number
}

/**
 * Whether the host reads the node's log live, over its control channel: only from a running
 * process (ClusterService.logSource); a paused, starting or stopped one has its files read.
 */
function readsLive(process: NodeView['process'] | null): boolean {
  return process === 'running'
}

function emptyFilters(): LogFilters {
  return { kinds: [], key: '', prefix: false, term: null, from: null, to: null }
}

/** The readLog query for the filters, reading from `from`. */
export function logQuery(node: number, filters: LogFilters, from: number | null): LogQuery {
  const q: LogQuery = { node, limit: LOG_PAGE_SIZE }
  const start = from ?? filters.from
  if (start !== null) q.from = start
  if (filters.to !== null) q.to = filters.to
  if (filters.kinds.length > 0 && filters.kinds.length < ENTRY_KINDS.length) {
    q.kinds = [...filters.kinds]
  }
  if (filters.key !== '') {
    q.key = filters.key
    if (filters.prefix) q.prefix = true
  }
  if (filters.term !== null) q.term = filters.term
  return q
}

/** Says what is wrong with the filters, or null when the API will accept them. */
export function checkFilters(f: LogFilters): string | null {
  const whole = (n: number | null): boolean => n === null || (Number.isInteger(n) && n >= 0)
  if (!whole(f.term)) return 'The term filter must be a whole number of 0 or more.'
  if (!whole(f.from)) return 'The "from" index must be a whole number of 0 or more.'
  if (!whole(f.to)) return 'The "to" index must be a whole number of 0 or more.'
  if (f.from !== null && f.to !== null && f.from > f.to) {
    return `The index range is empty: "from" (${f.from}) is after "to" (${f.to}).`
  }
  return null
}

export const useLogStore = defineStore('log', () => {
  const api = inject(apiKey) ?? missingApi()

  const nodes = ref<number[]>([])
  const node = ref<number | null>(null)
  /** The selected node's indexes and process from the latest status push. */
  const liveCommit = ref(0)
  const liveApplied = ref(0)
  const liveLastIndex = ref(0)
  const liveProcess = ref<NodeView['process'] | null>(null)
  const filters = reactive<LogFilters>(emptyFilters())

  // ---- one node's log -----------------------------------------------------------------------
  const entries = shallowRef<LogEntryView[]>([])
  /** The latest page's metadata: snapshot boundary, first/last index, commit, source. */
  const page = shallowRef<LogPage | null>(null)
  const next = ref<number | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  const selectedIndex = ref<number | null>(null)
  const selectedEntry = computed(
    () => entries.value.find((e) => e.index === selectedIndex.value) ?? null,
  )
  let generation = 0

  /** The latest status, read or pushed. */
  let known: ClusterStatus | null = null

  function applyStatus(status: ClusterStatus): void {
    known = status
    nodes.value = status.nodes.map((n) => n.id)
    if (node.value === null || !nodes.value.includes(node.value)) {
      node.value = status.leader ?? nodes.value[0] ?? null
    }
    followSelected()
    // A note about an export of a destroyed cluster would point at a log that no longer exists.
    if (!status.exists) exported.value = null
  }

  /** The live refs describe the selected node, as the latest status has it. */
  function followSelected(): void {
    const view = known?.nodes.find((n) => n.id === node.value)
    liveCommit.value = view?.raft?.commit ?? 0
    liveApplied.value = view?.raft?.applied ?? 0
    liveLastIndex.value = view?.raft?.lastIndex ?? 0
    liveProcess.value = view?.process ?? null
  }

  let statusKnown = false
  async function loadNodes(): Promise<void> {
    try {
      applyStatus(await api.status())
      statusKnown = true
    } catch (cause) {
      error.value = `Could not read the cluster status: ${errorMessage(cause)}`
    }
  }

  async function reload(): Promise<void> {
    if (!statusKnown) await loadNodes()
    const bad = checkFilters(filters)
    generation++
    entries.value = []
    page.value = null
    next.value = null
    selectedIndex.value = null
    if (bad !== null) {
      error.value = bad
      return
    }
    if (node.value === null) {
      error.value = 'The cluster has no nodes: create a cluster first.'
      return
    }
    await readPage(null)
  }

  async function loadMore(): Promise<void> {
    if (next.value === null || loading.value) return
    await readPage(next.value)
  }

  async function readPage(from: number | null): Promise<void> {
    const id = node.value
    if (id === null) return
    const mine = generation
    loading.value = true
    try {
      const p = await api.readLog(logQuery(id, filters, from))
      if (mine !== generation) return
      entries.value = entries.value.concat(p.entries)
      page.value = p
      next.value = p.next
      error.value = null
    } catch (cause) {
      if (mine === generation)
        error.value = `Could not read node ${id}'s log: ${errorMessage(cause)}`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  async function selectNode(id: number): Promise<void> {
    node.value = id
    followSelected()
    await reload()
  }

  /**
   * The header's facts. A page read from the running node is followed by its status pushes
   * for every index, so a commit reported since the read never passes the last index shown;
   * a page read from disk says what the files hold (a stopped node's status is only its last
   * report).
   */
  const facts = computed<LogFacts | null>(() => {
    const p = page.value
    if (p === null) return null
    if (p.source === 'disk') {
      const { source, firstIndex, lastIndex, commit, applied } = p
      return { source, firstIndex, lastIndex, commit, applied }
    }
    return {
      source: p.source,
      firstIndex: p.firstIndex,
      lastIndex: Math.max(p.lastIndex, liveLastIndex.value),
      commit: Math.max(p.commit, liveCommit.value),
      applied: Math.max(p.applied, liveApplied.value),
    }
  })

  /** The entry's committed mark, also counting commits reported since its page was read. */
  function isCommitted(e: LogEntryView): boolean {
    return e.committed || e.index <= Math.max(liveCommit.value, page.value?.commit ?? 0)
  }

  function isApplied(e: LogEntryView): boolean {
    return e.applied || e.index <= Math.max(liveApplied.value, page.value?.applied ?? 0)
  }

  function resetFilters(): void {
    Object.assign(filters, emptyFilters())
  }

  /**
   * The jump from the Keys view: the log filtered on one key, read to its end (a key's writes
   * are few next to the whole log), with the newest write open.
   */
  async function showKey(key: string): Promise<void> {
    resetFilters()
    filters.key = key
    comparing.value = false
    await reload()
    for (let pages = 1; pages < JUMP_PAGES && next.value !== null && !error.value; pages++) {
      await loadMore()
    }
    // The newest write is the one that made the key's current value: open it.
    selectedIndex.value = entries.value.at(-1)?.index ?? null
  }

  // ---- every node side by side --------------------------------------------------------------
  const comparing = ref(false)
  const compare = shallowRef<LogCompare | null>(null)
  const compareRows = shallowRef<LogCompareRow[]>([])
  const compareNext = ref<number | null>(null)
  const divergent = computed(() => compareRows.value.filter((r) => r.diverges).length)
  /**
   * Each node's own command at the divergent indexes, by index and then node id. The comparison
   * gives one command per row, which at a divergent index is one node's only; the entry that
   * lost (often an uncommitted write of an old leader) is what a developer wants to see.
   */
  const divergentCommands = shallowRef<ReadonlyMap<number, Readonly<Record<string, string>>>>(
    new Map(),
  )

  /**
   * Reads, for one page of compared rows, the entries each node holds at its divergent indexes:
   * one readLog per node over the span they cover. A failed read leaves the row with the
   * comparison's single command, which is still true of one node.
   */
  async function loadDivergentCommands(c: LogCompare, mine: number): Promise<void> {
    const split = c.rows.filter((r) => r.diverges)
    if (split.length === 0) return
    const wanted = new Set(split.map((r) => r.index))
    const reads = c.nodes.map(async (id) => {
      const held = split.filter((r) => r.terms[String(id)] != null).map((r) => r.index)
      const from = held[0]
      const to = held.at(-1)
      if (from === undefined || to === undefined) return []
      const p = await api.readLog({ node: id, from, to, limit: Math.min(5_000, to - from + 1) })
      return p.entries.map((e) => ({ id, index: e.index, summary: e.summary }))
    })
    const read = await Promise.allSettled(reads)
    if (mine !== generation) return
    const byIndex = new Map(divergentCommands.value)
    for (const r of read) {
      if (r.status !== 'fulfilled') continue
      for (const { id, index, summary } of r.value) {
        if (!wanted.has(index)) continue
        byIndex.set(index, { ...byIndex.get(index), [String(id)]: summary })
      }
    }
    divergentCommands.value = byIndex
  }

  async function loadCompare(): Promise<void> {
    const mine = ++generation
    compareRows.value = []
    compareNext.value = null
    divergentCommands.value = new Map()
    loading.value = true
    try {
      const c = await api.compareLogs(
        filters.from === null
          ? { limit: LOG_PAGE_SIZE }
          : { from: filters.from, limit: LOG_PAGE_SIZE },
      )
      if (mine !== generation) return
      compare.value = c
      compareRows.value = [...c.rows]
      compareNext.value = c.next
      error.value = null
      void loadDivergentCommands(c, mine)
    } catch (cause) {
      if (mine === generation) error.value = `Could not compare the logs: ${errorMessage(cause)}`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  async function loadMoreCompare(): Promise<void> {
    const from = compareNext.value
    if (from === null || loading.value) return
    const mine = generation
    loading.value = true
    try {
      const c = await api.compareLogs({ from, limit: LOG_PAGE_SIZE })
      if (mine !== generation) return
      compare.value = c
      compareRows.value = compareRows.value.concat(c.rows)
      compareNext.value = c.next
      void loadDivergentCommands(c, mine)
    } catch (cause) {
      if (mine === generation) error.value = `Could not compare the logs: ${errorMessage(cause)}`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  async function setComparing(on: boolean): Promise<void> {
    comparing.value = on
    if (on) await loadCompare()
    else await reload()
  }

  // ---- export -------------------------------------------------------------------------------
  const exported = ref<LogExport | null>(null)
  const exporting = ref(false)
  // The note is about the node on screen when it appears: another node's log on screen, by
  // the selector or because the node left the cluster, ends it.
  watch(node, () => (exported.value = null), { flush: 'sync' })

  async function exportLog(format: 'ndjson' | 'csv'): Promise<void> {
    const id = node.value
    if (id === null) return
    exporting.value = true
    try {
      // Named after the node exported, not the selection, which may change while it is written.
      exported.value = { ...(await api.exportNodeLog({ node: id, format })), node: id }
      error.value = null
    } catch (cause) {
      error.value = `Could not export node ${id}'s log: ${errorMessage(cause)}`
    } finally {
      exporting.value = false
    }
  }

  /**
   * Follows the end of the log: when the last page is on screen and the node reports entries
   * beyond it, they are read and appended, so a write shows up without a refresh.
   */
  function followTail(status: ClusterStatus): void {
    const p = page.value
    if (comparing.value || p === null || next.value !== null || loading.value) return
    const lastIndex = status.nodes.find((n) => n.id === p.node)?.raft?.lastIndex ?? 0
    if (lastIndex <= p.lastIndex) return
    if (filters.to !== null && p.lastIndex >= filters.to) return
    void readPage(p.lastIndex + 1)
  }

  const unsubscribe = api.on('status', (status) => {
    statusKnown = true
    const shown = node.value
    const before = known?.nodes.find((n) => n.id === shown)?.process
    applyStatus(status)
    const turned = before !== undefined && readsLive(before) !== readsLive(liveProcess.value)
    // The node on screen was removed from the cluster: show the one that took its place.
    if (shown !== null && node.value !== shown && page.value !== null) void reload()
    // It stopped, or came back: its log is now read from the other place (its files or the
    // live node), which may hold a different tail, so the page is read again from there.
    else if (turned && page.value !== null && !comparing.value) void reload()
    else followTail(status)
  })
  onScopeDispose(unsubscribe)

  return {
    nodes,
    node,
    liveCommit,
    liveApplied,
    liveLastIndex,
    liveProcess,
    facts,
    filters,
    entries,
    page,
    next,
    loading,
    error,
    selectedIndex,
    selectedEntry,
    loadNodes,
    reload,
    loadMore,
    selectNode,
    isCommitted,
    isApplied,
    resetFilters,
    showKey,
    comparing,
    compare,
    compareRows,
    compareNext,
    divergent,
    divergentCommands,
    loadCompare,
    loadMoreCompare,
    setComparing,
    exported,
    exporting,
    exportLog,
  }
})

function missingApi(): never {
  throw new Error('The RaftLab API was not provided to the Vue app (see src/renderer/main.ts)')
}
