// etcd's errors as values: each carries the gRPC status code and the exact message text of
// etcd's rpctypes table, so the gRPC layer sends them unchanged and clients that match on the
// message (etcdctl, clientv3, the etcd3 package) recognise them.

export type GrpcCode =
  | 'InvalidArgument'
  | 'NotFound'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'OutOfRange'
  | 'Unavailable'
  /** What etcd answers an error its gRPC layer has no code for (togRPCError). */
  | 'Unknown'

/** Numeric gRPC status codes, for @grpc/grpc-js. */
export const GRPC_STATUS: Readonly<Record<GrpcCode, number>> = {
  InvalidArgument: 3,
  NotFound: 5,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Unavailable: 14,
  Unknown: 2,
}

export interface EtcdError {
  readonly code: GrpcCode
  readonly message: string
}

function etcdError(code: GrpcCode, message: string): EtcdError {
  return Object.freeze({ code, message })
}

export const ErrEmptyKey = etcdError('InvalidArgument', 'etcdserver: key is not provided')
export const ErrKeyNotFound = etcdError('InvalidArgument', 'etcdserver: key not found')
export const ErrValueProvided = etcdError('InvalidArgument', 'etcdserver: value is provided')
export const ErrLeaseProvided = etcdError('InvalidArgument', 'etcdserver: lease is provided')
export const ErrTooManyOps = etcdError(
  'InvalidArgument',
  'etcdserver: too many operations in txn request',
)
export const ErrDuplicateKey = etcdError(
  'InvalidArgument',
  'etcdserver: duplicate key given in txn request',
)
export const ErrInvalidSortOption = etcdError('InvalidArgument', 'etcdserver: invalid sort option')
export const ErrCompacted = etcdError(
  'OutOfRange',
  'etcdserver: mvcc: required revision has been compacted',
)
export const ErrFutureRev = etcdError(
  'OutOfRange',
  'etcdserver: mvcc: required revision is a future revision',
)
export const ErrLeaseNotFound = etcdError('NotFound', 'etcdserver: requested lease not found')
export const ErrLeaseExist = etcdError('FailedPrecondition', 'etcdserver: lease already exists')
export const ErrLeaseTTLTooLarge = etcdError('OutOfRange', 'etcdserver: too large lease TTL')
export const ErrRequestTooLarge = etcdError('InvalidArgument', 'etcdserver: request is too large')
/** Lease renewal and expiry belong to the leader's lessor (see promote in lease.ts). */
export const ErrNotLeader = etcdError('FailedPrecondition', 'etcdserver: not leader')

export function isEtcdError(value: unknown): value is EtcdError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  )
}
