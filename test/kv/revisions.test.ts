import { describe, expect, it } from 'vitest'
import {
  ErrEmptyKey,
  ErrKeyNotFound,
  ErrLeaseNotFound,
  ErrLeaseProvided,
  ErrValueProvided,
} from '../../src/main/kv/errors'
import { compact, deleteRange, put, range } from '../../src/main/kv/kv'
import { leaseGrant } from '../../src/main/kv/lease'
import { createStore } from '../../src/main/kv/store'
import { txn } from '../../src/main/kv/txn'
import { eventsSince } from '../../src/main/kv/watch'
import { b, keys, ok, text } from './support'

const ALL = Uint8Array.of(0)

/** The revisions of the writes a watch of every key from revision 1 replays. */
function writeRevisions(store: ReturnType<typeof createStore>): number[] {
  const all = eventsSince(store, ALL, ALL, store.compactRevision + 1)
  if (all.compacted) throw new Error('compacted')
  return [...new Set(all.events.map((e) => e.kv.modRevision))]
}

function get(store: ReturnType<typeof createStore>, key: string) {
  return ok(range(store, { key: b(key) })).kvs[0]
}

describe('revisions', () => {
  it('starts an empty store at revision 1, so the first write is revision 2', () => {
    const store = createStore()
    expect(store.revision).toBe(1)
    expect(ok(range(store, { key: b('a') })).header.revision).toBe(1)
    expect(ok(put(store, { key: b('a'), value: b('1') })).header.revision).toBe(2)
    expect(store.revision).toBe(2)
  })

  it('bumps the revision once per write and stamps create/mod revisions and versions', () => {
    const store = createStore()
    put(store, { key: b('a'), value: b('1') }) // 2
    put(store, { key: b('b'), value: b('1') }) // 3
    put(store, { key: b('a'), value: b('2') }) // 4
    expect(get(store, 'a')).toMatchObject({ createRevision: 2, modRevision: 4, version: 2 })
    expect(get(store, 'b')).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 })
    const deleted = ok(deleteRange(store, { key: b('a') }))
    expect(deleted).toMatchObject({ header: { revision: 5 }, deleted: 1 })
    expect(store.revision).toBe(5)
  })

  it('resets the version and create revision when a deleted key is put again', () => {
    const store = createStore()
    put(store, { key: b('k'), value: b('1') }) // 2
    put(store, { key: b('k'), value: b('2') }) // 3
    deleteRange(store, { key: b('k') }) // 4
    expect(get(store, 'k')).toBeUndefined()
    put(store, { key: b('k'), value: b('3') }) // 5
    expect(get(store, 'k')).toMatchObject({ createRevision: 5, modRevision: 5, version: 1 })
  })

  it('does not bump the revision for a delete that deletes nothing', () => {
    const store = createStore()
    put(store, { key: b('a'), value: b('1') })
    const response = ok(deleteRange(store, { key: b('zzz') }))
    expect(response).toMatchObject({ header: { revision: 2 }, deleted: 0 })
    expect(store.revision).toBe(2)
  })

  it('gives a whole txn one revision, however many keys it writes', () => {
    const store = createStore()
    put(store, { key: b('x'), value: b('0') }) // 2
    const response = ok(
      txn(store, {
        compare: [],
        success: [
          { type: 'put', key: b('a'), value: b('1') },
          { type: 'put', key: b('b'), value: b('1') },
          { type: 'deleteRange', key: b('x') },
        ],
        failure: [],
      }),
    )
    expect(response.header.revision).toBe(3)
    expect(store.revision).toBe(3)
    expect(get(store, 'a')?.modRevision).toBe(3)
    expect(get(store, 'b')?.modRevision).toBe(3)
    // Sub-revisions order the changes within the revision.
    const replay = eventsSince(store, ALL, ALL, 3)
    expect(!replay.compacted && replay.events.map((e) => `${e.type} ${text(e.kv.key)}`)).toEqual([
      'PUT a',
      'PUT b',
      'DELETE x',
    ])
  })

  it('does not bump the revision for a read-only txn', () => {
    const store = createStore()
    put(store, { key: b('a'), value: b('1') })
    const response = ok(
      txn(store, { compare: [], success: [{ type: 'range', key: b('a') }], failure: [] }),
    )
    expect(response.header.revision).toBe(2)
    expect(store.revision).toBe(2)
  })
})

