// The replicated key-value state machine: etcd v3's data model (MVCC keyspace, transactions,
// leases, watch history) as a pure, deterministic store. No I/O, no clocks: time comes in as
// `now` arguments, and the node decides when to call what.
//
// A node applies committed entries with applyCommand (markApplied for entries without one),
// serves reads with range, replays watch history with eventsSince and subscribe, runs the
// leader's lease clock with promote/demote, keepAlive and expiredLeases, and snapshots with
// encodeSnapshot/decodeSnapshot. put, deleteRange, txn and compact apply a request directly,
// without an index: for tests and tools, never for a replicated node.

export { compareBytes, equalBytes, prefixRangeEnd } from './bytes'
export {
  ErrCompacted,
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrFutureRev,
  ErrInvalidSortOption,
  ErrKeyNotFound,
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseProvided,
  ErrLeaseTTLTooLarge,
  ErrNotLeader,
  ErrRequestTooLarge,
  ErrTooManyOps,
  ErrValueProvided,
  GRPC_STATUS,
  isEtcdError,
  type EtcdError,
  type GrpcCode,
} from './errors'
export type * from './types'
export {
  createStore,
  DEFAULT_MIN_LEASE_TTL,
  type Store,
  type StoreOptions,
  type WriteListener,
} from './store'
export { MAX_REQUEST_BYTES, MAX_TXN_OPS, checkTxnRequest } from './check'
export { compact, deleteRange, put, range } from './kv'
export { txn } from './txn'
export {
  demote,
  expiredLeases,
  keepAlive,
  leases,
  MAX_LEASE_TTL,
  promote,
  timeToLive,
} from './lease'
export { eventsSince, subscribe, type HistoryResult } from './watch'
export {
  applyCommand,
  checkCommand,
  encodeProposal,
  markApplied,
  type Command,
  type CommandResponse,
  type CompactCommand,
  type LeaseCheckpointCommand,
  type LeaseGrantCommand,
  type LeaseRevokeCommand,
} from './command'
export { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from './commandcodec'
export {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotSteps,
  hash,
  SNAPSHOT_FORMAT_VERSION,
} from './snapshot'
