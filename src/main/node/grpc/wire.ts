// Between the wire and the state machine: the shapes proto-loader decodes rpc.proto messages
// into (snake_case fields, int64 as decimal strings, enums by name) and the kv package's
// requests and responses (camelCase, numbers, etcd's enum spellings). Every request field is
// optional here: a forwarded request or a hand-made one may leave out what the decoder fills.

import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from '../../kv'
import { ErrInvalidSortOption, ErrKeyNotFound } from '../../kv'
import type { Header, Member } from '../backend'
import { etcdFailure, invalidArgument } from './status'

/** An int64 or uint64 as decoded (a decimal string) or as a caller may write it. */
export type Long = string | number
/** An enum value: its name in rpc.proto, or its number when the decoder did not know it. */
export type EnumValue = string | number

const EMPTY = new Uint8Array(0)

/**
 * An int64 field as a number. The kv package keeps revisions, versions and lease IDs below
 * 2^53; a value beyond that cannot name anything in the store, so it is refused rather than
 * rounded into a different one.
 */
export function int64(value: Long | undefined, field: string): number {
  if (value === undefined || value === '') return 0
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isSafeInteger(n)) {
    throw invalidArgument(`${field} ${value} is out of range: RaftLab keeps it below 2^53`)
  }
  return n
}

/** A uint64 ID (member, leader) as a number; see int64. */
export function uint64(value: Long | undefined, field: string): number {
  const n = int64(value, field)
  if (n < 0) throw invalidArgument(`${field} ${value} is not an unsigned integer`)
  return n
}

/** A number from the kv package or the backend as a uint64 on the wire. */
export function uint64String(n: number): string {
  return BigInt(n).toString()
}

/**
 * The decoder hands out Buffers that are views into the received message. The kv package
 * copies what it keeps with slice(), which copies a Uint8Array but not a Buffer (its slice is
 * a view); a plain Uint8Array over the same bytes restores the copy, so the store never pins
 * a whole message for one key.
 */
export function bytes(value: Uint8Array | undefined): Uint8Array {
  if (value === undefined || value.length === 0) return EMPTY
  return Buffer.isBuffer(value)
    ? new Uint8Array(value.buffer, value.byteOffset, value.length)
    : value
}

/** Absent and empty mean the same to etcd; kv takes undefined. */
function optionalBytes(value: Uint8Array | undefined): Uint8Array | undefined {
  return value === undefined || value.length === 0 ? undefined : bytes(value)
}

function lookup<T>(
  table: Readonly<Record<string, T>>,
  value: EnumValue | undefined,
): T | undefined {
  const key = String(value ?? 0)
  return Object.hasOwn(table, key) ? table[key] : undefined
}

const SORT_ORDER: Readonly<Record<string, SortOrder>> = {
  None: 'NONE',
  Ascend: 'ASCEND',
  Descend: 'DESCEND',
  0: 'NONE',
  1: 'ASCEND',
  2: 'DESCEND',
}

const SORT_TARGET: Readonly<Record<string, SortTarget>> = {
  Key: 'KEY',
  Version: 'VERSION',
  Create: 'CREATE',
  Mod: 'MOD',
  Value: 'VALUE',
  0: 'KEY',
  1: 'VERSION',
  2: 'CREATE',
  3: 'MOD',
  4: 'VALUE',
}

const COMPARE_RESULT: Readonly<Record<string, CompareResult>> = {
  Equal: 'EQUAL',
  Greater: 'GREATER',
  Less: 'LESS',
  NotEqual: 'NOT_EQUAL',
  0: 'EQUAL',
  1: 'GREATER',
  2: 'LESS',
  3: 'NOT_EQUAL',
}

const COMPARE_TARGET: Readonly<Record<string, CompareTarget>> = {
  Version: 'VERSION',
  Create: 'CREATE',
  Mod: 'MOD',
  Value: 'VALUE',
  Lease: 'LEASE',
  0: 'VERSION',
  1: 'CREATE',
  2: 'MOD',
  3: 'VALUE',
  4: 'LEASE',
}

export type WatchFilter = 'NOPUT' | 'NODELETE'

const WATCH_FILTER: Readonly<Record<string, WatchFilter>> = {
  Noput: 'NOPUT',
  Nodelete: 'NODELETE',
  0: 'NOPUT',
  1: 'NODELETE',
}

// ---- requests -------------------------------------------------------------------------------

