import { describe, expect, it } from 'vitest'
import { createIndex, indexDelete, indexGet, indexScan, indexSet } from '../../src/main/kv/btree'
import { compareBytes } from '../../src/main/kv/bytes'
import { prng, randomInt } from './support'

function key(n: number): Uint8Array {
  // Big-endian, so numeric order is byte order.
  return Uint8Array.of((n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

function scan<V>(
  index: ReturnType<typeof createIndex<V>>,
  from: Uint8Array,
  to: Uint8Array | undefined,
): V[] {
  const out: V[] = []
  indexScan(index, from, to, (value) => {
    out.push(value)
  })
  return out
}

describe('ordered index', () => {
  it('agrees with a sorted model through random inserts, replacements and deletes', () => {
    const random = prng(2024)
    const index = createIndex<number>()
    const model = new Map<number, number>()
    for (let step = 0; step < 60_000; step++) {
      // Phases of mostly inserts, then mostly deletes, so whole leaves empty and the tree shrinks.
      const deleting = Math.floor(step / 10_000) % 2 === 1
      const n = randomInt(random, 8_000)
      if (deleting && random() < 0.05) {
        // A run of neighbours, as compaction removes them: whole leaves empty, at either end too.
        const start = random() < 0.3 ? 8_000 - randomInt(random, 300) : n
        for (let k = start; k < Math.min(start + 50 + randomInt(random, 300), 8_000); k++) {
          expect(indexDelete(index, key(k))).toBe(model.delete(k))
        }
      } else if (random() < (deleting ? 0.9 : 0.2)) {
        expect(indexDelete(index, key(n))).toBe(model.delete(n))
      } else {
        indexSet(index, key(n), step)
        model.set(n, step)
      }
      if (step % 5_000 === 4_999) {
        const sorted = [...model.keys()].sort((a, b) => a - b)
        expect(index.size).toBe(model.size)
        expect(scan(index, new Uint8Array(0), undefined)).toEqual(sorted.map((k) => model.get(k)))
        const lo = randomInt(random, 8_000)
        const hi = lo + randomInt(random, 500)
        expect(scan(index, key(lo), key(hi))).toEqual(
          sorted.filter((k) => k >= lo && k < hi).map((k) => model.get(k)),
        )
      }
    }
    for (let n = 0; n < 8_000; n++) expect(indexGet(index, key(n))).toBe(model.get(n))
  })

  it('keeps working when its rightmost leaves empty', () => {
    const index = createIndex<number>()
    for (let n = 0; n < 5_000; n++) indexSet(index, key(n), n)
    for (let n = 4_999; n >= 1_000; n--) expect(indexDelete(index, key(n))).toBe(true)
    for (let n = 6_000; n < 7_000; n++) indexSet(index, key(n), n)
    expect(indexGet(index, key(6_500))).toBe(6_500)
    expect(indexGet(index, key(4_000))).toBeUndefined()
    const all = scan(index, new Uint8Array(0), undefined)
    expect(all).toHaveLength(2_000)
    expect(all.slice(998, 1_002)).toEqual([998, 999, 6_000, 6_001])
  })

  it('empties completely and is usable again', () => {
    const index = createIndex<number>()
    for (let n = 0; n < 5_000; n++) indexSet(index, key(n), n)
    for (let n = 4_999; n >= 0; n -= 2) indexDelete(index, key(n))
    for (let n = 0; n < 5_000; n += 2) indexDelete(index, key(n))
    expect(index.size).toBe(0)
    expect(scan(index, new Uint8Array(0), undefined)).toEqual([])
    expect(index.root.kind).toBe('leaf')
    indexSet(index, key(7), 7)
    expect(scan(index, new Uint8Array(0), undefined)).toEqual([7])
  })

  it('stops a scan when the visitor returns false, and honours bounds between keys', () => {
    const index = createIndex<string>()
    for (const k of ['b', 'd', 'f', 'h']) indexSet(index, new TextEncoder().encode(k), k)
    const seen: string[] = []
    indexScan(index, new TextEncoder().encode('c'), undefined, (v) => {
      seen.push(v)
      return seen.length < 2
    })
    expect(seen).toEqual(['d', 'f'])
    expect(scan(index, new TextEncoder().encode('a'), new TextEncoder().encode('g'))).toEqual([
      'b',
      'd',
      'f',
    ])
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBeLessThan(0)
  })
})
