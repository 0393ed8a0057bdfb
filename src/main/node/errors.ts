// etcd's server-side errors that come from the cluster rather than from the key-value store,
// with etcd's exact texts (clients match on them) and gRPC codes.

import type { EtcdError, GrpcCode } from '../kv'

function err(code: GrpcCode, message: string): EtcdError {
  return Object.freeze({ code, message })
}

export const ErrNoLeader = err('Unavailable', 'etcdserver: no leader')
export const ErrLeaderChanged = err('Unavailable', 'etcdserver: leader changed')
export const ErrTimeout = err('Unavailable', 'etcdserver: request timed out')
export const ErrStopped = err('Unavailable', 'etcdserver: server stopped')
export const ErrUnhealthy = err('Unavailable', 'etcdserver: unhealthy cluster')
export const ErrMemberNotFound = err('NotFound', 'etcdserver: member not found')
export const ErrMemberNotLearner = err(
  'FailedPrecondition',
  'etcdserver: can only promote a learner member',
)
export const ErrLearnerNotReady = err(
  'FailedPrecondition',
  'etcdserver: can only promote a learner member which is in sync with leader',
)
export const ErrNotEnoughStartedMembers = err(
  'FailedPrecondition',
  'etcdserver: re-configuration failed due to not enough started members',
)
export const ErrPeerURLExist = err('FailedPrecondition', 'etcdserver: Peer URLs already exists')
export const ErrBadLeaderTransferee = err('FailedPrecondition', 'etcdserver: bad leader transferee')
/** etcd 3.4's ErrGPRCNotSupportedForLearner (sic): what a learner answers a client (learner.ts). */
export const ErrNotSupportedForLearner = err(
  'Unavailable',
  'etcdserver: rpc not supported for learner',
)
/**
 * The transferee did not take over within an election timeout, so the leader gave up. etcd's
 * gRPC layer has no code for it and sends Unknown; that matters, as clientv3 retries a
 * MoveLeader refused with Unavailable until its deadline instead of reporting this.
 */
export const ErrTimeoutLeaderTransfer = err(
  'Unknown',
  'etcdserver: request timed out, leader transfer took too long',
)

/** A refusal of the consensus core, passed on with its reason. */
export function rejected(reason: string): EtcdError {
  return err('FailedPrecondition', `etcdserver: ${reason}`)
}
