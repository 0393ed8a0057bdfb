import { describe, expect, it } from 'vitest'
import { applyCommand } from '../../src/main/kv/command'
import { crc32, crc32Update, crc32UpdateTable } from '../../src/main/kv/crc32'
import { compact, deleteRange, put, range } from '../../src/main/kv/kv'
import { leaseCheckpoint, leaseGrant, leases, timeToLive } from '../../src/main/kv/lease'
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotSteps,
  hash,
} from '../../src/main/kv/snapshot'
import { createStore, type Store } from '../../src/main/kv/store'
import { txn } from '../../src/main/kv/txn'
import { eventsSince } from '../../src/main/kv/watch'
import { b, ok, prng, randomCommand } from './support'

const ALL = Uint8Array.of(0)

/** Everything a client could observe of a store, as comparable JSON. */
function observe(store: Store): string {
  const bytes = (_: string, v: unknown): unknown => (v instanceof Uint8Array ? [...v] : v)
  const views: unknown[] = [
    store.revision,
    store.compactRevision,
    store.appliedIndex,
    leases(store),
  ]
  for (let rev = Math.max(store.compactRevision, 1); rev <= store.revision; rev++) {
    views.push(range(store, { key: ALL, rangeEnd: ALL, revision: rev }))
  }
  views.push(eventsSince(store, ALL, ALL, store.compactRevision + 1))
  for (const { id } of leases(store)) views.push(timeToLive(store, id, 0, { keys: true }))
  return JSON.stringify(views, bytes)
}

function sampleStore(): Store {
  const store = createStore({ minLeaseTtl: 3 })
  const lease = ok(leaseGrant(store, { id: 0, ttl: 30 }, 0)).id
  ok(leaseGrant(store, { id: 40, ttl: 100 }, 0))
  leaseCheckpoint(store, { checkpoints: [{ id: 40, remainingTtl: 55 }] })
  put(store, { key: b('a'), value: b('1') }) // 2
  put(store, { key: b('b'), value: b('1'), lease }) // 3
  put(store, { key: b('a'), value: b('2') }) // 4
  deleteRange(store, { key: b('b') }) // 5
  put(store, { key: b('c'), value: Uint8Array.of(0, 255, 7), lease }) // 6
  ok(compact(store, { revision: 5 }))
  ok(
    txn(store, {
      compare: [],
      success: [
        { type: 'put', key: b('d'), value: b('1'), lease: 40 },
        { type: 'deleteRange', key: b('a') },
      ],
      failure: [],
    }),
  ) // 7
  put(store, { key: b('a'), value: b('3') }) // 8
  store.appliedIndex = 12
  return store
}

describe('crc32', () => {
  it('is the IEEE CRC-32, the same whether zlib or the table computes it', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
    const random = prng(7)
    const bytes = Uint8Array.from({ length: 10_000 }, () => Math.floor(random() * 256))
    const halfway = crc32Update(0, bytes.subarray(0, 3333))
    expect(crc32Update(halfway, bytes.subarray(3333))).toBe(crc32UpdateTable(0, bytes))
    expect(crc32(bytes)).toBe(
      crc32UpdateTable(crc32UpdateTable(0, bytes.subarray(0, 3333)), bytes.subarray(3333)),
    )
  })
})