describe('put', () => {
  it('returns the previous kv when prevKv is asked for, and none for a new key', () => {
    const store = createStore()
    expect(ok(put(store, { key: b('k'), value: b('1'), prevKv: true })).prevKv).toBeUndefined()
    const second = ok(put(store, { key: b('k'), value: b('2'), prevKv: true }))
    expect(second.prevKv && text(second.prevKv.value)).toBe('1')
    expect(second.prevKv?.modRevision).toBe(2)
    expect(ok(put(store, { key: b('k'), value: b('3') })).prevKv).toBeUndefined()
  })

  it('keeps the value with ignoreValue and the lease with ignoreLease', () => {
    const store = createStore()
    ok(leaseGrant(store, { id: 7, ttl: 10 }, 0))
    put(store, { key: b('k'), value: b('v1'), lease: 7 })
    put(store, { key: b('k'), value: new Uint8Array(0), ignoreValue: true, lease: 0 })
    expect(get(store, 'k')).toMatchObject({ value: b('v1'), lease: 0, version: 2 })
    put(store, { key: b('k'), value: b('v2'), lease: 7 })
    put(store, { key: b('k'), value: b('v3'), ignoreLease: true })
    expect(get(store, 'k')).toMatchObject({ value: b('v3'), lease: 7, version: 4 })
  })

  it('refuses ignoreValue on a missing key, a value with ignoreValue, a lease with ignoreLease', () => {
    const store = createStore()
    expect(put(store, { key: b('nope'), value: new Uint8Array(0), ignoreValue: true })).toBe(
      ErrKeyNotFound,
    )
    expect(put(store, { key: b('nope'), value: b('x'), ignoreLease: true })).toBe(ErrKeyNotFound)
    put(store, { key: b('k'), value: b('v') })
    expect(put(store, { key: b('k'), value: b('x'), ignoreValue: true })).toBe(ErrValueProvided)
    expect(put(store, { key: b('k'), value: b('x'), lease: 5, ignoreLease: true })).toBe(
      ErrLeaseProvided,
    )
    expect(store.revision).toBe(2)
  })

  it('refuses an unknown lease and an empty key with etcd messages', () => {
    const store = createStore()
    expect(put(store, { key: b('k'), value: b('v'), lease: 99 })).toEqual({
      code: 'NotFound',
      message: 'etcdserver: requested lease not found',
    })
    expect(put(store, { key: new Uint8Array(0), value: b('v') })).toBe(ErrEmptyKey)
    expect(ErrEmptyKey.message).toBe('etcdserver: key is not provided')
    expect(store.revision).toBe(1)
    expect(ErrLeaseNotFound.code).toBe('NotFound')
  })

  it('copies keys and values, so a caller reusing its buffer cannot rewrite history', () => {
    const store = createStore()
    const key = b('k')
    const value = b('v1')
    put(store, { key, value })
    key[0] = 0x7a
    value[0] = 0x7a
    expect(text(get(store, 'k')?.value ?? new Uint8Array())).toBe('v1')
  })
})

describe('deleteRange', () => {
  it('deletes a range and returns the deleted kvs only when prevKv is asked for', () => {
    const store = createStore()
    for (const k of ['a', 'b', 'c', 'd']) put(store, { key: b(k), value: b(k) })
    const quiet = ok(deleteRange(store, { key: b('a'), rangeEnd: b('b') }))
    expect(quiet).toMatchObject({ deleted: 1, prevKvs: [] })
    const loud = ok(deleteRange(store, { key: b('b'), rangeEnd: b('d'), prevKv: true }))
    expect(loud.deleted).toBe(2)
    expect(keys(loud.prevKvs)).toEqual(['b', 'c'])
    expect(keys(ok(range(store, { key: b('a'), rangeEnd: Uint8Array.of(0) })).kvs)).toEqual(['d'])
  })

  it('deletes every key from `key` on when rangeEnd is "\\0"', () => {
    const store = createStore()
    for (const k of ['a', 'b', 'c']) put(store, { key: b(k), value: b(k) })
    expect(ok(deleteRange(store, { key: b('b'), rangeEnd: Uint8Array.of(0) })).deleted).toBe(2)
    expect(
      keys(ok(range(store, { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) })).kvs),
    ).toEqual(['a'])
  })
})

describe('compact', () => {
  it('refuses a revision at or below the compact revision, or above the current one', () => {
    const store = createStore()
    put(store, { key: b('a'), value: b('1') }) // 2
    put(store, { key: b('a'), value: b('2') }) // 3
    expect(compact(store, { revision: 4 })).toEqual({
      code: 'OutOfRange',
      message: 'etcdserver: mvcc: required revision is a future revision',
    })
    expect(ok(compact(store, { revision: 2 })).header.revision).toBe(3)
    expect(compact(store, { revision: 2 })).toEqual({
      code: 'OutOfRange',
      message: 'etcdserver: mvcc: required revision has been compacted',
    })
    expect(compact(store, { revision: 1 })).toMatchObject({ code: 'OutOfRange' })
    expect(store.compactRevision).toBe(2)
  })

  it('keeps the latest version of each live key and drops fully deleted keys', () => {
    const store = createStore()
    put(store, { key: b('live'), value: b('1') }) // 2
    put(store, { key: b('live'), value: b('2') }) // 3
    put(store, { key: b('gone'), value: b('1') }) // 4
    deleteRange(store, { key: b('gone') }) // 5
    put(store, { key: b('live'), value: b('3') }) // 6
    ok(compact(store, { revision: 5 }))
    // The version current at revision 5 is still readable there...
    const at5 = ok(range(store, { key: b('live'), revision: 5 })).kvs[0]
    expect(at5 && text(at5.value)).toBe('2')
    expect(store.keys.size).toBe(1)
    // ...and the history above it survives.
    expect(writeRevisions(store)).toEqual([6])
  })
})
