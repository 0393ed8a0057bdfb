// The Keys view's data: the keys matching a prefix, loaded page by page with the server's
// cursor as the user scrolls; the selected key's detail; the editor's compare-and-swap writes,
// and the question before an unsaved edit is dropped; and live changes from the cluster's
// 'keyChanged' events.

import { defineStore } from 'pinia'
import { computed, inject, onScopeDispose, ref, shallowRef } from 'vue'
import type {
  ClusterEvent,
  ImportResult,
  KeyDetail,
  KeyDump,
  KeyListQuery,
  KeyPage,
  KeyView,
  KeyWriteResult,
} from '../../shared/api'
import { keyDumpSchema } from '../../shared/api'
import { apiKey } from '../api'
import { errorMessage } from '../errors'
import type { ValueEncoding } from '../utils/encoding'
import { compareKeys, searchKeys } from '../utils/keyorder'
import { plural } from '../utils/plural'

/** Keys per request when the user scrolls; a jump far down asks for more at once. */
export const KEY_PAGE_SIZE = 1000
const MAX_PAGE = 10_000
/** More live changes than this in one batch and the list reloads instead of patching. */
const PATCH_LIMIT = 500
const BATCH_MS = 50

export type KeyListMode = 'list' | 'tree'

/** A change of the selected key that someone else made while it is open in the editor. */
export interface RemoteChange {
  readonly type: 'put' | 'delete'
  readonly modRevision: number
}

/** The answer to a write the server refused because the key changed since it was loaded. */
export interface StaleWrite {
  /** What the server holds now; null when the key is gone. */
  readonly current: KeyView | null
  readonly action: 'save' | 'delete'
}

export type WriteOutcome = 'done' | 'stale' | 'failed'

/** Where the user asked the editor to go: another key, a new key, or nowhere (Close). */
export type EditorTarget =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'new' }
  | { readonly kind: 'close' }

/** An unsaved edit kept while the Keys view is away, with what it was an edit of. */
export interface ParkedDraft {
  /** The key it edits; null for a new key. */
  readonly key: string | null
  readonly creating: boolean
  readonly keyName: string
  readonly draft: string
  readonly encoding: ValueEncoding
  readonly ttl: string
}

/** What an import, export or delete by prefix did (ok) or why it failed, as the view says it. */
export interface TransferOutcome {
  readonly ok: boolean
  readonly message: string
}

/** One change as the 'keyChanged' event tells it; `key` is null when the event names none. */
interface KeyChange {
  readonly key: string | null
  readonly type: 'put' | 'delete'
  readonly modRevision: number
  /** A delete of every key under `key` (a delete-range), not of one key. */
  readonly range: boolean
}

function keyChangeOf(event: ClusterEvent): KeyChange | null {
  if (event.kind !== 'keyChanged') return null
  const { key, type, modRevision, revision, prefix, deleted } = event.data
  const rev =
    typeof modRevision === 'number' ? modRevision : typeof revision === 'number' ? revision : 0
  return {
    key: typeof key === 'string' ? key : null,
    type: type === 'delete' ? 'delete' : 'put',
    modRevision: rev,
    range: type === 'delete' && (prefix === true || (typeof deleted === 'number' && deleted > 1)),
  }
}

