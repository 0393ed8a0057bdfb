// The playground's network faults, applied by the transport to each directed link: a drop
// probability, added latency, and blocking (partitions). Rules are per peer with separate `out`
// and `in` sides, so a link can be cut one way only.

import type { NodeId } from '../../raft/messages'

/** What happens to the messages on one directed link. Absent fields mean no fault. */
export interface LinkFaults {
  /** Probability in [0, 1] that a message is dropped. */
  readonly drop?: number
  /** Latency added to every message; the link stays FIFO. */
  readonly delayMs?: number
  /** A partition: every message is dropped. */
  readonly blocked?: boolean
}

/**
 * The faults between this node and one peer. The two directions are separate so that a
 * playground can cut a link one way only (a node that hears the leader but cannot answer); a
 * symmetric partition sets both, or sets `out` on both nodes. `out` applies to what this node
 * sends to `peer`, `in` to what it receives from `peer`, before onMessage.
 */
export interface FaultRule {
  readonly peer: NodeId
  readonly out?: LinkFaults
  readonly in?: LinkFaults
}

export type FaultRules = readonly FaultRule[]

export interface ResolvedFaults {
  readonly drop: number
  readonly delayMs: number
  readonly blocked: boolean
}

export const NO_FAULTS: ResolvedFaults = { drop: 0, delayMs: 0, blocked: false }

/** A validated rule set, looked up per message. */
export interface FaultTable {
  /** A frozen copy of the rules as given, for faults(). */
  readonly rules: FaultRules
  readonly out: ReadonlyMap<NodeId, ResolvedFaults>
  readonly in: ReadonlyMap<NodeId, ResolvedFaults>
}

export const EMPTY_FAULT_TABLE: FaultTable = { rules: [], out: new Map(), in: new Map() }

/** Throws a sentence naming the peer and the field on a rule that makes no sense. */
export function faultTable(rules: FaultRules): FaultTable {
  const out = new Map<NodeId, ResolvedFaults>()
  const inn = new Map<NodeId, ResolvedFaults>()
  for (const rule of rules) {
    if (!Number.isSafeInteger(rule.peer) || rule.peer <= 0) {
      throw new Error(`fault rule peer must be a positive integer, got ${rule.peer}`)
    }
    if (out.has(rule.peer)) {
      throw new Error(`fault rules name peer ${rule.peer} twice: give one rule per peer`)
    }
    out.set(rule.peer, resolve(rule.peer, 'out', rule.out))
    inn.set(rule.peer, resolve(rule.peer, 'in', rule.in))
  }
  const frozen = rules.map((r) =>
    Object.freeze({
      peer: r.peer,
      ...(r.out === undefined ? {} : { out: Object.freeze({ ...r.out }) }),
      ...(r.in === undefined ? {} : { in: Object.freeze({ ...r.in }) }),
    }),
  )
  return { rules: Object.freeze(frozen), out, in: inn }
}

function resolve(peer: NodeId, side: 'out' | 'in', f: LinkFaults | undefined): ResolvedFaults {
  if (f === undefined) return NO_FAULTS
  const drop = f.drop ?? 0
  const delayMs = f.delayMs ?? 0
  if (!(drop >= 0 && drop <= 1)) {
    throw new Error(
      `fault rule for peer ${peer} (${side}): drop must be a probability in 0..1, got ${drop}`,
    )
  }
  if (!(delayMs >= 0 && Number.isFinite(delayMs))) {
    throw new Error(
      `fault rule for peer ${peer} (${side}): delayMs must be a finite number >= 0, got ${delayMs}`,
    )
  }
  return { drop, delayMs, blocked: f.blocked === true }
}

/**
 * One side's delay lines, one FIFO per peer: each item is released no earlier than its delay
 * and never before the one ahead of it, so changing or removing a delay keeps the link in order.
 */
export class DelayLines<T> {
  private readonly lines = new Map<NodeId, DelayLine<T>>()
  private readonly release: (item: T) => void

  constructor(release: (item: T) => void) {
    this.release = release
  }

  /** Whether an item for `peer` with this delay must wait (it must, behind earlier ones). */
  holds(peer: NodeId, delayMs: number): boolean {
    return delayMs > 0 || (this.lines.get(peer)?.items.length ?? 0) > 0
  }

  push(peer: NodeId, item: T, delayMs: number): void {
    let line = this.lines.get(peer)
    if (line === undefined) {
      line = { peer, items: [], last: 0, timer: undefined }
      this.lines.set(peer, line)
    }
    const at = Math.max(performance.now() + delayMs, line.last)
    line.last = at
    line.items.push({ at, item })
    if (line.timer === undefined) this.schedule(line)
  }

  /** Forgets every held item and timer. */
  clear(): void {
    for (const line of this.lines.values()) clearTimeout(line.timer)
    this.lines.clear()
  }

  private schedule(line: DelayLine<T>): void {
    const head = line.items[0]
    if (head === undefined) return
    const wait = Math.max(0, Math.ceil(head.at - performance.now()))
    line.timer = setTimeout(() => this.fire(line), wait)
  }

  private fire(line: DelayLine<T>): void {
    line.timer = undefined
    const now = performance.now()
    for (let head = line.items[0]; head !== undefined && head.at <= now; head = line.items[0]) {
      line.items.shift()
      this.release(head.item)
    }
    // release() may have cleared everything (the transport closed); a cleared line stays idle.
    if (line.timer === undefined && this.lines.get(line.peer) === line) this.schedule(line)
  }
}

interface DelayLine<T> {
  readonly peer: NodeId
  items: { readonly at: number; readonly item: T }[]
  last: number
  timer: ReturnType<typeof setTimeout> | undefined
}
