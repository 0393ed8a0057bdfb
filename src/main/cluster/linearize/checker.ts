// The linearizability checker: Wing and Gong's search with Lowe's memoization, as Porcupine
// runs it. The history is cut into one sub-history per key (a key-value store is linearizable
// when each key is: linearizability is local), and each is searched on its own.
//
// The search walks a linked list of call and return events in time order. At a call it tries to
// linearize that operation next: if the model accepts its answer from the current state, and
// this (set of linearized operations, state) pair was never reached before, the operation is
// lifted out of the list and the search goes on from the start. At a return it has met an
// operation that must already have taken effect but could not: it backtracks, undoing the
// last choice and trying the next candidate. An empty stack at a return means no order exists.
//
// An operation with an unknown outcome returns at Infinity: it may be placed anywhere after its
// call, including after everything else (where it changes nothing anyone saw). So a search that
// has placed every operation with a known answer has succeeded.
//
// A time budget bounds the search: running out gives 'unknown', never 'ok'.

import { describeOperation, validateHistory, type Operation } from './history'
import { kvRegister, type Model } from './model'
import type { KvInput, KvOutput } from './history'

export interface Violation {
  readonly verdict: 'violation'
  readonly key: string
  /** The longest order of this key's operations the search could justify. */
  readonly linearized: readonly Operation[]
  /** The operation that returned before any justified order could include it. */
  readonly stuck: Operation
  /** Operations that were open when `stuck` returned and were tried before it. */
  readonly concurrent: readonly Operation[]
  /** The key's value after `linearized`. */
  readonly state: string
  /** A few readable lines. */
  readonly explanation: string
}

export type CheckResult =
  | { readonly verdict: 'ok'; readonly keys: number; readonly operations: number }
  | Violation
  | {
      readonly verdict: 'unknown'
      readonly keys: number
      readonly operations: number
      /** The keys whose search ran out of time. */
      readonly undecided: readonly string[]
      readonly reason: string
    }

export interface CheckOptions {
  /** Milliseconds for the whole history (default 60 s). */
  readonly budgetMs?: number
  /** The clock of the budget (tests inject one). */
  readonly now?: () => number
}

interface Event {
  readonly kind: 'call' | 'return'
  /** Index into the key's operations. */
  readonly op: number
  readonly time: number
  match: Event | null
  prev: Event | null
  next: Event | null
}

type KeyOutcome<S> =
  | { readonly kind: 'ok' }
  | { readonly kind: 'timeout' }
  | {
      readonly kind: 'violation'
      readonly order: readonly number[]
      readonly stuck: number
      readonly tried: readonly number[]
      readonly state: S
    }

/** Checks a history of key-value operations against the register model, key by key. */
export function checkHistory(ops: readonly Operation[], opts: CheckOptions = {}): CheckResult {
  validateHistory(ops)
  const now = opts.now ?? (() => performance.now())
  const deadline = now() + (opts.budgetMs ?? 60_000)
  const byKey = new Map<string, Operation[]>()
  for (const op of ops) {
    let list = byKey.get(op.key)
    if (!list) byKey.set(op.key, (list = []))
    list.push(op)
  }
  const undecided: string[] = []
  // Small keys first: a violation in a small sub-history is found fast and explained briefly.
  const keys = [...byKey.keys()].sort(
    (a, b) => (byKey.get(a)?.length ?? 0) - (byKey.get(b)?.length ?? 0),
  )
  for (const key of keys) {
    const list = byKey.get(key) ?? []
    const r = checkOperations(list, kvRegister, deadline, now)
    if (r.kind === 'timeout') undecided.push(key)
    if (r.kind === 'violation') return violation(key, list, r, kvRegister.describe(r.state))
  }
  if (undecided.length > 0) {
    return {
      verdict: 'unknown',
      keys: byKey.size,
      operations: ops.length,
      undecided,
      reason: `the search ran out of its ${opts.budgetMs ?? 60_000} ms budget on ${undecided.length} key(s): ${undecided.join(', ')}`,
    }
  }
  return { verdict: 'ok', keys: byKey.size, operations: ops.length }
}

function violation<S>(
  key: string,
  ops: readonly Operation[],
  r: Extract<KeyOutcome<S>, { kind: 'violation' }>,
  state: string,
): Violation {
  const at = (i: number): Operation => ops[i] as Operation
  const linearized = r.order.map(at)
  const stuck = at(r.stuck)
  const concurrent = r.tried.map(at)
  const tail = linearized.slice(-5)
  const lines = [
    `key ${key} is not linearizable:`,
    `  operation ${describeOperation(stuck)}`,
    `  returned before it could take effect: after the longest justified order of ${linearized.length} operation(s), the key is ${state},`,
    ...(tail.length > 0
      ? [`  reached by (last ${tail.length}):`, ...tail.map((o) => `    ${describeOperation(o)}`)]
      : []),
    ...(concurrent.length > 0
      ? [
          `  and none of the operations open at that moment explains it:`,
          ...concurrent.slice(0, 8).map((o) => `    ${describeOperation(o)}`),
        ]
      : []),
  ]
  return {
    verdict: 'violation',
    key,
    linearized,
    stuck,
    concurrent,
    state,
    explanation: lines.join('\n'),
  }
}

