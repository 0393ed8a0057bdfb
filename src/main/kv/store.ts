// The MVCC keyspace: keys with their history (which is also the watch history, see changes.ts),
// the global revision and the lease table, plus the write transaction every mutation goes
// through. etcd's rules:
// - the store starts at revision 1, so the first write is revision 2;
// - a write transaction that changes anything bumps the revision exactly once, and its changes
//   are numbered by sub-revision; one that changes nothing leaves the revision alone;
// - history below the compact revision is gone, except each live key's latest version.
//
// Functions here trust their arguments: the etcd request semantics and their checks live in
// kv.ts, txn.ts and lease.ts.

import { createIndex, indexDelete, indexGet, indexScan, indexSet, type OrderedIndex } from './btree'
import { EMPTY_BYTES, type KeyRange } from './bytes'
import { compactKeyIndex, kvAt, liveKv, newKeyIndex, pushRevision, type KeyIndex } from './keyindex'
import { retainBytes } from './slab'
import type { Event, KeyValue } from './types'

export interface Lease {
  readonly id: number
  /** Granted TTL in seconds (after the minimum clamp). Replicated. */
  readonly ttl: number
  /** Seconds left at the last checkpoint, 0 for none; a new leader starts from it. Replicated. */
  remainingTtl: number
  /**
   * When the lease expires on this node's clock (ms). Not replicated: only a primary lessor
   * (the leader's) has a finite expiry; followers hold Infinity until promoted.
   */
  expiry: number
  readonly keys: Set<KeyIndex>
}

export type WriteListener = (revision: number, events: readonly Event[]) => void

/**
 * etcd's default minimum lease TTL: ceil(1.5 × election timeout) with the default 1 s election
 * timeout. A lease must outlive a leader election, or every election would expire leases.
 */
export const DEFAULT_MIN_LEASE_TTL = 2

export interface StoreOptions {
  /** Minimum lease TTL in seconds. Must be the same on every node (it shapes applied state). */
  readonly minLeaseTtl?: number
}

/** The replicated state. Change it only through this package's functions. */
export interface Store {
  /** Revision of the last write; 1 for an empty store. */
  revision: number
  /** Reads below this revision fail; 0 until the first compaction. */
  compactRevision: number
  /** Raft index of the last applied entry; replays at or below it are ignored. */
  appliedIndex: number
  /** Every key with its revisions above compactRevision: also what watches replay (changes.ts). */
  readonly keys: OrderedIndex<KeyIndex>
  readonly leases: Map<number, Lease>
  /** Next candidate for an automatically assigned lease ID. */
  nextLeaseId: number
  readonly minLeaseTtl: number
  /** Whether this node's lessor is the leader's (see promote). Not replicated. */
  primary: boolean
  readonly listeners: Set<WriteListener>
}

export function createStore(options: StoreOptions = {}): Store {
  const minLeaseTtl = options.minLeaseTtl ?? DEFAULT_MIN_LEASE_TTL
  if (!Number.isSafeInteger(minLeaseTtl) || minLeaseTtl < 1) {
    throw new Error(`minLeaseTtl must be a whole number of seconds >= 1, got ${minLeaseTtl}`)
  }
  return {
    revision: 1,
    compactRevision: 0,
    appliedIndex: 0,
    keys: createIndex<KeyIndex>(),
    leases: new Map(),
    nextLeaseId: 1,
    minLeaseTtl,
    primary: false,
    listeners: new Set(),
  }
}

/** Keys visible at `rev` in `range`, ascending; `count` counts them all regardless of `limit`. */
export function readRange(
  store: Store,
  range: KeyRange,
  rev: number,
  limit: number,
  countOnly: boolean,
): { kvs: KeyValue[]; count: number } {
  const kvs: KeyValue[] = []
  let count = 0
  const take = (ki: KeyIndex): void => {
    const kv = kvAt(ki, rev)
    if (kv === undefined) return
    count++
    if (!countOnly && (limit <= 0 || kvs.length < limit)) kvs.push(kv)
  }
  if (range.single) {
    const ki = indexGet(store.keys, range.from)
    if (ki !== undefined) take(ki)
  } else {
    indexScan(store.keys, range.from, range.to, take)
  }
  return { kvs, count }
}

