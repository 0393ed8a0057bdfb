// The checker on histories whose verdict is known: bad ones it must reject, good concurrent ones
// (some with unknown outcomes) it must accept, and random linearizable histories.

import { describe, expect, it } from 'vitest'
import {
  checkHistory,
  type KvInput,
  type KvOutput,
  type Operation,
} from '../../src/main/cluster/linearize'
import { seededRandom } from '../../src/main/raft/rng'

let nextId = 1
function op(
  client: number,
  call: number,
  ret: number | null,
  input: KvInput,
  output: KvOutput | null,
  key = 'k',
): Operation {
  return { id: nextId++, client, key, input, output, call, ret: ret ?? Infinity }
}
const get = (c: number, t0: number, t1: number, value: string | null, key = 'k'): Operation =>
  op(c, t0, t1, { type: 'get' }, { type: 'get', value }, key)
const put = (c: number, t0: number, t1: number | null, value: string, key = 'k'): Operation =>
  op(c, t0, t1, { type: 'put', value }, t1 === null ? null : { type: 'put' }, key)
const del = (c: number, t0: number, t1: number, deleted: number): Operation =>
  op(c, t0, t1, { type: 'delete' }, { type: 'delete', deleted })
const cas = (
  c: number,
  t0: number,
  t1: number | null,
  expect: string | null,
  value: string | null,
  succeeded?: boolean,
  found?: string | null,
): Operation =>
  op(
    c,
    t0,
    t1,
    { type: 'txn', expect, value },
    t1 === null
      ? null
      : {
          type: 'txn',
          succeeded: succeeded ?? true,
          ...(found === undefined ? {} : { value: found }),
        },
  )

