import { describe, expect, it } from 'vitest'
import { applyCommand, encodeProposal, markApplied, type Command } from '../../src/main/kv/command'
import { decodeCommand, encodeCommand } from '../../src/main/kv/commandcodec'
import { ErrDuplicateKey, ErrRequestTooLarge, isEtcdError } from '../../src/main/kv/errors'
import { range } from '../../src/main/kv/kv'
import { hash } from '../../src/main/kv/snapshot'
import { createStore } from '../../src/main/kv/store'
import { b, ok, prng, randomCommand, randomInt, text } from './support'

const MAX = Number.MAX_SAFE_INTEGER

/** Every command type with every field set (the form decodeCommand returns). */
const full: Command[] = [
  {
    type: 'put',
    key: b('k'),
    value: b('v'),
    lease: 7,
    prevKv: true,
    ignoreValue: false,
    ignoreLease: false,
  },
  {
    type: 'put',
    key: Uint8Array.of(0, 255),
    value: new Uint8Array(0),
    lease: 0,
    prevKv: false,
    ignoreValue: true,
    ignoreLease: true,
  },
  { type: 'deleteRange', key: b('a'), rangeEnd: Uint8Array.of(0), prevKv: true },
  { type: 'compact', revision: MAX, physical: true },
  { type: 'leaseGrant', id: 0, ttl: -1 },
  { type: 'leaseGrant', id: MAX, ttl: 9_000_000_000 },
  { type: 'leaseRevoke', id: -MAX },
  {
    type: 'leaseCheckpoint',
    checkpoints: [
      { id: 1, remainingTtl: 63 },
      { id: 2, remainingTtl: 64 },
    ],
  },
  {
    type: 'txn',
    compare: [
      { target: 'VERSION', result: 'EQUAL', key: b('a'), rangeEnd: new Uint8Array(0), version: 1 },
      { target: 'CREATE', result: 'GREATER', key: b('b'), rangeEnd: b('c'), createRevision: -5 },
      {
        target: 'MOD',
        result: 'LESS',
        key: b('c'),
        rangeEnd: new Uint8Array(0),
        modRevision: 1 << 30,
      },
      {
        target: 'VALUE',
        result: 'NOT_EQUAL',
        key: b('d'),
        rangeEnd: new Uint8Array(0),
        value: b('x'),
      },
      {
        target: 'LEASE',
        result: 'EQUAL',
        key: b('e'),
        rangeEnd: new Uint8Array(0),
        lease: 12345678901,
      },
    ],
    success: [
      {
        type: 'range',
        key: b('a'),
        rangeEnd: b('z'),
        limit: 10,
        revision: -1,
        sortOrder: 'DESCEND',
        sortTarget: 'VALUE',
        serializable: true,
        keysOnly: false,
        countOnly: true,
        minModRevision: 1,
        maxModRevision: 2,
        minCreateRevision: 3,
        maxCreateRevision: 4,
      },
      {
        type: 'txn',
        compare: [],
        success: [{ type: 'deleteRange', key: b('n'), rangeEnd: new Uint8Array(0), prevKv: false }],
        failure: [
          {
            type: 'put',
            key: b('n'),
            value: b('1'),
            lease: 0,
            prevKv: false,
            ignoreValue: false,
            ignoreLease: false,
          },
        ],
      },
    ],
    failure: [],
  },
]