/** A write in progress: every change it makes is stamped with `revision`. */
export interface WriteTxn {
  readonly store: Store
  readonly revision: number
  readonly events: Event[]
}

export function beginWrite(store: Store): WriteTxn {
  return { store, revision: store.revision + 1, events: [] }
}

/** The revision reads inside the txn see: its own changes once it has made some. */
export function txnReadRevision(tx: WriteTxn): number {
  return tx.events.length > 0 ? tx.revision : tx.store.revision
}

/** Puts `key`; returns its previous state. `lease` must exist or be 0. */
export function writePut(
  tx: WriteTxn,
  key: Uint8Array,
  value: Uint8Array,
  lease: number,
): KeyValue | undefined {
  const { store } = tx
  const found = indexGet(store.keys, key)
  const prev = found === undefined ? undefined : liveKv(found)
  // Copies, so a caller reusing its buffers cannot rewrite history.
  const ownKey = found === undefined ? retainBytes(key) : found.key
  const kv: KeyValue = {
    key: ownKey,
    createRevision: prev === undefined ? tx.revision : prev.createRevision,
    modRevision: tx.revision,
    version: prev === undefined ? 1 : prev.version + 1,
    value: retainBytes(value),
    lease,
  }
  let ki: KeyIndex
  if (found === undefined) {
    ki = newKeyIndex(ownKey, kv, tx.events.length)
    indexSet(store.keys, ownKey, ki)
  } else {
    ki = found
    pushRevision(ki, kv, tx.events.length)
  }
  if (prev !== undefined && prev.lease !== 0 && prev.lease !== lease) {
    store.leases.get(prev.lease)?.keys.delete(ki)
  }
  if (lease !== 0) store.leases.get(lease)?.keys.add(ki)
  tx.events.push(prev === undefined ? { type: 'PUT', kv } : { type: 'PUT', kv, prevKv: prev })
  return prev
}

/** Deletes every live key in `range`; returns their previous states in key order. */
export function writeDelete(tx: WriteTxn, range: KeyRange): KeyValue[] {
  const { store } = tx
  const victims: KeyIndex[] = []
  if (range.single) {
    const ki = indexGet(store.keys, range.from)
    if (ki !== undefined && liveKv(ki) !== undefined) victims.push(ki)
  } else {
    indexScan(store.keys, range.from, range.to, (ki) => {
      if (liveKv(ki) !== undefined) victims.push(ki)
    })
  }
  const prevKvs: KeyValue[] = []
  for (const ki of victims) {
    const prev = liveKv(ki) as KeyValue
    const kv: KeyValue = {
      key: ki.key,
      createRevision: 0,
      modRevision: tx.revision,
      version: 0,
      value: EMPTY_BYTES,
      lease: 0,
    }
    pushRevision(ki, kv, tx.events.length)
    if (prev.lease !== 0) store.leases.get(prev.lease)?.keys.delete(ki)
    tx.events.push({ type: 'DELETE', kv, prevKv: prev })
    prevKvs.push(prev)
  }
  return prevKvs
}

/**
 * Commits the txn: bumps the revision if anything changed and tells the listeners. Returns the
 * revision for the response header.
 */
export function endWrite(tx: WriteTxn): number {
  const { store } = tx
  if (tx.events.length === 0) return store.revision
  store.revision = tx.revision
  // The state is complete before any listener runs, so a throwing listener cannot tear it.
  for (const listener of store.listeners) listener(tx.revision, tx.events)
  return store.revision
}

/** Drops history below `rev`; the caller has checked compactRevision < rev <= revision. */
export function compactStore(store: Store, rev: number): void {
  const emptied: Uint8Array[] = []
  indexScan(store.keys, EMPTY_BYTES, undefined, (ki) => {
    if (compactKeyIndex(ki, rev)) emptied.push(ki.key)
  })
  for (const key of emptied) indexDelete(store.keys, key)
  store.compactRevision = rev
}
