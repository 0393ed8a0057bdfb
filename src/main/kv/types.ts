// The requests, responses and records of etcd v3's KV and Lease services, as plain data in
// etcd's vocabulary (field names follow rpc.proto and kv.proto in camelCase). Bytes stay bytes;
// revisions, versions and lease IDs are numbers, which this package keeps below 2^53.

/** A key's state at one revision (mvccpb.KeyValue). */
export interface KeyValue {
  readonly key: Uint8Array
  /** Revision of the last creation of this key; reset by a delete and a later put. */
  readonly createRevision: number
  /** Revision of the last modification. */
  readonly modRevision: number
  /** 1 on creation, +1 on each put; a delete resets it. */
  readonly version: number
  readonly value: Uint8Array
  /** Attached lease ID, 0 for none. */
  readonly lease: number
}

/** What one write did to one key (mvccpb.Event). A DELETE's kv carries only key and modRevision. */
export interface Event {
  readonly type: 'PUT' | 'DELETE'
  readonly kv: KeyValue
  /** The key's state just before this event, when it existed. */
  readonly prevKv?: KeyValue
}

export interface ResponseHeader {
  /** The store revision the response reflects. */
  readonly revision: number
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND'
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'

export interface RangeRequest {
  readonly key: Uint8Array
  /** Empty or absent: just `key`. "\0": every key >= key. Otherwise the exclusive end. */
  readonly rangeEnd?: Uint8Array
  /** Maximum number of kvs to return; 0 for no limit. */
  readonly limit?: number
  /** Read at this revision; 0 (or below) for the current one. */
  readonly revision?: number
  readonly sortOrder?: SortOrder
  readonly sortTarget?: SortTarget
  /** Read path choice of the server (no ReadIndex); the state machine ignores it. */
  readonly serializable?: boolean
  readonly keysOnly?: boolean
  readonly countOnly?: boolean
  /** Filters; 0 means no filter. They do not change `count` (as in etcd). */
  readonly minModRevision?: number
  readonly maxModRevision?: number
  readonly minCreateRevision?: number
  readonly maxCreateRevision?: number
}

export interface RangeResponse {
  readonly header: ResponseHeader
  readonly kvs: readonly KeyValue[]
  /** Whether more keys than `limit` matched. */
  readonly more: boolean
  /** Number of keys in the range at the read revision, regardless of limit and filters. */
  readonly count: number
}

export interface PutRequest {
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly lease?: number
  readonly prevKv?: boolean
  /** Keep the current value; the key must exist and `value` must be empty. */
  readonly ignoreValue?: boolean
  /** Keep the current lease; the key must exist and `lease` must be 0. */
  readonly ignoreLease?: boolean
}

export interface PutResponse {
  readonly header: ResponseHeader
  readonly prevKv?: KeyValue
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array
  readonly rangeEnd?: Uint8Array
  readonly prevKv?: boolean
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader
  readonly deleted: number
  readonly prevKvs: readonly KeyValue[]
}

export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'

interface CompareBase {
  readonly result: CompareResult
  readonly key: Uint8Array
  /** Compare every key in [key, rangeEnd); all of them must satisfy the comparison. */
  readonly rangeEnd?: Uint8Array
}

/** One guard of a Txn; the target decides which field it compares against. */
export type Compare =
  | (CompareBase & { readonly target: 'VERSION'; readonly version: number })
  | (CompareBase & { readonly target: 'CREATE'; readonly createRevision: number })
  | (CompareBase & { readonly target: 'MOD'; readonly modRevision: number })
  | (CompareBase & { readonly target: 'VALUE'; readonly value: Uint8Array })
  | (CompareBase & { readonly target: 'LEASE'; readonly lease: number })

export type CompareTarget = Compare['target']

export interface RangeOp extends RangeRequest {
  readonly type: 'range'
}
export interface PutOp extends PutRequest {
  readonly type: 'put'
}
export interface DeleteRangeOp extends DeleteRangeRequest {
  readonly type: 'deleteRange'
}
export interface TxnOp extends TxnRequest {
  readonly type: 'txn'
}

export type RequestOp = RangeOp | PutOp | DeleteRangeOp | TxnOp

export interface TxnRequest {
  readonly compare: readonly Compare[]
  readonly success: readonly RequestOp[]
  readonly failure: readonly RequestOp[]
}

export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse }

export interface TxnResponse {
  readonly header: ResponseHeader
  /** Whether every compare held (and so `success` ran rather than `failure`). */
  readonly succeeded: boolean
  readonly responses: readonly ResponseOp[]
}

export interface CompactionRequest {
  readonly revision: number
  /** Whether the client waits for the backend to reclaim space; meaningless in memory. */
  readonly physical?: boolean
}

export interface CompactionResponse {
  readonly header: ResponseHeader
}

export interface LeaseGrantRequest {
  /** Requested lease ID; 0 lets the store choose one. */
  readonly id: number
  /** Requested time-to-live in seconds; raised to the store's minimum. */
  readonly ttl: number
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader
  readonly id: number
  /** The granted TTL in seconds, after the minimum clamp. */
  readonly ttl: number
}

export interface LeaseRevokeRequest {
  readonly id: number
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader
}

export interface LeaseCheckpoint {
  readonly id: number
  /** Seconds the lease had left when the leader checkpointed it; 0 clears the checkpoint. */
  readonly remainingTtl: number
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[]
}

export interface LeaseCheckpointResponse {
  readonly header: ResponseHeader
}

export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader
  readonly id: number
  /** The renewed TTL in seconds. */
  readonly ttl: number
}

export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader
  readonly id: number
  /** Seconds left before the lease expires. */
  readonly ttl: number
  readonly grantedTtl: number
  /** Attached keys in bytewise order; empty unless asked for. */
  readonly keys: readonly Uint8Array[]
}

export interface LeaseStatus {
  readonly id: number
  readonly ttl: number
}