describe('histories the checker must reject', () => {
  it('rejects a stale read: a read that starts after a write returned sees the old value', () => {
    const h = [put(1, 0, 10, 'a'), put(1, 20, 30, 'b'), get(2, 40, 50, 'a')]
    const r = checkHistory(h)
    expect(r.verdict).toBe('violation')
    if (r.verdict !== 'violation') return
    expect(r.key).toBe('k')
    expect(r.stuck.id).toBe(h[2]?.id)
    expect(r.explanation).toContain('not linearizable')
  })

  it('rejects a lost acknowledged write: the final read finds the value before it', () => {
    const h = [put(1, 0, 10, 'a'), put(2, 15, 25, 'b'), get(3, 12, 14, 'a'), get(1, 100, 110, 'a')]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('rejects a read of a value never written', () => {
    const h = [put(1, 0, 10, 'a'), get(2, 5, 20, 'zzz')]
    const r = checkHistory(h)
    expect(r.verdict).toBe('violation')
    if (r.verdict === 'violation') expect(r.explanation).toContain('"zzz"')
  })

  it('rejects a write seen and then unseen', () => {
    const h = [
      put(1, 0, 10, 'a'),
      put(2, 20, 100, 'b'),
      get(3, 30, 40, 'b'),
      // 'b' was visible at 40, so it took effect by then; a later read cannot see 'a' again.
      get(4, 50, 60, 'a'),
    ]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('rejects a compare-and-set that succeeded against a value that was not there', () => {
    const h = [put(1, 0, 10, 'a'), cas(2, 20, 30, 'x', 'y', true)]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('rejects a compare-and-set that failed although its value was there', () => {
    const h = [put(1, 0, 10, 'a'), cas(2, 20, 30, 'a', 'y', false, 'a')]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('rejects a delete that reports the wrong count', () => {
    expect(checkHistory([put(1, 0, 10, 'a'), del(2, 20, 30, 0)]).verdict).toBe('violation')
    expect(checkHistory([del(2, 20, 30, 1)]).verdict).toBe('violation')
  })

  it('rejects two reads that order two concurrent writes both ways', () => {
    // Each reader sees one write and then the other: no single order explains both.
    const h = [
      put(1, 0, 100, 'a'),
      put(2, 0, 100, 'b'),
      get(3, 10, 20, 'a'),
      get(3, 30, 40, 'b'),
      get(4, 10, 20, 'b'),
      get(4, 30, 40, 'a'),
    ]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('finds the one bad key among good ones', () => {
    const h = [
      put(1, 0, 10, 'a', 'x'),
      get(2, 20, 30, 'a', 'x'),
      put(1, 0, 10, 'a', 'y'),
      get(2, 20, 30, null, 'y'),
    ]
    const r = checkHistory(h)
    expect(r.verdict).toBe('violation')
    if (r.verdict === 'violation') expect(r.key).toBe('y')
  })
})

describe('histories the checker must accept', () => {
  it('accepts reads concurrent with a write seeing either value', () => {
    const h = [
      put(1, 0, 10, 'a'),
      put(2, 20, 60, 'b'),
      get(3, 25, 30, 'a'),
      get(4, 35, 40, 'b'),
      get(3, 45, 50, 'b'),
    ]
    expect(checkHistory(h).verdict).toBe('ok')
  })

  it('accepts concurrent writes observed in the one order that explains the reads', () => {
    const h = [
      put(1, 0, 100, 'a'),
      put(2, 0, 100, 'b'),
      get(3, 10, 20, 'b'),
      get(4, 30, 40, 'a'),
      get(3, 150, 160, 'a'),
    ]
    expect(checkHistory(h).verdict).toBe('ok')
  })

  it('accepts a write with an unknown outcome seen much later', () => {
    const h = [
      put(1, 0, 10, 'a'),
      put(2, 20, null, 'b'),
      get(3, 30, 40, 'a'),
      get(3, 500, 510, 'b'),
    ]
    expect(checkHistory(h).verdict).toBe('ok')
  })

  it('accepts a write with an unknown outcome that never took effect', () => {
    const h = [put(1, 0, 10, 'a'), put(2, 20, null, 'b'), get(3, 500, 510, 'a')]
    expect(checkHistory(h).verdict).toBe('ok')
  })

  it('still rejects a read of an unknown write before that write was called', () => {
    const h = [get(3, 0, 10, 'b'), put(2, 20, null, 'b')]
    expect(checkHistory(h).verdict).toBe('violation')
  })

  it('accepts compare-and-set chains, deletes and a txn whose outcome is unknown', () => {
    const h = [
      cas(1, 0, 10, null, 'a', true),
      cas(2, 5, 15, null, 'b', false, 'a'),
      cas(2, 20, 30, 'a', 'b', true),
      cas(1, 25, null, 'b', 'c'),
      get(3, 40, 50, 'c'),
      del(3, 60, 70, 1),
      get(1, 80, 90, null),
      cas(3, 100, 110, 'c', null, false, null),
    ]
    expect(checkHistory(h).verdict).toBe('ok')
  })

  it('accepts an empty history and keys with only unknown writes', () => {
    expect(checkHistory([]).verdict).toBe('ok')
    expect(checkHistory([put(1, 0, null, 'a'), put(2, 0, null, 'b')]).verdict).toBe('ok')
  })
})

describe('budget and input checks', () => {
  it('answers unknown, never ok, when the budget runs out', () => {
    let t = 0
    // Every call of the clock moves it a second: the budget is gone at the first check.
    const h = Array.from({ length: 3000 }, (_, i) => get(i, 0, 1000, null))
    const r = checkHistory(h, { budgetMs: 10, now: () => (t += 1000) })
    expect(r.verdict).toBe('unknown')
  })

  it('names the operation that returns before it is called', () => {
    expect(() => checkHistory([get(1, 10, 5, null)])).toThrow(/returns \(5\) before it is called/)
  })
})

/** Runs random operations one after another on a map, as the real store would. */
function sequentialHistory(seed: number, n: number): Operation[] {
  const rnd = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T
  const store = new Map<string, string>()
  const ops: Operation[] = []
  let t = 0
  for (let i = 0; i < n; i++) {
    const key = pick(['a', 'b', 'c'])
    const cur = store.get(key) ?? null
    const client = Math.floor(rnd() * 5)
    const value = `v${i}`
    const r = rnd()
    let input: KvInput
    let output: KvOutput
    if (r < 0.4) {
      input = { type: 'get' }
      output = { type: 'get', value: cur }
    } else if (r < 0.65) {
      input = { type: 'put', value }
      output = { type: 'put' }
      store.set(key, value)
    } else if (r < 0.75) {
      input = { type: 'delete' }
      output = { type: 'delete', deleted: cur === null ? 0 : 1 }
      store.delete(key)
    } else {
      // Half the time compare against the current value, so both branches happen.
      const expect = rnd() < 0.5 ? cur : pick([null, 'v0', `v${i - 1}`])
      const holds = expect === cur
      input = { type: 'txn', expect, value }
      output = holds
        ? { type: 'txn', succeeded: true }
        : { type: 'txn', succeeded: false, value: cur }
      if (holds) store.set(key, value)
    }
    ops.push({ id: i + 1, client, key, input, output, call: t, ret: t + 1 })
    t += 2
  }
  return ops
}

/** Widens every interval at random: the sequential order stays one valid linearization. */
function widen(ops: Operation[], seed: number, unknownShare: number): Operation[] {
  const rnd = seededRandom(seed ^ 0x5bd1e995)
  return ops.map((o) => {
    const call = o.call - rnd() * 12
    if (o.input.type !== 'get' && rnd() < unknownShare) {
      return { ...o, call, output: null, ret: Infinity }
    }
    return { ...o, call, ret: o.ret + rnd() * 12 }
  })
}

describe('random histories', () => {
  it('sequential histories made concurrent by widening stay linearizable (200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const h = widen(sequentialHistory(seed, 150), seed, seed % 3 === 0 ? 0.1 : 0)
      const r = checkHistory(h, { budgetMs: 10_000 })
      if (r.verdict !== 'ok') throw new Error(`seed ${seed}: ${JSON.stringify(r).slice(0, 500)}`)
    }
  })

  it('the same histories with one read changed to a never-written value are rejected', () => {
    let rejected = 0
    for (let seed = 1; seed <= 50; seed++) {
      const h = widen(sequentialHistory(seed, 150), seed, 0)
      const i = h.findIndex((o) => o.input.type === 'get')
      if (i < 0) continue
      const bad = h.slice()
      bad[i] = { ...(h[i] as Operation), output: { type: 'get', value: 'never-written' } }
      const r = checkHistory(bad, { budgetMs: 10_000 })
      expect(r.verdict, `seed ${seed}`).toBe('violation')
      rejected++
    }
    expect(rejected).toBeGreaterThan(40)
  })
})
