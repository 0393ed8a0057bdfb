// What a node's view means for the screens: a Raft role is only current while the process
// runs (a killed leader's last report still says "leader"), and a removed node stays in the
// status for its logs but is no longer part of the cluster.

import type { ClusterStatus, NodeView } from '../../shared/api'

/** The node left the configuration: listed for its data, but never offered as live. */
export function isRemoved(n: NodeView): boolean {
  return n.member === 'removed'
}

/**
 * The nodes that are gone from the cluster: marked removed, or (while a removal is still being
 * settled, before the manager marks it) stopped nodes that once reported and that the running
 * leader's configuration no longer holds. A node being added is not among them: the leader
 * holds it as a learner before its process first reports.
 */
export function departedIds(status: ClusterStatus | null): ReadonlySet<number> {
  const gone = new Set<number>()
  if (!status) return gone
  const leaderId = liveLeader(status)
  const conf = status.nodes.find((n) => n.id === leaderId)?.raft ?? null
  for (const n of status.nodes) {
    if (isRemoved(n)) gone.add(n.id)
    else if (
      conf !== null &&
      n.process === 'stopped' &&
      n.raft !== null &&
      !conf.voters.includes(n.id) &&
      !conf.learners.includes(n.id)
    ) {
      gone.add(n.id)
    }
  }
  return gone
}

/** The nodes still in the cluster. */
export function memberNodes(status: ClusterStatus | null): NodeView[] {
  const gone = departedIds(status)
  return (status?.nodes ?? []).filter((n) => !gone.has(n.id))
}

/**
 * What the node table says of a node's membership. `member` is the node's own view of the
 * configuration, so it is null both before a new node first reports and from the moment a
 * node applies its own removal until the manager marks it removed (about half a second): a
 * node on its way out must not read "new".
 */
export function memberLabel(n: NodeView, removing: boolean): string {
  if (n.member === 'removed') return 'removed'
  if (removing) return 'removing'
  if (n.member !== null) return n.member
  return n.raft === null ? 'new' : 'not a member'
}

/**
 * The role to show and to mark rows with: the Raft role while the process runs, otherwise the
 * process state ("stopped", "paused", …), since the last reported role is stale.
 */
export function currentRole(n: NodeView): string {
  if (isRemoved(n)) return 'removed'
  if (n.process !== 'running') return n.process
  return n.raft?.role ?? 'starting'
}

/** The role a node last reported, when it no longer holds (its process is not running). */
export function staleRole(n: NodeView): string | null {
  if (n.process === 'running' || !n.raft) return null
  return n.raft.role
}

/**
 * The leader to name: the status's leader only while that node runs and is a member. A
 * stopped or paused node cannot lead, whatever it reported last.
 */
export function liveLeader(status: ClusterStatus | null): number | null {
  const id = status?.leader ?? null
  if (id === null || !status) return null
  const n = status.nodes.find((x) => x.id === id)
  return n && n.process === 'running' && !isRemoved(n) ? id : null
}