/** A well-mixed 32-bit number per operation: the memo's hash of a set is the xor of these. */
function opHash(i: number): number {
  let h = Math.imul(i + 0x9e3779b9, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function stringHash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function buildEvents(ops: readonly Operation[]): Event {
  const events: Event[] = []
  ops.forEach((op, i) => {
    const call: Event = { kind: 'call', op: i, time: op.call, match: null, prev: null, next: null }
    const ret: Event = { kind: 'return', op: i, time: op.ret, match: null, prev: null, next: null }
    call.match = ret
    events.push(call, ret)
  })
  // At equal times calls go first: touching intervals count as concurrent, never as ordered.
  events.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1))
  const head: Event = { kind: 'call', op: -1, time: -Infinity, match: null, prev: null, next: null }
  let last = head
  for (const e of events) {
    last.next = e
    e.prev = last
    last = e
  }
  return head
}

function lift(e: Event): void {
  const m = e.match as Event
  ;(e.prev as Event).next = e.next
  if (e.next) e.next.prev = e.prev
  ;(m.prev as Event).next = m.next
  if (m.next) m.next.prev = m.prev
}

function unlift(e: Event): void {
  const m = e.match as Event
  ;(m.prev as Event).next = m
  if (m.next) m.next.prev = m
  ;(e.prev as Event).next = e
  if (e.next) e.next.prev = e
}

/** The search on one key's operations. Exported for tests of other models. */
export function checkOperations<S>(
  ops: readonly Operation[],
  model: Model<S, KvInput, KvOutput>,
  deadline: number,
  now: () => number,
): KeyOutcome<S> {
  const head = buildEvents(ops)
  const bits = new Uint32Array(Math.ceil(ops.length / 32) + 1)
  const memo = new Map<number, { bits: Uint32Array; key: string }[]>()
  const stack: { event: Event; state: S; hash: number }[] = []
  let state = model.init()
  let hash = 0
  let known = ops.filter((o) => o.output !== null).length
  let best: Extract<KeyOutcome<S>, { kind: 'violation' }> | undefined
  let steps = 0
  let event = head.next
  for (;;) {
    if (known === 0) return { kind: 'ok' }
    if ((++steps & 1023) === 0 && now() > deadline) return { kind: 'timeout' }
    if (event === null) throw new Error('checker: event list ended with operations left')
    const op = ops[event.op] as Operation
    if (event.kind === 'call') {
      const next = model.step(state, op.input, op.output)
      if (next !== undefined) {
        const word = event.op >>> 5
        const bit = 1 << (event.op & 31)
        bits[word] = (bits[word] as number) | bit
        const nextHash = (hash ^ opHash(event.op) ^ stringHash(model.key(next))) >>> 0
        const stateKey = model.key(next)
        const seen = memo.get(nextHash)
        if (!seen?.some((s) => s.key === stateKey && sameBits(s.bits, bits))) {
          if (seen) seen.push({ bits: bits.slice(), key: stateKey })
          else memo.set(nextHash, [{ bits: bits.slice(), key: stateKey }])
          stack.push({ event, state, hash })
          state = next
          // The running hash covers the set only; the state's hash is mixed in per lookup.
          hash = (hash ^ opHash(event.op)) >>> 0
          if (op.output !== null) known--
          lift(event)
          event = head.next
          continue
        }
        bits[word] = (bits[word] as number) & ~bit
      }
      event = event.next
    } else {
      if (!best || stack.length > best.order.length) {
        const tried: number[] = []
        for (let e = head.next; e !== null && e !== event; e = e.next) {
          if (e.kind === 'call' && e.op !== event.op) tried.push(e.op)
        }
        best = {
          kind: 'violation',
          order: stack.map((s) => s.event.op),
          stuck: event.op,
          tried,
          state,
        }
      }
      const top = stack.pop()
      if (!top) return best
      const undo = top.event.op
      bits[undo >>> 5] = (bits[undo >>> 5] as number) & ~(1 << (undo & 31))
      state = top.state
      hash = top.hash
      if ((ops[undo] as Operation).output !== null) known++
      unlift(top.event)
      event = top.event.next
    }
  }
}
