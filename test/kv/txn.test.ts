import { describe, expect, it } from 'vitest'
import {
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrFutureRev,
  ErrLeaseNotFound,
  ErrTooManyOps,
} from '../../src/main/kv/errors'
import { put, range } from '../../src/main/kv/kv'
import { leaseGrant } from '../../src/main/kv/lease'
import { createStore, type Store } from '../../src/main/kv/store'
import { txn } from '../../src/main/kv/txn'
import type { Compare, CompareResult, RequestOp, TxnRequest } from '../../src/main/kv/types'
import { b, keys, ok, text } from './support'

const ALL = Uint8Array.of(0)

function putOp(key: string, value = 'v'): RequestOp {
  return { type: 'put', key: b(key), value: b(value) }
}

function succeeds(store: Store, ...compare: Compare[]): boolean {
  return ok(txn(store, { compare, success: [], failure: [] })).succeeded
}

/** k: version 2, create 2, mod 3, value "m", lease 1. */
function store(): Store {
  const s = createStore()
  ok(leaseGrant(s, { id: 1, ttl: 60 }, 0))
  put(s, { key: b('k'), value: b('a') }) // 2
  put(s, { key: b('k'), value: b('m'), lease: 1 }) // 3
  return s
}

describe('txn compares', () => {
  const results: readonly [CompareResult, number, boolean][] = [
    ['EQUAL', 0, true],
    ['EQUAL', 1, false],
    ['NOT_EQUAL', 1, true],
    ['NOT_EQUAL', 0, false],
    ['GREATER', -1, true],
    ['GREATER', 0, false],
    ['LESS', 1, true],
    ['LESS', 0, false],
  ]
  // Each target's operand, offset by `delta` from the key's actual value.
  const targets: Record<Compare['target'], (result: CompareResult, delta: number) => Compare> = {
    VERSION: (result, delta) => ({ target: 'VERSION', result, key: b('k'), version: 2 + delta }),
    CREATE: (result, delta) => ({
      target: 'CREATE',
      result,
      key: b('k'),
      createRevision: 2 + delta,
    }),
    MOD: (result, delta) => ({ target: 'MOD', result, key: b('k'), modRevision: 3 + delta }),
    LEASE: (result, delta) => ({ target: 'LEASE', result, key: b('k'), lease: 1 + delta }),
    VALUE: (result, delta) => ({
      target: 'VALUE',
      result,
      key: b('k'),
      value: b(delta === 0 ? 'm' : delta > 0 ? 'n' : 'l'),
    }),
  }
  for (const [target, make] of Object.entries(targets)) {
    for (const [result, delta, expected] of results) {
      it(`${target} ${result} with operand ${delta >= 0 ? '+' : ''}${delta} is ${expected}`, () => {
        expect(succeeds(store(), make(result, delta))).toBe(expected)
      })
    }
  }

  it('compares a missing key as all zeros, but never matches its VALUE', () => {
    const s = store()
    const missing = b('missing')
    expect(succeeds(s, { target: 'VERSION', result: 'EQUAL', key: missing, version: 0 })).toBe(true)
    expect(
      succeeds(s, { target: 'CREATE', result: 'EQUAL', key: missing, createRevision: 0 }),
    ).toBe(true)
    expect(succeeds(s, { target: 'LEASE', result: 'EQUAL', key: missing, lease: 0 })).toBe(true)
    expect(
      succeeds(s, { target: 'VALUE', result: 'EQUAL', key: missing, value: new Uint8Array(0) }),
    ).toBe(false)
    expect(succeeds(s, { target: 'VALUE', result: 'NOT_EQUAL', key: missing, value: b('x') })).toBe(
      false,
    )
  })

  it('requires every key of a compare range to hold, and all compares together', () => {
    const s = createStore()
    put(s, { key: b('p/1'), value: b('x') })
    put(s, { key: b('p/2'), value: b('x') })
    put(s, { key: b('q'), value: b('y') })
    const allX: Compare = {
      target: 'VALUE',
      result: 'EQUAL',
      key: b('p/'),
      rangeEnd: b('p0'),
      value: b('x'),
    }
    expect(succeeds(s, allX)).toBe(true)
    expect(succeeds(s, { ...allX, rangeEnd: ALL })).toBe(false) // q is "y"
    put(s, { key: b('p/2'), value: b('z') })
    expect(succeeds(s, allX)).toBe(false)
    const qIsY: Compare = { target: 'VALUE', result: 'EQUAL', key: b('q'), value: b('y') }
    const versionOne: Compare = { target: 'VERSION', result: 'EQUAL', key: b('q'), version: 1 }
    expect(succeeds(s, qIsY, versionOne)).toBe(true)
    expect(succeeds(s, qIsY, { ...versionOne, version: 2 })).toBe(false)
  })
})

