import { describe, expect, it } from 'vitest'
import {
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseTTLTooLarge,
  ErrNotLeader,
} from '../../src/main/kv/errors'
import { deleteRange, put, range } from '../../src/main/kv/kv'
import {
  demote,
  expiredLeases,
  keepAlive,
  leaseCheckpoint,
  leaseGrant,
  leaseRevoke,
  leases,
  MAX_LEASE_TTL,
  promote,
  timeToLive,
} from '../../src/main/kv/lease'
import { createStore } from '../../src/main/kv/store'
import { eventsSince } from '../../src/main/kv/watch'
import { b, keys, ok, text } from './support'

const ALL = Uint8Array.of(0)

describe('lease grant', () => {
  it('assigns IDs deterministically from the state, skipping IDs already taken', () => {
    const one = createStore()
    const two = createStore()
    for (const store of [one, two]) {
      ok(leaseGrant(store, { id: 2, ttl: 10 }, 0))
      expect(ok(leaseGrant(store, { id: 0, ttl: 10 }, 0)).id).toBe(1)
      expect(ok(leaseGrant(store, { id: 0, ttl: 10 }, 0)).id).toBe(3)
    }
    expect(leases(one)).toEqual(leases(two))
    expect(leases(one).map((l) => l.id)).toEqual([1, 2, 3])
  })

  it("refuses an existing ID and a TTL above etcd's maximum, with etcd's codes", () => {
    const store = createStore()
    ok(leaseGrant(store, { id: 5, ttl: 10 }, 0))
    expect(leaseGrant(store, { id: 5, ttl: 10 }, 0)).toEqual({
      code: 'FailedPrecondition',
      message: 'etcdserver: lease already exists',
    })
    expect(leaseGrant(store, { id: 6, ttl: MAX_LEASE_TTL + 1 }, 0)).toBe(ErrLeaseTTLTooLarge)
    expect(ErrLeaseTTLTooLarge).toEqual({
      code: 'OutOfRange',
      message: 'etcdserver: too large lease TTL',
    })
    expect(ErrLeaseExist.code).toBe('FailedPrecondition')
    expect(leases(store)).toEqual([{ id: 5, ttl: 10 }])
  })

  it('raises a TTL below the minimum to the minimum', () => {
    const store = createStore({ minLeaseTtl: 5 })
    expect(ok(leaseGrant(store, { id: 0, ttl: 1 }, 0)).ttl).toBe(5)
    expect(ok(leaseGrant(store, { id: 0, ttl: 0 }, 0)).ttl).toBe(5)
    expect(ok(leaseGrant(store, { id: 0, ttl: 6 }, 0)).ttl).toBe(6)
    expect(ok(leaseGrant(createStore(), { id: 0, ttl: 1 }, 0)).ttl).toBe(2)
  })
})

describe('lease revoke', () => {
  it('deletes every attached key in one revision, with DELETE events in key order', () => {
    const store = createStore()
    const { id } = ok(leaseGrant(store, { id: 0, ttl: 30 }, 0))
    put(store, { key: b('s/2'), value: b('x'), lease: id }) // 2
    put(store, { key: b('s/1'), value: b('y'), lease: id }) // 3
    put(store, { key: b('keep'), value: b('z') }) // 4
    put(store, { key: b('moved'), value: b('m'), lease: id }) // 5
    put(store, { key: b('moved'), value: b('m') }) // 6: re-put without a lease detaches it
    put(store, { key: b('gone'), value: b('g'), lease: id }) // 7
    deleteRange(store, { key: b('gone') }) // 8: deleting detaches it
    expect(ok(timeToLive(store, id, 0, { keys: true })).keys.map(text)).toEqual(['s/1', 's/2'])

    expect(ok(leaseRevoke(store, { id })).header.revision).toBe(9)
    expect(keys(ok(range(store, { key: b('a'), rangeEnd: ALL })).kvs)).toEqual(['keep', 'moved'])
    const history = eventsSince(store, b('a'), ALL, 9)
    expect(history.compacted).toBe(false)
    if (history.compacted) return
    expect(history.events.map((e) => `${e.type} ${text(e.kv.key)} ${e.kv.modRevision}`)).toEqual([
      'DELETE s/1 9',
      'DELETE s/2 9',
    ])
    expect(history.events.map((e) => e.prevKv && text(e.prevKv.value))).toEqual(['y', 'x'])
    expect(leases(store)).toEqual([])
    expect(leaseRevoke(store, { id })).toBe(ErrLeaseNotFound)
  })

  it('does not bump the revision when the lease has no keys', () => {
    const store = createStore()
    const { id } = ok(leaseGrant(store, { id: 0, ttl: 30 }, 0))
    expect(ok(leaseRevoke(store, { id })).header.revision).toBe(1)
    expect(store.revision).toBe(1)
  })
})

