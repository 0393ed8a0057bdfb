// The playground's network faults as the manager keeps them: partition groups and per-link
// drop and delay, turned into each node's transport rules (src/main/node/transport/faults.ts).
// A link fault acts on the sender's outgoing side only, so a delay is added once; a partition
// blocks both sides of both nodes, so it holds even while one of them has not heard of it yet.

import type { FaultsView, LinkFaultInput, LinkFaultView } from '../../shared/api'
import type { FaultRule, FaultRules } from '../node/transport/faults'

export interface LinkFault {
  readonly from: number
  readonly to: number
  readonly drop: number
  readonly delayMs: number
}

export interface FaultState {
  /** Empty when the network is whole; otherwise every known node is in exactly one group. */
  readonly partitions: readonly (readonly number[])[]
  readonly links: readonly LinkFault[]
}

export const NO_FAULTS: FaultState = { partitions: [], links: [] }

function checkKnown(ids: readonly number[], known: readonly number[]): void {
  for (const id of ids) {
    if (!known.includes(id)) {
      throw new Error(`node ${id} is not part of this cluster (nodes: ${known.join(', ')})`)
    }
  }
}

/**
 * The partition that `groups` describe over `known` nodes: unlisted nodes form one more group.
 * A node listed twice is an error; one group holding everyone is no partition at all.
 */
export function partitionOf(
  groups: readonly (readonly number[])[],
  known: readonly number[],
): number[][] {
  const seen = new Set<number>()
  for (const g of groups) {
    checkKnown(g, known)
    for (const id of g) {
      if (seen.has(id)) throw new Error(`node ${id} is in more than one partition group`)
      seen.add(id)
    }
  }
  const out = groups.map((g) => [...g].sort((a, b) => a - b))
  const rest = known.filter((id) => !seen.has(id))
  if (rest.length > 0) out.push(rest)
  return out.length > 1 ? out : []
}

export function isolationOf(id: number, known: readonly number[]): number[][] {
  checkKnown([id], known)
  return partitionOf([[id]], known)
}

/** Sets (or, with drop and delay both 0, clears) the faults of one link or of both directions. */
export function withLinkFault(
  state: FaultState,
  input: LinkFaultInput,
  known: readonly number[],
): FaultState {
  checkKnown([input.from, input.to], known)
  if (input.from === input.to)
    throw new Error(`a link joins two nodes: from and to are both ${input.from}`)
  const drop = input.drop ?? 0
  const delayMs = input.delayMs ?? 0
  const pairs: [number, number][] = [[input.from, input.to]]
  if (input.both !== false) pairs.push([input.to, input.from])
  let links = state.links.filter((l) => !pairs.some(([f, t]) => l.from === f && l.to === t))
  if (drop > 0 || delayMs > 0) {
    links = [...links, ...pairs.map(([from, to]) => ({ from, to, drop, delayMs }))]
  }
  links.sort((a, b) => a.from - b.from || a.to - b.to)
  return { ...state, links }
}

/** A node the partition does not list (one added since) belongs to its last group. */
function groupOf(state: FaultState, id: number): number {
  const i = state.partitions.findIndex((g) => g.includes(id))
  return i >= 0 ? i : state.partitions.length - 1
}

/** The partition with a newly added node placed where groupOf already puts it. */
export function withNewNode(state: FaultState, id: number): FaultState {
  if (state.partitions.length === 0 || state.partitions.some((g) => g.includes(id))) return state
  const partitions = state.partitions.map((g, i) =>
    i === state.partitions.length - 1 ? [...g, id] : [...g],
  )
  return { ...state, partitions }
}

/** Whether a partition cuts the link between two nodes. */
export function blocked(state: FaultState, a: number, b: number): boolean {
  if (state.partitions.length === 0) return false
  return groupOf(state, a) !== groupOf(state, b)
}

/** The transport rules of one node: one rule per peer that has any fault. */
export function rulesFor(state: FaultState, id: number, known: readonly number[]): FaultRules {
  const rules: FaultRule[] = []
  for (const peer of known) {
    if (peer === id) continue
    const cut = blocked(state, id, peer)
    const link = state.links.find((l) => l.from === id && l.to === peer)
    if (!cut && !link) continue
    rules.push({
      peer,
      out: { drop: link?.drop ?? 0, delayMs: link?.delayMs ?? 0, blocked: cut },
      in: { blocked: cut },
    })
  }
  return rules
}

export function faultsView(state: FaultState, paused: readonly number[]): FaultsView {
  const links: LinkFaultView[] = state.links.map((l) => ({
    ...l,
    blocked: blocked(state, l.from, l.to),
  }))
  return {
    partitions: state.partitions.map((g) => [...g]),
    links,
    paused: [...paused].sort((a, b) => a - b),
  }
}

export function describeFaults(state: FaultState): string {
  const parts: string[] = []
  if (state.partitions.length > 0) {
    parts.push(`partitioned into ${state.partitions.map((g) => `{${g.join(', ')}}`).join(' | ')}`)
  }
  for (const l of state.links) {
    parts.push(`link ${l.from}→${l.to}: drop ${l.drop}, delay ${l.delayMs} ms`)
  }
  return parts.length > 0 ? parts.join('; ') : 'network whole'
}
