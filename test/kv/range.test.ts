import { describe, expect, it } from 'vitest'
import { prefixRangeEnd } from '../../src/main/kv/bytes'
import { ErrCompacted, ErrEmptyKey, ErrFutureRev } from '../../src/main/kv/errors'
import { compact, deleteRange, put, range } from '../../src/main/kv/kv'
import { createStore, type Store } from '../../src/main/kv/store'
import type { RangeRequest } from '../../src/main/kv/types'
import { b, keys, ok, prng, text } from './support'

const ALL = Uint8Array.of(0)

/** a..e with versions and values chosen so that every sort target orders them differently. */
function sample(): Store {
  const store = createStore()
  put(store, { key: b('c'), value: b('3') }) // 2
  put(store, { key: b('a'), value: b('5') }) // 3
  put(store, { key: b('e'), value: b('1') }) // 4
  put(store, { key: b('b'), value: b('4') }) // 5
  put(store, { key: b('d'), value: b('2') }) // 6
  put(store, { key: b('e'), value: b('9') }) // 7: e version 2, value 9
  put(store, { key: b('e'), value: b('0') }) // 8: e version 3, value 0
  put(store, { key: b('a'), value: b('6') }) // 9: a version 2
  return store
}

function rangeKeys(store: Store, req: Partial<RangeRequest>): string[] {
  return keys(ok(range(store, { key: b('a'), rangeEnd: ALL, ...req })).kvs)
}