export interface WireRangeRequest {
  readonly key?: Uint8Array
  readonly range_end?: Uint8Array
  readonly limit?: Long
  readonly revision?: Long
  readonly sort_order?: EnumValue
  readonly sort_target?: EnumValue
  readonly serializable?: boolean
  readonly keys_only?: boolean
  readonly count_only?: boolean
  readonly min_mod_revision?: Long
  readonly max_mod_revision?: Long
  readonly min_create_revision?: Long
  readonly max_create_revision?: Long
}

export interface WirePutRequest {
  readonly key?: Uint8Array
  readonly value?: Uint8Array
  readonly lease?: Long
  readonly prev_kv?: boolean
  readonly ignore_value?: boolean
  readonly ignore_lease?: boolean
}

export interface WireDeleteRangeRequest {
  readonly key?: Uint8Array
  readonly range_end?: Uint8Array
  readonly prev_kv?: boolean
}

export interface WireRequestOp {
  readonly request_range?: WireRangeRequest | null
  readonly request_put?: WirePutRequest | null
  readonly request_delete_range?: WireDeleteRangeRequest | null
  readonly request_txn?: WireTxnRequest | null
}

export interface WireCompare {
  readonly result?: EnumValue
  readonly target?: EnumValue
  readonly key?: Uint8Array
  readonly range_end?: Uint8Array
  readonly version?: Long
  readonly create_revision?: Long
  readonly mod_revision?: Long
  readonly value?: Uint8Array
  readonly lease?: Long
}

export interface WireTxnRequest {
  readonly compare?: readonly WireCompare[]
  readonly success?: readonly WireRequestOp[]
  readonly failure?: readonly WireRequestOp[]
}

export function rangeRequest(w: WireRangeRequest): RangeRequest {
  const sortOrder = lookup(SORT_ORDER, w.sort_order)
  const sortTarget = lookup(SORT_TARGET, w.sort_target)
  if (sortOrder === undefined || sortTarget === undefined) throw etcdFailure(ErrInvalidSortOption)
  return {
    key: bytes(w.key),
    rangeEnd: optionalBytes(w.range_end),
    limit: int64(w.limit, 'limit'),
    revision: int64(w.revision, 'revision'),
    sortOrder,
    sortTarget,
    serializable: w.serializable === true,
    keysOnly: w.keys_only === true,
    countOnly: w.count_only === true,
    minModRevision: int64(w.min_mod_revision, 'min_mod_revision'),
    maxModRevision: int64(w.max_mod_revision, 'max_mod_revision'),
    minCreateRevision: int64(w.min_create_revision, 'min_create_revision'),
    maxCreateRevision: int64(w.max_create_revision, 'max_create_revision'),
  }
}

export function putRequest(w: WirePutRequest): PutRequest {
  return {
    key: bytes(w.key),
    value: bytes(w.value),
    lease: int64(w.lease, 'lease'),
    prevKv: w.prev_kv === true,
    ignoreValue: w.ignore_value === true,
    ignoreLease: w.ignore_lease === true,
  }
}

export function deleteRangeRequest(w: WireDeleteRangeRequest): DeleteRangeRequest {
  return { key: bytes(w.key), rangeEnd: optionalBytes(w.range_end), prevKv: w.prev_kv === true }
}

export function txnRequest(w: WireTxnRequest): TxnRequest {
  return {
    compare: (w.compare ?? []).map(compare),
    success: (w.success ?? []).map(requestOp),
    failure: (w.failure ?? []).map(requestOp),
  }
}

function requestOp(w: WireRequestOp): RequestOp {
  if (w.request_range) return { type: 'range', ...rangeRequest(w.request_range) }
  if (w.request_put) return { type: 'put', ...putRequest(w.request_put) }
  if (w.request_delete_range) {
    return { type: 'deleteRange', ...deleteRangeRequest(w.request_delete_range) }
  }
  if (w.request_txn) return { type: 'txn', ...txnRequest(w.request_txn) }
  // What etcd answers for a RequestOp with none of its oneof set.
  throw etcdFailure(ErrKeyNotFound)
}

function compare(w: WireCompare): Compare {
  const result = lookup(COMPARE_RESULT, w.result)
  if (result === undefined) throw invalidArgument(`unknown compare result ${w.result}`)
  const target = lookup(COMPARE_TARGET, w.target)
  if (target === undefined) throw invalidArgument(`unknown compare target ${w.target}`)
  const base = { result, key: bytes(w.key), rangeEnd: optionalBytes(w.range_end) }
  switch (target) {
    case 'VERSION':
      return { ...base, target, version: int64(w.version, 'compare version') }
    case 'CREATE':
      return {
        ...base,
        target,
        createRevision: int64(w.create_revision, 'compare create_revision'),
      }
    case 'MOD':
      return { ...base, target, modRevision: int64(w.mod_revision, 'compare mod_revision') }
    case 'VALUE':
      return { ...base, target, value: bytes(w.value) }
    case 'LEASE':
      return { ...base, target, lease: int64(w.lease, 'compare lease') }
  }
}

