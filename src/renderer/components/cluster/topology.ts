// The topology picture's geometry and link states, kept apart from the SVG so the rules
// (which links a partition cuts, what a fault looks like) can be read and tested on their own.

import type { ClusterStatus, LinkFaultView, NodeView } from '../../../shared/api'
import { memberNodes } from '../../utils/nodes'

export const VIEW_WIDTH = 520
export const VIEW_HEIGHT = 420
export const NODE_RADIUS = 32

export interface PlacedNode {
  readonly node: NodeView
  readonly x: number
  readonly y: number
  /** Index of the node's partition group; 0 when the network is whole. */
  readonly group: number
  /** Where the node's label for its group goes: outward from the circle. */
  readonly outX: number
  readonly outY: number
}

export type LinkState = 'ok' | 'blocked' | 'faulty' | 'down'

export interface PlacedLink {
  readonly a: number
  readonly b: number
  readonly x1: number
  readonly y1: number
  readonly x2: number
  readonly y2: number
  readonly state: LinkState
  /** Delay and drop of each direction, when set ("1→2 200 ms, 10% drop"). */
  readonly label: string
  readonly delayed: boolean
  readonly dropping: boolean
  /** True when the leader's heartbeats flow over this link (both ends up and reachable). */
  readonly fromLeader: boolean
}

export interface Topology {
  readonly nodes: readonly PlacedNode[]
  readonly links: readonly PlacedLink[]
  /** The groups when the network is partitioned; a single group otherwise. */
  readonly groups: readonly (readonly number[])[]
}

/** Partition groups as the contract defines them: nodes no group lists form one more group. */
export function partitionGroups(status: ClusterStatus): number[][] {
  const ids = members(status).map((n) => n.id)
  const listed = status.faults.partitions.map((g) => g.filter((id) => ids.includes(id)))
  const nonEmpty = listed.filter((g) => g.length > 0)
  if (nonEmpty.length === 0) return [ids]
  const seen = new Set(nonEmpty.flat())
  const rest = ids.filter((id) => !seen.has(id))
  return rest.length > 0 ? [...nonEmpty, rest] : nonEmpty
}

/** Removed nodes stay in the status for their logs, but are no longer part of the picture. */
export function members(status: ClusterStatus): NodeView[] {
  return memberNodes(status)
}

export function isUp(n: NodeView): boolean {
  return n.process === 'running'
}

function describeDirection(f: LinkFaultView): string {
  const parts: string[] = []
  if (f.delayMs > 0) parts.push(`${f.delayMs}ms`)
  if (f.drop > 0) parts.push(`${Math.round(f.drop * 100)}% drop`)
  if (f.blocked) parts.push('blocked')
  return parts.join(' · ')
}

function linkLabel(ab: LinkFaultView | undefined, ba: LinkFaultView | undefined): string {
  const one = ab ? describeDirection(ab) : ''
  const other = ba ? describeDirection(ba) : ''
  if (one === other) return one
  return [
    ab && one ? `${ab.from}→${ab.to} ${one}` : '',
    ba && other ? `${ba.from}→${ba.to} ${other}` : '',
  ]
    .filter(Boolean)
    .join('; ')
}

export function layout(status: ClusterStatus): Topology {
  const groups = partitionGroups(status)
  const groupOf = new Map<number, number>()
  groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)))
  // Nodes of one group sit next to each other on the circle, so a group reads as one arc.
  const ordered = members(status).sort(
    (p, q) => (groupOf.get(p.id) ?? 0) - (groupOf.get(q.id) ?? 0) || p.id - q.id,
  )
  const cx = VIEW_WIDTH / 2
  const cy = VIEW_HEIGHT / 2
  const r = ordered.length === 1 ? 0 : Math.min(VIEW_WIDTH, VIEW_HEIGHT) / 2 - NODE_RADIUS - 34
  const nodes: PlacedNode[] = ordered.map((node, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ordered.length
    const cos = Math.cos(angle)
    const sin = Math.sin(angle)
    return {
      node,
      x: cx + r * cos,
      y: cy + r * sin,
      group: groupOf.get(node.id) ?? 0,
      outX: cx + (r + NODE_RADIUS + 18) * cos,
      outY: cy + (r + NODE_RADIUS + 18) * sin,
    }
  })

  const fault = (from: number, to: number): LinkFaultView | undefined =>
    status.faults.links.find((l) => l.from === from && l.to === to)
  const links: PlacedLink[] = []
  const byId = [...nodes].sort((p, q) => p.node.id - q.node.id)
  for (let i = 0; i < byId.length; i++) {
    for (let j = i + 1; j < byId.length; j++) {
      const p = byId[i] as PlacedNode
      const q = byId[j] as PlacedNode
      const a = p.node.id
      const b = q.node.id
      const ab = fault(a, b)
      const ba = fault(b, a)
      const blocked = p.group !== q.group || Boolean(ab?.blocked) || Boolean(ba?.blocked)
      const delayed = (ab?.delayMs ?? 0) > 0 || (ba?.delayMs ?? 0) > 0
      const dropping = (ab?.drop ?? 0) > 0 || (ba?.drop ?? 0) > 0
      const up = isUp(p.node) && isUp(q.node)
      const state: LinkState = blocked
        ? 'blocked'
        : !up
          ? 'down'
          : delayed || dropping
            ? 'faulty'
            : 'ok'
      const leader = status.leader
      // Drawn from the leader's end, so the heartbeat animation runs away from it.
      const [from, to] = b === leader ? [q, p] : [p, q]
      links.push({
        a,
        b,
        x1: from.x,
        y1: from.y,
        x2: to.x,
        y2: to.y,
        state,
        label: linkLabel(ab, ba),
        delayed,
        dropping,
        fromLeader: !blocked && up && (a === leader || b === leader),
      })
    }
  }
  return { nodes, links, groups }
}

/** A point `t` of the way from (x1,y1) to (x2,y2). */
export function along(l: PlacedLink, t: number): { x: number; y: number } {
  return { x: l.x1 + (l.x2 - l.x1) * t, y: l.y1 + (l.y2 - l.y1) * t }
}
