import { describe, expect, it } from 'vitest'
import { compact, deleteRange, put } from '../../src/main/kv/kv'
import { createStore } from '../../src/main/kv/store'
import { txn } from '../../src/main/kv/txn'
import type { Event } from '../../src/main/kv/types'
import { eventsSince, subscribe } from '../../src/main/kv/watch'
import { b, ok, text } from './support'

function describeEvent(e: Event): string {
  const prev =
    e.prevKv === undefined ? '' : ` (was ${text(e.prevKv.value)}@${e.prevKv.modRevision})`
  return `${e.kv.modRevision} ${e.type} ${text(e.kv.key)}=${text(e.kv.value)}${prev}`
}

function history() {
  const store = createStore()
  put(store, { key: b('foo'), value: b('1') }) // 2
  put(store, { key: b('bar'), value: b('1') }) // 3
  put(store, { key: b('foo'), value: b('2') }) // 4
  deleteRange(store, { key: b('foo') }) // 5
  put(store, { key: b('fox'), value: b('1') }) // 6
  put(store, { key: b('foo'), value: b('3') }) // 7
  return store
}

describe('watch history', () => {
  it('replays the events of one key from a past revision, with prevKv', () => {
    const result = eventsSince(history(), b('foo'), undefined, 3)
    expect(result.compacted).toBe(false)
    if (result.compacted) return
    expect(result.events.map(describeEvent)).toEqual([
      '4 PUT foo=2 (was 1@2)',
      '5 DELETE foo= (was 2@4)',
      '7 PUT foo=3',
    ])
    expect(result.revision).toBe(7)
  })

  it('replays a prefix and the whole keyspace, in revision order', () => {
    const store = history()
    const prefix = eventsSince(store, b('fo'), b('fp'), 1)
    expect(!prefix.compacted && prefix.events.map((e) => e.kv.modRevision)).toEqual([2, 4, 5, 6, 7])
    const all = eventsSince(store, Uint8Array.of(0), Uint8Array.of(0), 6)
    expect(!all.compacted && all.events.map(describeEvent)).toEqual(['6 PUT fox=1', '7 PUT foo=3'])
    const none = eventsSince(store, b('foo'), undefined, 8)
    expect(!none.compacted && none.events).toEqual([])
  })

  it('refuses a start below the compact revision and reports that revision', () => {
    const store = history()
    ok(compact(store, { revision: 5 }))
    expect(eventsSince(store, b('foo'), undefined, 4)).toEqual({
      compacted: true,
      compactRevision: 5,
    })
    expect(eventsSince(store, b('foo'), undefined, 2)).toEqual({
      compacted: true,
      compactRevision: 5,
    })
    const after = eventsSince(store, b('fo'), b('fp'), 6)
    expect(!after.compacted && after.events.map(describeEvent)).toEqual([
      '6 PUT fox=1',
      '7 PUT foo=3',
    ])
  })

  it('serves a start at exactly the compact revision, as etcd does', () => {
    const store = history()
    ok(compact(store, { revision: 4 }))
    const at = eventsSince(store, b('foo'), undefined, 4)
    expect(!at.compacted && at.events.map(describeEvent)).toEqual([
      '4 PUT foo=2',
      '5 DELETE foo= (was 2@4)',
      '7 PUT foo=3',
    ])
    // A tombstone at the compact revision is gone, in etcd too: the watch sees what is left.
    ok(compact(store, { revision: 5 }))
    const atDelete = eventsSince(store, b('foo'), undefined, 5)
    expect(!atDelete.compacted && atDelete.events.map(describeEvent)).toEqual(['7 PUT foo=3'])
  })

  it('refuses a negative start once something was compacted, and watches from now before', () => {
    const store = history()
    const before = eventsSince(store, b('foo'), undefined, -1)
    expect(before).toEqual({ compacted: false, events: [], revision: 7 })
    ok(compact(store, { revision: 3 }))
    expect(eventsSince(store, b('foo'), undefined, -1)).toEqual({
      compacted: true,
      compactRevision: 3,
    })
  })

  it('replays the changes of one txn in the order the txn made them, before and after compaction', () => {
    const store = createStore()
    put(store, { key: b('a'), value: b('0') }) // 2
    const ops = [
      { type: 'put' as const, key: b('z'), value: b('1') },
      { type: 'deleteRange' as const, key: b('a') },
      { type: 'put' as const, key: b('m'), value: b('1') },
    ]
    ok(txn(store, { compare: [], success: ops, failure: [] })) // 3
    put(store, { key: b('z'), value: b('2') }) // 4
    const expected = ['3 PUT z=1', '3 DELETE a= (was 0@2)', '3 PUT m=1', '4 PUT z=2 (was 1@3)']
    const before = eventsSince(store, Uint8Array.of(0), Uint8Array.of(0), 3)
    expect(!before.compacted && before.events.map(describeEvent)).toEqual(expected)
    ok(compact(store, { revision: 2 }))
    const after = eventsSince(store, Uint8Array.of(0), Uint8Array.of(0), 3)
    expect(!after.compacted && after.events.map(describeEvent)).toEqual(expected)
  })

  it('tells subscribers about each applied write once, with all of its events', () => {
    const store = createStore()
    const heard: string[] = []
    const unsubscribe = subscribe(store, (revision, events) => {
      heard.push(`${revision}: ${events.map(describeEvent).join(', ')}`)
    })
    put(store, { key: b('a'), value: b('1') })
    deleteRange(store, { key: b('missing') }) // changes nothing: no notification
    ok(
      txn(store, {
        compare: [],
        success: [
          { type: 'put', key: b('b'), value: b('1') },
          { type: 'deleteRange', key: b('a') },
        ],
        failure: [],
      }),
    )
    unsubscribe()
    put(store, { key: b('c'), value: b('1') })
    expect(heard).toEqual(['2: 2 PUT a=1', '3: 3 PUT b=1, 3 DELETE a= (was 1@2)'])
  })
})