describe('command codec', () => {
  it('round-trips every command type with every field', () => {
    for (const cmd of full) {
      const bytes = encodeCommand(cmd)
      expect(decodeCommand(bytes)).toEqual(cmd)
      expect(encodeCommand(decodeCommand(bytes))).toEqual(bytes)
    }
  })

  it('fills in defaults for fields a command left out', () => {
    expect(decodeCommand(encodeCommand({ type: 'put', key: b('k'), value: b('v') }))).toEqual({
      type: 'put',
      key: b('k'),
      value: b('v'),
      lease: 0,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    })
    expect(decodeCommand(encodeCommand({ type: 'deleteRange', key: b('k') }))).toEqual({
      type: 'deleteRange',
      key: b('k'),
      rangeEnd: new Uint8Array(0),
      prevKv: false,
    })
  })

  it('keeps a put small: a few bytes beyond its key and value', () => {
    expect(encodeCommand({ type: 'put', key: b('key'), value: b('value') }).length).toBe(
      2 + 4 + 6 + 2,
    )
  })

  it('names what is wrong with garbage', () => {
    const put = encodeCommand({ type: 'put', key: b('key'), value: b('value') })
    expect(() => decodeCommand(new Uint8Array(0))).toThrow('command: empty entry data')
    expect(() => decodeCommand(Uint8Array.of(9, 1))).toThrow(
      'command: unsupported format version 9 (this build reads version 1)',
    )
    expect(() => decodeCommand(Uint8Array.of(1, 42))).toThrow(
      'command: unknown command type 42 at byte 1 (reading command type)',
    )
    expect(() => decodeCommand(put.slice(0, 8))).toThrow(
      /^command: length 5 runs past the end of the data at byte 6 \(reading put\.value\)$/,
    )
    expect(() => decodeCommand(put.slice(0, -1))).toThrow(
      'command: unexpected end of data at byte 13 (reading put flags)',
    )
    expect(() => decodeCommand(Uint8Array.of(...put, 0, 0))).toThrow(
      'command: 2 trailing bytes after a complete put command',
    )
    const badFlags = put.slice()
    badFlags[badFlags.length - 1] = 0x80
    expect(() => decodeCommand(badFlags)).toThrow(
      'command: unknown flag bits 0x80 at byte 13 (reading put flags)',
    )
    expect(() =>
      decodeCommand(
        Uint8Array.of(1, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
      ),
    ).toThrow(/varint longer than 8 bytes/)
    expect(() => decodeCommand(Uint8Array.of(1, 6, 0x01))).toThrow(
      /negative zero at byte 2 \(reading leaseRevoke\.id\)/,
    )
    expect(() => decodeCommand(Uint8Array.of(1, 3, 0, 1, 9))).toThrow(
      /unknown op type 9 at byte 4 \(reading txn\.success\[0\] op type\)/,
    )
    expect(() => decodeCommand(Uint8Array.of(1, 3, 0xff, 0x7f))).toThrow(
      /count 16383 exceeds the 0 bytes left/,
    )
  })

  it('throws only its own errors on random and mutated input', () => {
    const random = prng(7)
    const store = createStore()
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array
      if (i % 2 === 0) {
        bytes = Uint8Array.from({ length: randomInt(random, 40) }, () => randomInt(random, 256))
        if (bytes.length > 0) bytes[0] = 1
      } else {
        bytes = encodeCommand(randomCommand(random, store))
        bytes[1 + randomInt(random, bytes.length - 1)] = randomInt(random, 256)
      }
      try {
        decodeCommand(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(Error)
        expect((error as Error).message).toMatch(/^command: /)
      }
    }
  })
})

describe('applyCommand', () => {
  it('returns the response, and ignores an index it has already applied', () => {
    const store = createStore()
    const first = ok(applyCommand(store, { type: 'put', key: b('k'), value: b('1') }, 1, 0))
    expect(first.header.revision).toBe(2)
    expect(store.appliedIndex).toBe(1)
    expect(
      applyCommand(store, { type: 'put', key: b('k'), value: b('again') }, 1, 0),
    ).toBeUndefined()
    expect(store.revision).toBe(2)
    expect(text(ok(range(store, { key: b('k') })).kvs[0]?.value ?? new Uint8Array())).toBe('1')
    markApplied(store, 5)
    expect(applyCommand(store, { type: 'put', key: b('k'), value: b('x') }, 4, 0)).toBeUndefined()
    expect(store.appliedIndex).toBe(5)
  })

  it('returns an etcd error as a value and still counts the entry as applied', () => {
    const store = createStore()
    const result = applyCommand(store, { type: 'leaseRevoke', id: 3 }, 1, 0)
    expect(result).toEqual({ code: 'NotFound', message: 'etcdserver: requested lease not found' })
    expect(store.appliedIndex).toBe(1)
    const compacted = applyCommand(store, { type: 'compact', revision: 5 }, 2, 0)
    expect(isEtcdError(compacted) && compacted.message).toBe(
      'etcdserver: mvcc: required revision is a future revision',
    )
  })

  it("refuses a proposal that is malformed or larger than etcd's 1.5 MiB request limit", () => {
    const fits = encodeProposal({ type: 'put', key: b('k'), value: new Uint8Array(1024 * 1024) })
    expect(fits).toBeInstanceOf(Uint8Array)
    expect(
      encodeProposal({ type: 'put', key: b('k'), value: new Uint8Array(1.5 * 1024 * 1024) }),
    ).toBe(ErrRequestTooLarge)
    expect(ErrRequestTooLarge).toEqual({
      code: 'InvalidArgument',
      message: 'etcdserver: request is too large',
    })
    const duplicate = encodeProposal({
      type: 'txn',
      compare: [],
      success: [
        { type: 'put', key: b('a'), value: b('1') },
        { type: 'put', key: b('a'), value: b('2') },
      ],
      failure: [],
    })
    expect(duplicate).toBe(ErrDuplicateKey)
  })

  it('leaves two stores fed the same random commands in the same state', () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed)
      const direct = createStore()
      const viaLog = createStore()
      const responses: string[][] = [[], []]
      for (let index = 1; index <= 1500; index++) {
        const cmd = randomCommand(random, direct)
        const a = applyCommand(direct, cmd, index, 0)
        const c = applyCommand(viaLog, decodeCommand(encodeCommand(cmd)), index, 0)
        responses[0]?.push(
          JSON.stringify(a, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : v)),
        )
        responses[1]?.push(
          JSON.stringify(c, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : v)),
        )
      }
      expect(responses[1]).toEqual(responses[0])
      expect(hash(viaLog)).toBe(hash(direct))
      expect(direct.revision).toBeGreaterThan(100)
      // The hash does notice a difference.
      applyCommand(viaLog, { type: 'put', key: b('k1'), value: b('different') }, 1501, 0)
      expect(hash(viaLog)).not.toBe(hash(direct))
    }
  })
})
