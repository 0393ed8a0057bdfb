// Leases, as etcd's lessor keeps them. What is replicated (and so decided by applying
// commands) is which leases exist, their granted TTL, their checkpointed remaining TTL and the
// keys attached to them. When a lease expires is not replicated: nodes do not share a clock.
// Only the leader's lessor is primary; it tracks deadlines on its own clock, renews leases on
// keep-alive and tells the leader which have expired, and the leader proposes a leaseRevoke
// for each. A new leader cannot know how long its predecessor's leases had left, so promote
// restarts every lease's full TTL (or its checkpointed remainder), as etcd's Promote does:
// a lease may outlive its deadline across an election, but never dies early.

import { compareBytes, keyRange } from './bytes'
import {
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseTTLTooLarge,
  ErrNotLeader,
  type EtcdError,
} from './errors'
import { beginWrite, endWrite, writeDelete, type Lease, type Store } from './store'
import type {
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseStatus,
  LeaseTimeToLiveResponse,
} from './types'

/** etcd's MaxLeaseTTL (about 285 years), in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000

/** The TTL a (re)started deadline runs for: the checkpointed remainder if there is one. */
function restartTtl(lease: Lease): number {
  return lease.remainingTtl > 0 ? lease.remainingTtl : lease.ttl
}

/**
 * Creates a lease. An ID of 0 gets the lowest unused ID from a counter in the replicated state,
 * so every node picks the same one. `now` (ms) starts the deadline on a primary lessor.
 */
export function leaseGrant(
  store: Store,
  req: LeaseGrantRequest,
  now: number,
): LeaseGrantResponse | EtcdError {
  if (req.ttl > MAX_LEASE_TTL) return ErrLeaseTTLTooLarge
  let id = req.id
  if (id === 0) {
    while (store.leases.has(store.nextLeaseId)) store.nextLeaseId++
    id = store.nextLeaseId++
  } else if (store.leases.has(id)) {
    return ErrLeaseExist
  }
  const ttl = Math.max(req.ttl, store.minLeaseTtl)
  const lease: Lease = {
    id,
    ttl,
    remainingTtl: 0,
    expiry: store.primary ? now + ttl * 1000 : Infinity,
    keys: new Set(),
  }
  store.leases.set(id, lease)
  return { header: { revision: store.revision }, id, ttl }
}

/** Deletes the lease and, in one revision, every key attached to it (in key order). */
export function leaseRevoke(
  store: Store,
  req: LeaseRevokeRequest,
): LeaseRevokeResponse | EtcdError {
  const lease = store.leases.get(req.id)
  if (lease === undefined) return ErrLeaseNotFound
  const keys = [...lease.keys].map((ki) => ki.key).sort(compareBytes)
  const tx = beginWrite(store)
  for (const key of keys) writeDelete(tx, keyRange(key, undefined))
  store.leases.delete(req.id)
  return { header: { revision: endWrite(tx) } }
}

/**
 * Records how long leases had left, so that a new leader does not hand long leases a fresh
 * full TTL after every election. Unknown IDs are skipped: the lease may have been revoked since
 * the leader read it. Deadlines are untouched; promote applies checkpoints.
 */
export function leaseCheckpoint(
  store: Store,
  req: LeaseCheckpointRequest,
): LeaseCheckpointResponse {
  for (const checkpoint of req.checkpoints) {
    const lease = store.leases.get(checkpoint.id)
    if (lease !== undefined) lease.remainingTtl = Math.max(checkpoint.remainingTtl, 0)
  }
  return { header: { revision: store.revision } }
}

/**
 * Renews a lease on the leader: its deadline becomes now + TTL. Not replicated (etcd does not
 * log keep-alives either). `clearCheckpoint` says the replicated checkpoint has gone stale and
 * the leader should propose a leaseCheckpoint with remainingTtl 0, so that a later leader
 * does not restart the lease from the old remainder.
 */
export function keepAlive(
  store: Store,
  id: number,
  now: number,
): (LeaseKeepAliveResponse & { readonly clearCheckpoint: boolean }) | EtcdError {
  if (!store.primary) return ErrNotLeader
  const lease = store.leases.get(id)
  // An expired lease is as good as revoked: its revoke is on its way through the log.
  if (lease === undefined || lease.expiry <= now) return ErrLeaseNotFound
  lease.expiry = now + lease.ttl * 1000
  return {
    header: { revision: store.revision },
    id,
    ttl: lease.ttl,
    clearCheckpoint: lease.remainingTtl > 0,
  }
}

/**
 * A lease's granted and remaining TTL (whole seconds, truncated as etcd does) and, if asked,
 * its keys. Only a primary lessor knows the remaining time; others report what a new leader
 * would start the lease with.
 */
export function timeToLive(
  store: Store,
  id: number,
  now: number,
  options: { readonly keys?: boolean } = {},
): LeaseTimeToLiveResponse | EtcdError {
  const lease = store.leases.get(id)
  if (lease === undefined) return ErrLeaseNotFound
  const ttl = store.primary
    ? Math.max(0, Math.trunc((lease.expiry - now) / 1000))
    : restartTtl(lease)
  const keys = options.keys === true ? [...lease.keys].map((ki) => ki.key).sort(compareBytes) : []
  return { header: { revision: store.revision }, id, ttl, grantedTtl: lease.ttl, keys }
}

/** Every lease, by ID. */
export function leases(store: Store): LeaseStatus[] {
  return [...store.leases.values()]
    .map((lease) => ({ id: lease.id, ttl: lease.ttl }))
    .sort((a, b) => a.id - b.id)
}

/**
 * Leases whose deadline has passed on a primary lessor, soonest first (ties by ID), at most
 * `limit` of them: the leader proposes a leaseRevoke for each. Always empty on a follower.
 */
export function expiredLeases(store: Store, now: number, limit: number = Infinity): number[] {
  if (!store.primary) return []
  return [...store.leases.values()]
    .filter((lease) => lease.expiry <= now)
    .sort((a, b) => a.expiry - b.expiry || a.id - b.id)
    .slice(0, limit)
    .map((lease) => lease.id)
}

/**
 * Makes this node's lessor primary (call it when the node becomes leader) and restarts every
 * deadline from `now`. `extendMs` adds slack, e.g. an election timeout, as etcd's Promote does.
 * Calling it again on a primary restarts the deadlines again.
 */
export function promote(store: Store, now: number, extendMs: number = 0): void {
  store.primary = true
  for (const lease of store.leases.values()) {
    lease.expiry = now + extendMs + restartTtl(lease) * 1000
  }
}

/** Makes this node's lessor a follower's again (call it when the node loses leadership). */
export function demote(store: Store): void {
  store.primary = false
  for (const lease of store.leases.values()) lease.expiry = Infinity
}
