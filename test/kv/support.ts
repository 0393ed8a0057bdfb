// Small helpers for the kv tests: text keys, unwrapping responses, a seeded PRNG and a random
// command generator for the determinism and snapshot tests.
import { isEtcdError, type EtcdError } from '../../src/main/kv/errors'
import { seededRandom } from '../../src/main/raft'
import type { Command } from '../../src/main/kv/command'
import type { Store } from '../../src/main/kv/store'
import type { Compare, KeyValue, RequestOp } from '../../src/main/kv/types'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function b(text: string): Uint8Array {
  return encoder.encode(text)
}

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** The response, or a thrown error naming the etcd error it was. */
export function ok<T extends object>(result: T | EtcdError | undefined): T {
  if (result === undefined) throw new Error('expected a response, got undefined')
  if (isEtcdError(result)) throw new Error(`expected a response, got ${result.message}`)
  return result
}

export function keys(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => text(kv.key))
}

/** A seeded PRNG, so random tests replay exactly. */
export const prng = seededRandom

export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n)
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[randomInt(random, items.length)] as T
}

function randomKey(random: () => number): Uint8Array {
  return b(`k${randomInt(random, 24)}`)
}

function randomRangeEnd(random: () => number, key: Uint8Array): Uint8Array | undefined {
  const roll = random()
  if (roll < 0.6) return undefined
  if (roll < 0.7) return Uint8Array.of(0)
  return Uint8Array.of(
    ...key.slice(0, -1),
    (key[key.length - 1] as number) + 1 + randomInt(random, 3),
  )
}

function randomLease(random: () => number, store: Store): number {
  const ids = [...store.leases.keys()]
  if (ids.length === 0 || random() < 0.5) return random() < 0.1 ? 999 : 0
  return pick(random, ids)
}

function randomCompare(random: () => number, store: Store): Compare {
  const key = randomKey(random)
  const result = pick(random, ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const)
  const rangeEnd = random() < 0.2 ? randomRangeEnd(random, key) : undefined
  const base = { key, result, ...(rangeEnd === undefined ? {} : { rangeEnd }) }
  switch (pick(random, ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const)) {
    case 'VERSION':
      return { ...base, target: 'VERSION', version: randomInt(random, 4) }
    case 'CREATE':
      return { ...base, target: 'CREATE', createRevision: randomInt(random, store.revision + 1) }
    case 'MOD':
      return { ...base, target: 'MOD', modRevision: randomInt(random, store.revision + 1) }
    case 'VALUE':
      return { ...base, target: 'VALUE', value: b(`v${randomInt(random, 5)}`) }
    case 'LEASE':
      return { ...base, target: 'LEASE', lease: randomLease(random, store) }
  }
}

function randomOp(random: () => number, store: Store, depth: number): RequestOp {
  const roll = random()
  const key = randomKey(random)
  if (roll < 0.2) {
    const rangeEnd = randomRangeEnd(random, key)
    return {
      type: 'range',
      key,
      ...(rangeEnd === undefined ? {} : { rangeEnd }),
      limit: randomInt(random, 3),
    }
  }
  if (roll < 0.6) {
    return {
      type: 'put',
      key,
      value: b(`v${randomInt(random, 5)}`),
      lease: randomLease(random, store),
      prevKv: random() < 0.5,
    }
  }
  if (roll < 0.85 || depth >= 2) {
    const rangeEnd = randomRangeEnd(random, key)
    return {
      type: 'deleteRange',
      key,
      ...(rangeEnd === undefined ? {} : { rangeEnd }),
      prevKv: true,
    }
  }
  return { type: 'txn', ...randomTxnBody(random, store, depth + 1) }
}

function randomTxnBody(random: () => number, store: Store, depth: number) {
  const ops = (): RequestOp[] =>
    Array.from({ length: randomInt(random, 4) }, () => randomOp(random, store, depth))
  return {
    compare: Array.from({ length: randomInt(random, 3) }, () => randomCompare(random, store)),
    success: ops(),
    failure: ops(),
  }
}

/**
 * A random command, biased towards ones that apply (it peeks at `store` for revisions and
 * lease IDs) but including ones that fail: failures must be deterministic too.
 */
export function randomCommand(random: () => number, store: Store): Command {
  const roll = random()
  if (roll < 0.4) {
    const op = randomOp(random, store, 3)
    if (op.type === 'put' || op.type === 'deleteRange') return op
    return { type: 'put', key: randomKey(random), value: b('r') }
  }
  if (roll < 0.7) return { type: 'txn', ...randomTxnBody(random, store, 0) }
  if (roll < 0.75) return { type: 'compact', revision: 1 + randomInt(random, store.revision + 1) }
  if (roll < 0.85)
    return {
      type: 'leaseGrant',
      id: random() < 0.7 ? 0 : 1 + randomInt(random, 6),
      ttl: randomInt(random, 60),
    }
  if (roll < 0.95) return { type: 'leaseRevoke', id: randomLease(random, store) || 1 }
  return {
    type: 'leaseCheckpoint',
    checkpoints: [{ id: randomLease(random, store), remainingTtl: randomInt(random, 30) }],
  }
}
