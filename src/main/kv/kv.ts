// etcd's KV requests on the store: Range, Put, DeleteRange and Compact with the semantics of
// etcd's applier (sorting, filters, limit and `more`, prevKv, ignore_value and ignore_lease).
// The put and delete parts take a WriteTxn so that Txn runs them inside its one revision.

import { compareBytes, keyRange } from './bytes'
import { checkDeleteRangeRequest, checkPutRequest, checkRangeRequest } from './check'
import {
  ErrCompacted,
  ErrFutureRev,
  ErrKeyNotFound,
  ErrLeaseNotFound,
  type EtcdError,
} from './errors'
import { indexGet } from './btree'
import { liveKv } from './keyindex'
import {
  beginWrite,
  compactStore,
  endWrite,
  readRange,
  txnReadRevision,
  writeDelete,
  writePut,
  type Store,
  type WriteTxn,
} from './store'
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  SortTarget,
} from './types'

/** A read of the current state (or of an older revision, until it is compacted). */
export function range(store: Store, req: RangeRequest): RangeResponse | EtcdError {
  return checkRangeRequest(req) ?? rangeAt(store, req, store.revision)
}

/**
 * Range as seen by a reader standing at `curRev` (the store's revision, or a write txn's own
 * once it has written). The header carries `curRev` even for a read of an older revision.
 */
export function rangeAt(
  store: Store,
  req: RangeRequest,
  curRev: number,
): RangeResponse | EtcdError {
  let rev = req.revision ?? 0
  if (rev > curRev) return ErrFutureRev
  if (rev <= 0) rev = curRev
  if (rev < store.compactRevision) return ErrCompacted

  const limit = Math.max(req.limit ?? 0, 0)
  const filtered =
    (req.minModRevision ?? 0) !== 0 ||
    (req.maxModRevision ?? 0) !== 0 ||
    (req.minCreateRevision ?? 0) !== 0 ||
    (req.maxCreateRevision ?? 0) !== 0
  const target = req.sortTarget ?? 'KEY'
  let order = req.sortOrder ?? 'NONE'
  // The index already yields keys ascending: a sort on another target defaults to ascending,
  // and an ascending sort by key is no sort at all.
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND'
  else if (target === 'KEY' && order === 'ASCEND') order = 'NONE'

  // One extra kv tells whether there are more; sorting and filtering need them all.
  const fetch = order !== 'NONE' || filtered || limit === 0 ? 0 : limit + 1
  const read = readRange(store, keyRange(req.key, req.rangeEnd), rev, fetch, req.countOnly === true)
  let kvs = read.kvs
  if (filtered) kvs = kvs.filter((kv) => passesFilters(req, kv))
  if (order !== 'NONE') {
    const compare = sortComparator(target)
    kvs.sort(order === 'ASCEND' ? compare : (a, b) => compare(b, a))
  }
  const more = limit > 0 && kvs.length > limit
  if (more) kvs = kvs.slice(0, limit)
  if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }))
  return { header: { revision: curRev }, kvs, more, count: read.count }
}

function passesFilters(req: RangeRequest, kv: KeyValue): boolean {
  const minMod = req.minModRevision ?? 0
  const maxMod = req.maxModRevision ?? 0
  const minCreate = req.minCreateRevision ?? 0
  const maxCreate = req.maxCreateRevision ?? 0
  return (
    (maxMod === 0 || kv.modRevision <= maxMod) &&
    (minMod === 0 || kv.modRevision >= minMod) &&
    (maxCreate === 0 || kv.createRevision <= maxCreate) &&
    (minCreate === 0 || kv.createRevision >= minCreate)
  )
}

function sortComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => compareBytes(a.key, b.key)
    case 'VERSION':
      return (a, b) => a.version - b.version
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision
    case 'VALUE':
      return (a, b) => compareBytes(a.value, b.value)
  }
}

/** What a put needs from the state: its lease, and the key itself for ignore_value/lease. */
export function checkPut(store: Store, req: PutRequest): EtcdError | undefined {
  const lease = req.lease ?? 0
  if (lease !== 0 && !store.leases.has(lease)) return ErrLeaseNotFound
  if (req.ignoreValue === true || req.ignoreLease === true) {
    const ki = indexGet(store.keys, req.key)
    if (ki === undefined || liveKv(ki) === undefined) return ErrKeyNotFound
  }
  return undefined
}

/** Applies a put that passed checkPut. */
export function applyPut(tx: WriteTxn, req: PutRequest): PutResponse {
  let value = req.value
  let lease = req.lease ?? 0
  if (req.ignoreValue === true || req.ignoreLease === true) {
    const ki = indexGet(tx.store.keys, req.key)
    const current = ki === undefined ? undefined : liveKv(ki)
    if (current === undefined)
      throw new Error('applyPut: ignore_value/ignore_lease on a missing key')
    if (req.ignoreValue === true) value = current.value
    if (req.ignoreLease === true) lease = current.lease
  }
  const prev = writePut(tx, req.key, value, lease)
  const header = { revision: tx.revision }
  return req.prevKv === true && prev !== undefined ? { header, prevKv: prev } : { header }
}

export function applyDeleteRange(tx: WriteTxn, req: DeleteRangeRequest): DeleteRangeResponse {
  const prevKvs = writeDelete(tx, keyRange(req.key, req.rangeEnd))
  return {
    header: { revision: txnReadRevision(tx) },
    deleted: prevKvs.length,
    prevKvs: req.prevKv === true ? prevKvs : [],
  }
}

export function put(store: Store, req: PutRequest): PutResponse | EtcdError {
  const bad = checkPutRequest(req) ?? checkPut(store, req)
  if (bad !== undefined) return bad
  const tx = beginWrite(store)
  const response = applyPut(tx, req)
  endWrite(tx)
  return response
}

export function deleteRange(
  store: Store,
  req: DeleteRangeRequest,
): DeleteRangeResponse | EtcdError {
  const bad = checkDeleteRangeRequest(req)
  if (bad !== undefined) return bad
  const tx = beginWrite(store)
  const response = applyDeleteRange(tx, req)
  endWrite(tx)
  return response
}

/**
 * Forgets history below `revision`. Reads at `revision` itself still work; watches must start
 * above it. Compacting at or below the current compact revision is an error, as in etcd.
 */
export function compact(store: Store, req: CompactionRequest): CompactionResponse | EtcdError {
  if (req.revision <= store.compactRevision) return ErrCompacted
  if (req.revision > store.revision) return ErrFutureRev
  compactStore(store, req.revision)
  return { header: { revision: store.revision } }
}