describe('range', () => {
  it('reads one key when rangeEnd is empty, and [key, rangeEnd) otherwise', () => {
    const store = sample()
    expect(rangeKeys(store, { key: b('b'), rangeEnd: undefined })).toEqual(['b'])
    expect(rangeKeys(store, { key: b('b'), rangeEnd: new Uint8Array(0) })).toEqual(['b'])
    expect(rangeKeys(store, { key: b('b'), rangeEnd: b('d') })).toEqual(['b', 'c'])
    expect(rangeKeys(store, { key: b('c'), rangeEnd: ALL })).toEqual(['c', 'd', 'e'])
    expect(rangeKeys(store, { key: b('d'), rangeEnd: b('b') })).toEqual([])
    expect(rangeKeys(store, { key: b('zz'), rangeEnd: undefined })).toEqual([])
  })

  it('limits the kvs, sets more and still counts every key in the range', () => {
    const store = sample()
    const limited = ok(range(store, { key: b('a'), rangeEnd: ALL, limit: 2 }))
    expect(keys(limited.kvs)).toEqual(['a', 'b'])
    expect(limited.more).toBe(true)
    expect(limited.count).toBe(5)
    const exact = ok(range(store, { key: b('a'), rangeEnd: ALL, limit: 5 }))
    expect(exact.more).toBe(false)
    expect(exact.kvs).toHaveLength(5)
  })

  it('sorts by every target in both orders', () => {
    const store = sample()
    // versions: a2 b1 c1 d1 e3; create: c2 a3 e4 b5 d6; mod: c2 b5 d6 e8 a9; values: a6 b4 c3 d2 e0
    expect(rangeKeys(store, { sortTarget: 'KEY', sortOrder: 'DESCEND' })).toEqual([
      'e',
      'd',
      'c',
      'b',
      'a',
    ])
    expect(rangeKeys(store, { sortTarget: 'KEY', sortOrder: 'ASCEND' })).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ])
    expect(rangeKeys(store, { sortTarget: 'VERSION', sortOrder: 'DESCEND' })).toEqual([
      'e',
      'a',
      'b',
      'c',
      'd',
    ])
    expect(rangeKeys(store, { sortTarget: 'CREATE', sortOrder: 'ASCEND' })).toEqual([
      'c',
      'a',
      'e',
      'b',
      'd',
    ])
    expect(rangeKeys(store, { sortTarget: 'MOD', sortOrder: 'DESCEND' })).toEqual([
      'a',
      'e',
      'd',
      'b',
      'c',
    ])
    expect(rangeKeys(store, { sortTarget: 'VALUE', sortOrder: 'ASCEND' })).toEqual([
      'e',
      'd',
      'c',
      'b',
      'a',
    ])
    // A target other than KEY with no order sorts ascending, as etcd does.
    expect(rangeKeys(store, { sortTarget: 'MOD' })).toEqual(['c', 'b', 'd', 'e', 'a'])
  })

  it('sorts before it limits', () => {
    const store = sample()
    const top = ok(
      range(store, {
        key: b('a'),
        rangeEnd: ALL,
        sortTarget: 'MOD',
        sortOrder: 'DESCEND',
        limit: 2,
      }),
    )
    expect(keys(top.kvs)).toEqual(['a', 'e'])
    expect(top.more).toBe(true)
    expect(top.count).toBe(5)
  })

  it('returns keys without values for keysOnly and only the count for countOnly', () => {
    const store = sample()
    const keysOnly = ok(range(store, { key: b('a'), rangeEnd: ALL, keysOnly: true }))
    expect(keys(keysOnly.kvs)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(keysOnly.kvs.every((kv) => kv.value.length === 0 && kv.modRevision > 0)).toBe(true)
    // The store's own value is untouched.
    expect(text(ok(range(store, { key: b('a') })).kvs[0]?.value ?? new Uint8Array())).toBe('6')
    const countOnly = ok(range(store, { key: b('a'), rangeEnd: ALL, countOnly: true }))
    expect(countOnly).toMatchObject({ kvs: [], count: 5, more: false })
  })

  it('filters by mod and create revision without changing the count', () => {
    const store = sample()
    const recent = ok(range(store, { key: b('a'), rangeEnd: ALL, minModRevision: 6 }))
    expect(keys(recent.kvs)).toEqual(['a', 'd', 'e'])
    expect(recent.count).toBe(5)
    expect(rangeKeys(store, { maxModRevision: 5 })).toEqual(['b', 'c'])
    expect(rangeKeys(store, { minCreateRevision: 4 })).toEqual(['b', 'd', 'e'])
    expect(rangeKeys(store, { maxCreateRevision: 3 })).toEqual(['a', 'c'])
    expect(rangeKeys(store, { minCreateRevision: 3, maxCreateRevision: 5, limit: 2 })).toEqual([
      'a',
      'b',
    ])
  })

  it('reads an older revision, and the header still carries the current one', () => {
    const store = sample()
    deleteRange(store, { key: b('c') }) // 10
    const old = ok(range(store, { key: b('a'), rangeEnd: ALL, revision: 4 }))
    expect(keys(old.kvs)).toEqual(['a', 'c', 'e'])
    expect(old.kvs.map((kv) => text(kv.value))).toEqual(['5', '3', '1'])
    expect(old.header.revision).toBe(10)
    expect(old.count).toBe(3)
    expect(rangeKeys(store, { revision: 9 })).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(rangeKeys(store, {})).toEqual(['a', 'b', 'd', 'e'])
    expect(rangeKeys(store, { revision: 1 })).toEqual([])
  })

  it('fails a read of a future revision and of a compacted one, but reads the compact revision', () => {
    const store = sample()
    expect(range(store, { key: b('a'), revision: 10 })).toBe(ErrFutureRev)
    ok(compact(store, { revision: 6 }))
    expect(range(store, { key: b('a'), revision: 5 })).toEqual({
      code: 'OutOfRange',
      message: 'etcdserver: mvcc: required revision has been compacted',
    })
    expect(range(store, { key: b('a'), revision: 5 })).toBe(ErrCompacted)
    expect(rangeKeys(store, { revision: 6 })).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(ok(range(store, { key: b('e'), revision: 6 })).kvs[0]?.value).toEqual(b('1'))
    expect(ok(range(store, { key: b('e'), revision: 7 })).kvs[0]?.value).toEqual(b('9'))
  })

  it('refuses an empty key', () => {
    expect(range(createStore(), { key: new Uint8Array(0) })).toBe(ErrEmptyKey)
  })

  it('orders keys bytewise, not by UTF-16 or locale', () => {
    const store = createStore()
    for (const key of [
      Uint8Array.of(0xff),
      Uint8Array.of(0x61, 0),
      Uint8Array.of(0x61),
      Uint8Array.of(0x7f),
      Uint8Array.of(0x80),
    ]) {
      put(store, { key, value: b('') })
    }
    const got = ok(range(store, { key: Uint8Array.of(0), rangeEnd: ALL })).kvs.map((kv) => [
      ...kv.key,
    ])
    expect(got).toEqual([[0x61], [0x61, 0], [0x7f], [0x80], [0xff]])
  })

  it('returns the right slice of a prefix among 100,000 keys', () => {
    const store = createStore()
    // Inserted in a shuffled order so that the index sees splits everywhere, not just at the end.
    const names: string[] = []
    for (let i = 0; i < 100_000; i++) names.push(`key/${String(i).padStart(6, '0')}`)
    const random = prng(42)
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[names[i], names[j]] = [names[j] as string, names[i] as string]
    }
    for (const name of names) put(store, { key: b(name), value: b(name.slice(4)) })
    expect(store.keys.size).toBe(100_000)

    const prefix = b('key/0421')
    const response = ok(range(store, { key: prefix, rangeEnd: prefixRangeEnd(prefix) }))
    const expected = Array.from({ length: 100 }, (_, i) => `key/0421${String(i).padStart(2, '0')}`)
    expect(keys(response.kvs)).toEqual(expected)
    expect(response.count).toBe(100)
    expect(text(response.kvs[0]?.value ?? new Uint8Array())).toBe('042100')

    const page = ok(
      range(store, { key: b('key/099990'), rangeEnd: prefixRangeEnd(b('key/')), limit: 5 }),
    )
    expect(keys(page.kvs)).toEqual([
      'key/099990',
      'key/099991',
      'key/099992',
      'key/099993',
      'key/099994',
    ])
    expect(page).toMatchObject({ more: true, count: 10 })
  })
})