export const useKeysStore = defineStore('keys', () => {
  const api = inject(apiKey) ?? missingApi()

  // ---- the list ------------------------------------------------------------------------------
  const prefix = ref('')
  const separator = ref('/')
  const mode = ref<KeyListMode>('list')
  /** The loaded keys in key order; shallow because it can hold 100,000 of them. */
  const rows = shallowRef<KeyView[]>([])
  /** Keys matching the prefix on the server, loaded or not. */
  const count = ref(0)
  /** The last key of the loaded pages; null before the first page and after the last. */
  const cursor = ref<string | null>(null)
  const exhausted = ref(false)
  const revision = ref(0)
  /** The header shows the newest revision seen: pages, live changes and own writes only raise it. */
  function seeRevision(r: number): void {
    if (r > revision.value) revision.value = r
  }
  const loading = ref(false)
  const error = ref<string | null>(null)
  const loaded = computed(() => rows.value.length)

  // Each search gets a generation, so a page that arrives for an older search is dropped.
  let generation = 0
  let inflight: Promise<void> | null = null
  let inflightGeneration = -1
  /** A search in progress; pages after the cursor wait for it, since it replaces the rows. */
  let searching: Promise<void> | null = null

  function listQuery(after: string | null, limit: number): KeyListQuery {
    return {
      prefix: prefix.value === '' ? undefined : prefix.value,
      after: after ?? undefined,
      limit: Math.min(MAX_PAGE, Math.max(1, Math.ceil(limit))),
      keysOnly: true,
    }
  }

  /** Shows `list` as the loaded rows, with the count and cursor of the last page read for it. */
  function showPage(list: KeyView[], page: KeyPage): void {
    rows.value = list
    count.value = Math.max(page.count, list.length)
    cursor.value = page.cursor
    exhausted.value = page.cursor === null
    error.value = null
  }

  /** The user's search or refresh: it moves on from the last transfer, so its outcome goes. */
  function search(nextPrefix: string = prefix.value): Promise<void> {
    dismissTransfer()
    return listFromStart(nextPrefix)
  }

  /**
   * Lists the keys under `nextPrefix` from the start, reading at least `keep` of them. A new
   * prefix empties the list at once; a refresh of the same prefix keeps showing the old rows
   * (and the scroll position) until the new ones are in, then swaps them in one step.
   */
  function listFromStart(nextPrefix: string = prefix.value, keep = 0): Promise<void> {
    const mine = ++generation
    inflight = null
    if (nextPrefix !== prefix.value) {
      prefix.value = nextPrefix
      rows.value = []
      count.value = 0
      cursor.value = null
      exhausted.value = false
    }
    const work = (async () => {
      loading.value = true
      try {
        let list: KeyView[] = []
        let page: KeyPage | null = null
        do {
          const limit = Math.max(KEY_PAGE_SIZE, keep - list.length + KEY_PAGE_SIZE / 4)
          page = await api.listKeys(listQuery(page?.cursor ?? null, limit))
          if (mine !== generation) return
          list = list.concat(page.keys)
        } while (page.cursor !== null && list.length < keep)
        showPage(list, page)
        revision.value = page.revision
      } catch (cause) {
        if (mine === generation) error.value = `Could not list keys: ${errorMessage(cause)}`
      } finally {
        if (mine === generation) {
          loading.value = false
          searching = null
        }
      }
    })()
    searching = work
    return work
  }

  /** Reads the page after the cursor and appends it. */
  function loadPage(limit: number): Promise<void> {
    if (searching !== null) return searching
    if (inflight !== null && inflightGeneration === generation) return inflight
    if (exhausted.value) return Promise.resolve()
    const mine = generation
    inflightGeneration = mine
    const work = (async () => {
      loading.value = true
      try {
        const page = await api.listKeys(listQuery(cursor.value, limit))
        if (mine !== generation) return
        // A new array, not a push: components that get the rows as a prop see the change.
        showPage(rows.value.concat(page.keys), page)
        seeRevision(page.revision)
      } catch (cause) {
        if (mine === generation) error.value = `Could not list keys: ${errorMessage(cause)}`
      } finally {
        if (mine === generation) {
          loading.value = false
          inflight = null
        }
      }
    })()
    inflight = work
    return work
  }

  /** Loads pages until row `index` is loaded (or the keys run out); the list calls it on scroll. */
  async function ensureLoaded(index: number): Promise<void> {
    const mine = generation
    while (!exhausted.value && rows.value.length <= index && mine === generation) {
      const before = rows.value.length
      await loadPage(Math.max(KEY_PAGE_SIZE, index + 1 - before + KEY_PAGE_SIZE / 4))
      if (error.value !== null || rows.value.length === before) return
    }
  }

  // ---- the selected key ---------------------------------------------------------------------
  const selectedKey = ref<string | null>(null)
  /** True while the editor holds a key that does not exist yet. */
  const creating = ref(false)
  const detail = ref<KeyDetail | null>(null)
  const detailLoading = ref(false)
  const detailError = ref<string | null>(null)
  const remoteChange = ref<RemoteChange | null>(null)
  const stale = ref<StaleWrite | null>(null)
  const writing = ref(false)
  let detailGeneration = 0

  /** The mod_revision the editor's copy was read at: what a compare-and-swap expects. */
  const loadedModRevision = computed(() => detail.value?.kv?.modRevision ?? 0)

  /** Opens `key` in the editor; over an unsaved edit it asks first (see `open`). */
  function select(key: string): Promise<void> {
    return open({ kind: 'key', key })
  }

  async function openKey(key: string): Promise<void> {
    selectedKey.value = key
    creating.value = false
    await loadDetail()
  }

  async function loadDetail(): Promise<void> {
    const key = selectedKey.value
    if (key === null) return
    const mine = ++detailGeneration
    detailLoading.value = true
    try {
      const d = await api.getKey(key)
      if (mine !== detailGeneration) return
      detail.value = d
      remoteChange.value = null
      stale.value = null
      detailError.value = null
    } catch (cause) {
      if (mine === detailGeneration)
        detailError.value = `Could not read ${key}: ${errorMessage(cause)}`
    } finally {
      if (mine === detailGeneration) detailLoading.value = false
    }
  }

  /** Empties the editor for a new key; over an unsaved edit it asks first (see `open`). */
  function startNew(): void {
    void open({ kind: 'new' })
  }

  /** Closes the editor; over an unsaved edit it asks first (see `open`). */
  function closeEditor(): void {
    void open({ kind: 'close' })
  }

  /** Leaves whatever the editor held, without asking: for a new key, or for none. */
  function resetEditor(forNewKey: boolean): void {
    detailGeneration++
    selectedKey.value = null
    creating.value = forNewKey
    detail.value = null
    remoteChange.value = null
    stale.value = null
    detailError.value = null
    unsaved.value = false
    pendingSwitch.value = null
    parked.value = null
  }

  // ---- unsaved edits ------------------------------------------------------------------------
  /** True while the editor holds an edit that is not saved; the editor reports it. */
  const unsaved = ref(false)
  /** Where the user asked to go from an unsaved edit, until they discard it or keep editing. */
  const pendingSwitch = ref<EditorTarget | null>(null)
  /** The unsaved edit of an editor that went away with the view, for when it comes back. */
  const parked = ref<ParkedDraft | null>(null)

  function noteUnsaved(value: boolean): void {
    unsaved.value = value
    // Saved, or undone by hand: nothing is left to lose, so the question is moot.
    if (!value) pendingSwitch.value = null
  }

  /**
   * Moves the editor to `target`. Over an unsaved edit it only records the wish, and the editor
   * asks whether to discard the edit: a click on another row, an arrow key in the list or the
   * Close button must not throw away typing the user cannot get back.
   */
  function open(target: EditorTarget): Promise<void> {
    dismissTransfer()
    if (!unsaved.value) return go(target)
    // The key being edited asked for again (a click on its row, an arrow key at the end of the
    // list) would only reload it: keep the edit and do not ask.
    if (target.kind === 'key' && !creating.value && target.key === selectedKey.value) {
      return Promise.resolve()
    }
    pendingSwitch.value = target
    return Promise.resolve()
  }

  /** The user's answer "discard": the edit goes and the editor moves where they asked. */
  function discardEdit(): Promise<void> {
    const target = pendingSwitch.value
    pendingSwitch.value = null
    if (target === null) return Promise.resolve()
    unsaved.value = false
    return go(target)
  }

  /** The user's answer "keep editing": the editor stays as it is. */
  function keepEditing(): void {
    pendingSwitch.value = null
  }

  function go(target: EditorTarget): Promise<void> {
    switch (target.kind) {
      case 'key':
        return openKey(target.key)
      case 'new':
        resetEditor(true)
        return Promise.resolve()
      case 'close':
        resetEditor(false)
        return Promise.resolve()
    }
  }

  /** Keeps an unmounting editor's unsaved edit; it is for the key the store still has open. */
  function parkDraft(draft: Omit<ParkedDraft, 'key' | 'creating'>): void {
    parked.value = { ...draft, key: selectedKey.value, creating: creating.value }
    // The user went elsewhere instead of answering; coming back, they find their edit as it was.
    pendingSwitch.value = null
  }

  /** The parked edit, once, if it belongs to what the editor opens now. */
  function takeParkedDraft(): ParkedDraft | null {
    const draft = parked.value
    parked.value = null
    if (draft === null || draft.key !== selectedKey.value || draft.creating !== creating.value) {
      return null
    }
    return draft
  }

  /**
   * Writes the editor's value with compare-and-swap on the revision it was loaded at (0 for a
   * new key: only if absent). `force` writes over whatever the server holds now.
   */
  async function save(
    key: string,
    value: string,
    options: { base64?: boolean; force?: boolean; ttl?: number } = {},
  ): Promise<WriteOutcome> {
    dismissTransfer()
    if (key === '') {
      detailError.value = 'The key is empty: type a key name first.'
      return 'failed'
    }
    const expectModRevision = options.force
      ? (stale.value?.current?.modRevision ?? 0)
      : creating.value || selectedKey.value !== key
        ? 0
        : loadedModRevision.value
    writing.value = true
    try {
      const result: KeyWriteResult = await api.putKey({
        key,
        value,
        base64: options.base64 === true ? true : undefined,
        expectModRevision,
        ttl: options.ttl,
      })
      if (!result.ok) {
        stale.value = { current: result.current, action: 'save' }
        return 'stale'
      }
      stale.value = null
      remoteChange.value = null
      detailError.value = null
      seeRevision(result.revision)
      patchRows((list) => upsertRow(list, key, result.revision))
      selectedKey.value = key
      creating.value = false
      await loadDetail()
      return 'done'
    } catch (cause) {
      detailError.value = `Could not save ${key}: ${errorMessage(cause)}`
      return 'failed'
    } finally {
      writing.value = false
    }
  }

  async function remove(key: string): Promise<WriteOutcome> {
    dismissTransfer()
    const expect = loadedModRevision.value
    writing.value = true
    try {
      const result = await api.deleteKey({
        key,
        expectModRevision: expect > 0 ? expect : undefined,
      })
      if (!result.ok) {
        stale.value = { current: result.current, action: 'delete' }
        return 'stale'
      }
      patchRows((list) => dropRow(list, key))
      // The user confirmed the delete: an edit of the key goes with it, without a question.
      resetEditor(false)
      return 'done'
    } catch (cause) {
      detailError.value = `Could not delete ${key}: ${errorMessage(cause)}`
      return 'failed'
    } finally {
      writing.value = false
    }
  }

  /** Deletes every key under `keyPrefix`; resolves to how many went, or null on failure. */
  async function removePrefix(keyPrefix: string): Promise<number | null> {
    if (keyPrefix === '') {
      transferFailed('Deleting by prefix needs a prefix: an empty one would delete every key.')
      return null
    }
    writing.value = true
    try {
      const result = await api.deleteKey({ key: keyPrefix, prefix: true })
      if (selectedKey.value?.startsWith(keyPrefix)) resetEditor(false)
      transferDone(`Deleted ${plural(result.deleted, 'key')} under ${keyPrefix}.`)
      await listFromStart()
      return result.deleted
    } catch (cause) {
      transferFailed(`Could not delete keys under ${keyPrefix}: ${errorMessage(cause)}`)
      return null
    } finally {
      writing.value = false
    }
  }

  // ---- import and export --------------------------------------------------------------------
  /**
   * What the last import, export or delete by prefix did, or why it failed: one line, so a new
   * outcome replaces the old one (a failed import never sits under the previous one's success).
   * The user's next action in the view dismisses it too, because from then on the line would
   * describe something other than what they are looking at.
   */
  const transfer = ref<TransferOutcome | null>(null)

  function transferDone(message: string): void {
    transfer.value = { ok: true, message }
  }

  function transferFailed(message: string): void {
    transfer.value = { ok: false, message }
  }

  function dismissTransfer(): void {
    transfer.value = null
  }

  async function exportDump(): Promise<KeyDump | null> {
    try {
      const dump = await api.exportKeys(prefix.value === '' ? {} : { prefix: prefix.value })
      transferDone(`Exported ${plural(dump.keys.length, 'key')}.`)
      return dump
    } catch (cause) {
      transferFailed(`Could not export keys: ${errorMessage(cause)}`)
      return null
    }
  }

  /** Imports a JSON file's text in the export format; `source` names the file in errors. */
  async function importText(text: string, source: string): Promise<ImportResult | null> {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (cause) {
      transferFailed(`${source} is not JSON: ${errorMessage(cause)}`)
      return null
    }
    const parsed = keyDumpSchema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : ''
      transferFailed(
        `${source} is not a key export${where}: ${issue?.message ?? 'unexpected shape'} (expected { "keys": [{ "key", "value", "base64"? }] })`,
      )
      return null
    }
    try {
      const result = await api.importKeys(parsed.data)
      transferDone(`Imported ${plural(result.keys, 'key')} from ${source}.`)
      await listFromStart()
      return result
    } catch (cause) {
      transferFailed(`Could not import ${source}: ${errorMessage(cause)}`)
      return null
    }
  }

  // ---- live updates -------------------------------------------------------------------------
  /** True when `key` falls inside the pages loaded so far (where the list knows every key). */
  function inLoadedRange(key: string): boolean {
    return exhausted.value || (cursor.value !== null && compareKeys(key, cursor.value) <= 0)
  }

  /** Applies edits to a copy of the rows and publishes it once, however many rows changed. */
  function patchRows(edit: (list: KeyView[]) => void): void {
    const list = rows.value.slice()
    edit(list)
    rows.value = list
  }

  function upsertRow(list: KeyView[], key: string, modRevision: number): void {
    if (!key.startsWith(prefix.value) || !inLoadedRange(key)) return
    const { index, found } = searchKeys(list, key, (r) => r.key)
    const old = found ? list[index] : undefined
    if (old !== undefined) {
      if (old.modRevision >= modRevision) return
      list[index] = { ...old, modRevision, version: old.version + 1 }
    } else {
      list.splice(index, 0, {
        key,
        value: '',
        size: 0,
        createRevision: modRevision,
        modRevision,
        version: 1,
        lease: 0,
      })
      count.value++
    }
  }

  function dropRow(list: KeyView[], key: string): void {
    const { index, found } = searchKeys(list, key, (r) => r.key)
    if (!found) return
    list.splice(index, 1)
    count.value = Math.max(0, count.value - 1)
  }

  let queue: KeyChange[] = []
  let flushTimer: ReturnType<typeof setTimeout> | null = null

  function onEvent(event: ClusterEvent): void {
    if (event.kind === 'clusterDestroyed' || event.kind === 'clusterCreated') {
      forgetCluster()
      return
    }
    const change = keyChangeOf(event)
    if (change === null) return
    queue.push(change)
    flushTimer ??= setTimeout(flushChanges, BATCH_MS)
  }

  /** Applies queued changes in one go, so an import of many keys re-renders once, not per key. */
  function flushChanges(): void {
    if (flushTimer !== null) clearTimeout(flushTimer)
    flushTimer = null
    const changes = queue
    queue = []
    for (const c of changes) {
      noteSelected(c)
      seeRevision(c.modRevision)
    }
    // An event that names no key (a bulk import) or deletes a range cannot be patched in.
    const bulk = changes.some((c) => c.key === null || c.range)
    const matching = changes.filter((c) => c.key !== null && c.key.startsWith(prefix.value))
    if (bulk || matching.length > PATCH_LIMIT) {
      void reloadKeepingLoaded()
      return
    }
    let beyond = false
    patchRows((list) => {
      for (const c of matching) {
        const key = c.key ?? ''
        if (!inLoadedRange(key)) beyond = true
        else if (c.type === 'put') upsertRow(list, key, c.modRevision)
        else dropRow(list, key)
      }
    })
    if (beyond) void refreshCount()
  }

  function noteSelected(c: KeyChange): void {
    const key = selectedKey.value
    if (key === null || c.key === null) return
    if (c.range ? !key.startsWith(c.key) : c.key !== key) return
    const known = detail.value?.kv?.modRevision ?? 0
    if (c.type === 'delete' && detail.value !== null && detail.value.kv === null) return
    if (c.type === 'put' && c.modRevision > 0 && c.modRevision <= known) return
    remoteChange.value = { type: c.type, modRevision: c.modRevision }
  }

  /** The server's count for the prefix, after changes beyond the loaded pages. */
  async function refreshCount(): Promise<void> {
    const mine = generation
    try {
      const page = await api.listKeys({
        prefix: prefix.value === '' ? undefined : prefix.value,
        limit: 1,
        keysOnly: true,
      })
      if (mine === generation) count.value = Math.max(page.count, rows.value.length)
    } catch {
      // The next page load corrects the count; a failed refresh is not worth a message.
    }
  }

  // A bulk import sends a storm of events: one reload runs at a time, and one more after it
  // covers whatever arrived meanwhile.
  let reloading: Promise<void> | null = null
  let reloadAgain = false

  function reloadKeepingLoaded(): Promise<void> {
    if (reloading !== null) {
      reloadAgain = true
      return reloading
    }
    reloading = (async () => {
      do {
        reloadAgain = false
        await listFromStart(prefix.value, rows.value.length)
      } while (reloadAgain)
    })().finally(() => {
      reloading = null
    })
    return reloading
  }

  /**
   * The cluster was destroyed, or replaced by a new one: its keys, the open key and any kept
   * edit belong to data that is gone, so they go too, without a question. The search prefix,
   * separator and mode are the user's way of looking and stay. A revision of 0 makes the next
   * visit to the view list the new cluster's keys (a new cluster may not have a leader yet to
   * answer a listing now).
   */
  function forgetCluster(): void {
    generation++
    inflight = null
    searching = null
    reloadAgain = false
    queue = []
    if (flushTimer !== null) clearTimeout(flushTimer)
    flushTimer = null
    rows.value = []
    count.value = 0
    cursor.value = null
    exhausted.value = false
    revision.value = 0
    loading.value = false
    error.value = null
    resetEditor(false)
    dismissTransfer()
  }

  const unsubscribe = api.on('event', onEvent)
  onScopeDispose(() => {
    unsubscribe()
    if (flushTimer !== null) clearTimeout(flushTimer)
  })

  return {
    prefix,
    separator,
    mode,
    rows,
    count,
    cursor,
    exhausted,
    revision,
    loading,
    error,
    loaded,
    search,
    ensureLoaded,
    selectedKey,
    creating,
    detail,
    detailLoading,
    detailError,
    remoteChange,
    stale,
    writing,
    loadedModRevision,
    select,
    loadDetail,
    startNew,
    closeEditor,
    unsaved,
    pendingSwitch,
    noteUnsaved,
    discardEdit,
    keepEditing,
    parkDraft,
    takeParkedDraft,
    save,
    remove,
    removePrefix,
    transfer,
    transferFailed,
    exportDump,
    importText,
    /** Applies queued live changes now (tests, and a view that wants them before a re-render). */
    flushChanges,
  }
})

function missingApi(): never {
  throw new Error('The RaftLab API was not provided to the Vue app (see src/renderer/main.ts)')
}