describe('snapshot', () => {
  it('round-trips history, revisions, leases and the applied index', () => {
    const store = sampleStore()
    const bytes = encodeSnapshot(store)
    const restored = decodeSnapshot(bytes)
    expect(observe(restored)).toBe(observe(store))
    expect(hash(restored)).toBe(hash(store))
    expect(encodeSnapshot(restored)).toEqual(bytes)
    expect(restored.nextLeaseId).toBe(store.nextLeaseId)
    expect(restored.minLeaseTtl).toBe(3)
    expect(restored.leases.get(40)?.remainingTtl).toBe(55)
    // A compacted revision stays compacted.
    expect(range(restored, { key: b('a'), revision: 4 })).toMatchObject({ code: 'OutOfRange' })
  })

  it('restores a store that then applies the rest of the log exactly like the original', () => {
    const random = prng(99)
    const original = createStore()
    let restored: Store | undefined
    for (let index = 1; index <= 1200; index++) {
      if (index === 600) restored = decodeSnapshot(encodeSnapshot(original))
      const cmd = randomCommand(random, original)
      applyCommand(original, cmd, index, 0)
      if (restored !== undefined) applyCommand(restored, cmd, index, 0)
    }
    if (restored === undefined) throw new Error('never restored')
    expect(hash(restored)).toBe(hash(original))
    expect(observe(restored)).toBe(observe(original))
    expect(encodeSnapshot(restored)).toEqual(encodeSnapshot(original))
  })

  it('round-trips 100,000 keys', () => {
    const store = createStore()
    for (let i = 0; i < 100_000; i++) put(store, { key: b(`key/${i}`), value: b(`value ${i}`) })
    ok(compact(store, { revision: 50_000 }))
    const restored = decodeSnapshot(encodeSnapshot(store))
    expect(restored.keys.size).toBe(100_000)
    const replay = (s: Store): number => {
      const all = eventsSince(s, ALL, ALL, s.compactRevision + 1)
      return all.compacted ? -1 : all.events.length
    }
    expect(replay(restored)).toBe(50_001)
    expect(replay(restored)).toBe(replay(store))
    expect(hash(restored)).toBe(hash(store))
    const prefix = ok(range(restored, { key: b('key/9999'), rangeEnd: b('key/999:') }))
    expect(prefix.count).toBe(11)
  })

  it('encoded in steps, is the state at its first step whatever is applied between steps', () => {
    const random = prng(5)
    const store = createStore()
    for (let index = 1; index <= 800; index++) {
      const cmd = randomCommand(random, store)
      // Compactions would end the stepped snapshot; this run is about writes.
      if (cmd.type !== 'compact') applyCommand(store, cmd, index, 0)
    }
    for (let i = 0; i < 200; i++) put(store, { key: b(`spread/${i}`), value: b('before') })
    const atStart = encodeSnapshot(store)
    const steps = encodeSnapshotSteps(store, 7)
    let result: Uint8Array | undefined
    let pauses = 0
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) {
        result = step.value
        break
      }
      pauses++
      // Writes all over the key space, ahead of the scan and behind it: changed keys, new keys,
      // deleted keys.
      const k = (pauses * 37) % 200
      put(store, { key: b(`spread/${k}`), value: b(`during ${pauses}`) })
      put(store, { key: b(`spread/${k}/new`), value: b('new') })
      deleteRange(store, { key: b(`spread/${(k + 101) % 200}`) })
    }
    expect(pauses).toBeGreaterThan(20)
    expect(store.revision).toBeGreaterThan(decodeSnapshot(atStart).revision)
    expect(result).toEqual(atStart)
  })

  it('a stepped snapshot gives up when a compaction or a new state comes between its steps', () => {
    const store = sampleStore()
    for (let i = 0; i < 50; i++) put(store, { key: b(`k${i}`), value: b('v') })
    const compacted = encodeSnapshotSteps(store, 4)
    compacted.next()
    ok(compact(store, { revision: store.revision - 10 }))
    let step = compacted.next()
    while (!step.done) step = compacted.next()
    expect(step.value).toBeUndefined()

    const replaced = createStore()
    for (let i = 0; i < 50; i++) put(replaced, { key: b(`k${i}`), value: b('v') })
    const steps = encodeSnapshotSteps(replaced, 4)
    steps.next()
    Object.assign(replaced, decodeSnapshot(encodeSnapshot(sampleStore())))
    let last = steps.next()
    while (!last.done) last = steps.next()
    expect(last.value).toBeUndefined()
  })

  it('names what is wrong with a corrupt or foreign snapshot', () => {
    const bytes = encodeSnapshot(sampleStore())
    const flipped = bytes.slice()
    flipped[20] = (flipped[20] as number) ^ 0x10
    expect(() => decodeSnapshot(flipped)).toThrow(
      /^snapshot: checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): the snapshot is corrupt or truncated$/,
    )
    expect(() => decodeSnapshot(bytes.slice(0, -10))).toThrow(/checksum mismatch/)
    expect(() => decodeSnapshot(bytes.slice(0, 6))).toThrow(
      'snapshot: 6 bytes is too short to be a RaftLab KV snapshot',
    )
    const foreign = bytes.slice()
    foreign[0] = 0x7b
    expect(() => decodeSnapshot(foreign)).toThrow('snapshot: not a RaftLab KV snapshot')
    const future = bytes.slice()
    future[4] = 2
    expect(() => decodeSnapshot(future)).toThrow(
      'snapshot: unsupported format version 2 (this build reads version 1)',
    )
  })

  it('names the field when a snapshot with a valid checksum does not parse', () => {
    const bytes = encodeSnapshot(createStore())
    // Re-seal a body with one byte too many, and one with the header's revision above 2^53.
    const reseal = (body: Uint8Array): Uint8Array => {
      const out = new Uint8Array(body.length + 4)
      out.set(body)
      new DataView(out.buffer).setUint32(body.length, crc32(body))
      return out
    }
    const body = bytes.slice(0, -4)
    expect(() => decodeSnapshot(reseal(Uint8Array.of(...body, 0)))).toThrow(
      /^snapshot: 1 trailing bytes at byte \d+ \(reading end\)$/,
    )
    expect(() =>
      decodeSnapshot(
        reseal(Uint8Array.of(...body.slice(0, 5), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)),
      ),
    ).toThrow(/^snapshot: integer \d+ above 2\^53 - 1 at byte 5 \(reading revision\)$/)
  })
})