describe('lease expiry', () => {
  it('expires nothing on a follower, whose lessor has no deadlines', () => {
    const store = createStore()
    ok(leaseGrant(store, { id: 1, ttl: 10 }, 0))
    expect(expiredLeases(store, 1e12)).toEqual([])
    expect(keepAlive(store, 1, 0)).toBe(ErrNotLeader)
    expect(ok(timeToLive(store, 1, 1e12))).toMatchObject({ ttl: 10, grantedTtl: 10 })
  })

  it('reports leases past their deadline on the leader, soonest first', () => {
    const store = createStore()
    ok(leaseGrant(store, { id: 1, ttl: 10 }, 0))
    promote(store, 1_000)
    ok(leaseGrant(store, { id: 2, ttl: 5 }, 2_000)) // granted on the leader: deadline 7,000
    ok(leaseGrant(store, { id: 3, ttl: 30 }, 2_000))
    expect(expiredLeases(store, 6_999)).toEqual([])
    expect(expiredLeases(store, 7_000)).toEqual([2])
    expect(expiredLeases(store, 11_000)).toEqual([2, 1])
    expect(expiredLeases(store, 11_000, 1)).toEqual([2])
    expect(ok(timeToLive(store, 1, 4_500))).toMatchObject({ ttl: 6, grantedTtl: 10 })
  })

  it('renews a lease on keep-alive and refuses one already past its deadline', () => {
    const store = createStore()
    promote(store, 0)
    ok(leaseGrant(store, { id: 1, ttl: 10 }, 0))
    ok(leaseGrant(store, { id: 2, ttl: 10 }, 0))
    expect(ok(keepAlive(store, 1, 9_000))).toMatchObject({ id: 1, ttl: 10, clearCheckpoint: false })
    expect(expiredLeases(store, 10_000)).toEqual([2])
    expect(keepAlive(store, 2, 10_000)).toBe(ErrLeaseNotFound)
    expect(expiredLeases(store, 19_000)).toEqual([2, 1])
    expect(keepAlive(store, 99, 0)).toBe(ErrLeaseNotFound)
  })

  it('restarts every deadline on promotion, from the checkpoint when there is one', () => {
    const store = createStore()
    ok(leaseGrant(store, { id: 1, ttl: 100 }, 0))
    ok(leaseGrant(store, { id: 2, ttl: 100 }, 0))
    leaseCheckpoint(store, {
      checkpoints: [
        { id: 2, remainingTtl: 20 },
        { id: 77, remainingTtl: 5 },
      ],
    })
    promote(store, 50_000, 1_000)
    expect(expiredLeases(store, 70_999)).toEqual([])
    expect(expiredLeases(store, 71_000)).toEqual([2])
    expect(expiredLeases(store, 151_000)).toEqual([2, 1])
    // A keep-alive makes the checkpoint stale; the leader is told to clear it.
    expect(ok(keepAlive(store, 2, 60_000)).clearCheckpoint).toBe(true)
    demote(store)
    expect(expiredLeases(store, 1e12)).toEqual([])
  })
})