describe('txn', () => {
  it('runs the success branch when the compares hold and the failure branch otherwise', () => {
    const s = createStore()
    const request = (value: string): TxnRequest => ({
      compare: [{ target: 'VALUE', result: 'EQUAL', key: b('flag'), value: b(value) }],
      success: [putOp('result', 'then')],
      failure: [putOp('result', 'else'), putOp('flag', 'on')],
    })
    const first = ok(txn(s, request('on')))
    expect(first.succeeded).toBe(false)
    expect(first.responses.map((r) => r.type)).toEqual(['put', 'put'])
    expect(text(ok(range(s, { key: b('result') })).kvs[0]?.value ?? new Uint8Array())).toBe('else')
    const second = ok(txn(s, request('on')))
    expect(second.succeeded).toBe(true)
    expect(text(ok(range(s, { key: b('result') })).kvs[0]?.value ?? new Uint8Array())).toBe('then')
  })

  it("lets a range inside the txn see the txn's own earlier writes", () => {
    const s = createStore()
    put(s, { key: b('a'), value: b('old') }) // 2
    const response = ok(
      txn(s, {
        compare: [],
        success: [
          { type: 'range', key: b('a') },
          { type: 'put', key: b('a'), value: b('new'), prevKv: true },
          { type: 'range', key: b('a') },
          { type: 'range', key: b('a'), revision: 2 },
        ],
        failure: [],
      }),
    )
    const [before, written, after, atTwo] = response.responses
    expect(
      before?.type === 'range' && text(before.response.kvs[0]?.value ?? new Uint8Array()),
    ).toBe('old')
    expect(
      written?.type === 'put' && written.response.prevKv && text(written.response.prevKv.value),
    ).toBe('old')
    expect(after?.type === 'range' && text(after.response.kvs[0]?.value ?? new Uint8Array())).toBe(
      'new',
    )
    expect(after?.type === 'range' && after.response.header.revision).toBe(3)
    expect(atTwo?.type === 'range' && text(atTwo.response.kvs[0]?.value ?? new Uint8Array())).toBe(
      'old',
    )
  })

  it('evaluates nested txns against the state before the outer txn, in one revision', () => {
    const s = createStore()
    put(s, { key: b('a'), value: b('1') }) // 2
    const nested: RequestOp = {
      type: 'txn',
      // The outer put of "a" happens first, but compares see the state before the txn.
      compare: [{ target: 'VALUE', result: 'EQUAL', key: b('a'), value: b('1') }],
      success: [putOp('inner', 'then')],
      failure: [putOp('inner', 'else')],
    }
    const response = ok(
      txn(s, {
        compare: [{ target: 'VERSION', result: 'EQUAL', key: b('a'), version: 1 }],
        success: [putOp('a', '2'), nested, { type: 'deleteRange', key: b('nothing') }],
        failure: [],
      }),
    )
    expect(response.succeeded).toBe(true)
    expect(response.header.revision).toBe(3)
    const inner = response.responses[1]
    expect(inner?.type === 'txn' && inner.response.succeeded).toBe(true)
    expect(keys(ok(range(s, { key: b('a'), rangeEnd: ALL })).kvs)).toEqual(['a', 'inner'])
    expect(text(ok(range(s, { key: b('inner') })).kvs[0]?.value ?? new Uint8Array())).toBe('then')
    expect(ok(range(s, { key: b('inner') })).kvs[0]?.modRevision).toBe(3)
  })

  it('refuses two writes of one key in one branch, at any depth', () => {
    const s = createStore()
    const refuse = (success: RequestOp[]): void => {
      expect(txn(s, { compare: [], success, failure: [] })).toBe(ErrDuplicateKey)
    }
    refuse([putOp('a'), putOp('a')])
    refuse([putOp('b'), { type: 'deleteRange', key: b('a'), rangeEnd: b('c') }])
    refuse([{ type: 'deleteRange', key: b('a'), rangeEnd: ALL }, putOp('zzz')])
    refuse([putOp('a'), { type: 'txn', compare: [], success: [putOp('a')], failure: [] }])
    refuse([
      { type: 'deleteRange', key: b('a') },
      { type: 'txn', compare: [], success: [], failure: [putOp('a')] },
    ])
    refuse([
      { type: 'txn', compare: [], success: [putOp('a')], failure: [] },
      { type: 'txn', compare: [], success: [], failure: [putOp('a')] },
    ])
    expect(ErrDuplicateKey.message).toBe('etcdserver: duplicate key given in txn request')
    expect(s.revision).toBe(1)
  })

  it('allows overlapping deletes, and the same put in both branches of a nested txn', () => {
    const s = createStore()
    put(s, { key: b('a'), value: b('1') })
    const response = txn(s, {
      compare: [],
      success: [
        { type: 'deleteRange', key: b('a'), rangeEnd: b('c') },
        { type: 'deleteRange', key: b('a') },
        { type: 'txn', compare: [], success: [putOp('x')], failure: [putOp('x')] },
      ],
      failure: [putOp('a')], // the other branch may write what this one deletes
    })
    expect(ok(response).succeeded).toBe(true)
  })

  it('refuses more than 128 ops in a branch, and empty keys', () => {
    const s = createStore()
    const many = Array.from({ length: 129 }, (_, i) => putOp(`k${i}`))
    expect(txn(s, { compare: [], success: many, failure: [] })).toBe(ErrTooManyOps)
    expect(
      ok(txn(s, { compare: [], success: many.slice(0, 128), failure: [] })).header.revision,
    ).toBe(2)
    expect(
      txn(s, {
        compare: [{ target: 'VERSION', result: 'EQUAL', key: new Uint8Array(0), version: 0 }],
        success: [],
        failure: [],
      }),
    ).toBe(ErrEmptyKey)
    expect(
      txn(s, { compare: [], success: [{ type: 'range', key: new Uint8Array(0) }], failure: [] }),
    ).toBe(ErrEmptyKey)
  })

  it('applies nothing when an op on the chosen path would fail', () => {
    const s = createStore()
    const badLease = txn(s, {
      compare: [],
      success: [putOp('a'), { type: 'put', key: b('b'), value: b('v'), lease: 42 }],
      failure: [],
    })
    expect(badLease).toBe(ErrLeaseNotFound)
    const futureRead = txn(s, {
      compare: [],
      success: [putOp('a'), { type: 'range', key: b('a'), revision: 2 }],
      failure: [],
    })
    expect(futureRead).toBe(ErrFutureRev)
    expect(s.revision).toBe(1)
    expect(ok(range(s, { key: b('a') })).kvs).toEqual([])
    // An op on the branch not taken is not checked against the state.
    const other = txn(s, {
      compare: [],
      success: [putOp('a')],
      failure: [{ type: 'put', key: b('b'), value: b('v'), lease: 42 }],
    })
    expect(ok(other).succeeded).toBe(true)
  })
})