/** Whether a txn only reads: etcd serves such a txn like a Range (ReadIndex, no log entry). */
export function isReadOnlyTxn(w: WireTxnRequest): boolean {
  const onlyRanges = (ops: readonly WireRequestOp[] | undefined): boolean =>
    (ops ?? []).every((op) => Boolean(op.request_range))
  return onlyRanges(w.success) && onlyRanges(w.failure)
}

/** Whether every read of a txn asked for serializable: then it skips the read barrier too. */
export function isSerializableTxn(w: WireTxnRequest): boolean {
  const serializable = (ops: readonly WireRequestOp[] | undefined): boolean =>
    (ops ?? []).every((op) => op.request_range?.serializable === true)
  return serializable(w.success) && serializable(w.failure)
}

export function watchFilters(values: readonly EnumValue[] | undefined): Set<WatchFilter> {
  const filters = new Set<WatchFilter>()
  for (const value of values ?? []) {
    const filter = lookup(WATCH_FILTER, value)
    // etcd ignores filters it does not know.
    if (filter !== undefined) filters.add(filter)
  }
  return filters
}

// ---- responses ------------------------------------------------------------------------------

export interface WireHeader {
  readonly cluster_id: string
  readonly member_id: string
  readonly revision: number
  readonly raft_term: number
}

export function wireHeader(header: Header, revision: number = header.revision): WireHeader {
  return {
    cluster_id: header.clusterId,
    member_id: header.memberId,
    revision,
    raft_term: header.raftTerm,
  }
}

/** The header of a response nested in a txn: etcd fills in only its revision. */
function innerHeader(revision: number): { readonly revision: number } {
  return { revision }
}

export interface WireKeyValue {
  readonly key: Uint8Array
  readonly create_revision: number
  readonly mod_revision: number
  readonly version: number
  readonly value: Uint8Array
  readonly lease: number
}

export function wireKeyValue(kv: KeyValue): WireKeyValue {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  }
}

export interface WireEvent {
  readonly type: 'Put' | 'Delete'
  readonly kv: WireKeyValue
  readonly prev_kv?: WireKeyValue
}

export function wireEvent(event: Event, withPrevKv: boolean): WireEvent {
  const type = event.type === 'PUT' ? 'Put' : 'Delete'
  const kv = wireKeyValue(event.kv)
  return withPrevKv && event.prevKv !== undefined
    ? { type, kv, prev_kv: wireKeyValue(event.prevKv) }
    : { type, kv }
}

type HeaderOf = (revision: number) => object

export function rangeResponse(r: RangeResponse, header: HeaderOf): object {
  return {
    header: header(r.header.revision),
    kvs: r.kvs.map(wireKeyValue),
    more: r.more,
    count: r.count,
  }
}

export function putResponse(r: PutResponse, header: HeaderOf): object {
  return r.prevKv === undefined
    ? { header: header(r.header.revision) }
    : { header: header(r.header.revision), prev_kv: wireKeyValue(r.prevKv) }
}

export function deleteRangeResponse(r: DeleteRangeResponse, header: HeaderOf): object {
  return {
    header: header(r.header.revision),
    deleted: r.deleted,
    prev_kvs: r.prevKvs.map(wireKeyValue),
  }
}

export function txnResponse(r: TxnResponse, header: HeaderOf): object {
  return {
    header: header(r.header.revision),
    succeeded: r.succeeded,
    responses: r.responses.map(responseOp),
  }
}

function responseOp(op: ResponseOp): object {
  switch (op.type) {
    case 'range':
      return { response_range: rangeResponse(op.response, innerHeader) }
    case 'put':
      return { response_put: putResponse(op.response, innerHeader) }
    case 'deleteRange':
      return { response_delete_range: deleteRangeResponse(op.response, innerHeader) }
    case 'txn':
      return { response_txn: txnResponse(op.response, innerHeader) }
  }
}

export interface WireMember {
  readonly ID: string
  readonly name: string
  readonly peerURLs: readonly string[]
  readonly clientURLs: readonly string[]
  readonly isLearner: boolean
}

export function wireMember(m: Member): WireMember {
  return {
    ID: uint64String(m.id),
    name: m.name,
    peerURLs: [...m.peerURLs],
    clientURLs: [...m.clientURLs],
    isLearner: m.isLearner,
  }
}
