// Membership changes, one voter at a time.
//
// Why not joint consensus: adding or removing a single voter means every majority of the old
// configuration overlaps every majority of the new one, so no intermediate joint state is
// needed (Ongaro's dissertation, §4.1). RaftLab's users add a node as a learner, let it catch
// up, then promote it: a flow of single steps that maps one-to-one onto this scheme, with
// nothing hidden between "old" and "new" for a person watching the log.
//
// The rules that make it safe, all enforced by the leader in raft.ts:
// - a configuration takes effect on every node as soon as its entry is in the node's log,
//   committed or not; a truncated entry reverts it (§4.1);
// - at most one change is uncommitted at a time;
// - a new leader proposes no change until it has committed an entry of its own term
//   (the correction to the single-server algorithm published on raft-dev in 2015);
// - a leader that is removed keeps replicating without counting itself, and steps down once
//   the entry that removes it is committed (§4.2.2).

import type { ConfChange, ConfState, Entry, NodeId } from './messages'

/** The configuration after `cc`, or a sentence saying why the change is not allowed. */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState | { error: string } {
  const id = cc.nodeId
  if (!Number.isSafeInteger(id) || id <= 0)
    return { error: `node id ${id} is not a positive integer` }
  const voter = cs.voters.includes(id)
  const learner = cs.learners.includes(id)
  switch (cc.type) {
    case 'addVoter':
      if (voter) return { error: `node ${id} is already a voter` }
      return {
        voters: sorted([...cs.voters, id]),
        learners: cs.learners.filter((x) => x !== id),
      }
    case 'addLearner':
      if (voter) return { error: `node ${id} is a voter; remove it before adding it as a learner` }
      if (learner) return { error: `node ${id} is already a learner` }
      return { voters: cs.voters, learners: sorted([...cs.learners, id]) }
    case 'removeNode':
      if (!voter && !learner) return { error: `node ${id} is not a member` }
      if (voter && cs.voters.length === 1) return { error: `node ${id} is the last voter` }
      return {
        voters: cs.voters.filter((x) => x !== id),
        learners: cs.learners.filter((x) => x !== id),
      }
  }
}

function sorted(ids: NodeId[]): NodeId[] {
  return ids.sort((a, b) => a - b)
}

/**
 * Membership as a function of log position: the snapshot's configuration, then one record per
 * configuration entry in the log. The configuration in force is the latest one, committed or
 * not.
 */
export class ConfHistory {
  private base: ConfState
  private baseIndex: number
  private readonly changes: { index: number; conf: ConfState }[] = []

  constructor(base: ConfState, baseIndex: number) {
    this.base = base
    this.baseIndex = baseIndex
  }

  current(): ConfState {
    return this.changes[this.changes.length - 1]?.conf ?? this.base
  }

  /** Index of the latest configuration entry, or the snapshot index if the log holds none. */
  lastChangeIndex(): number {
    return this.changes[this.changes.length - 1]?.index ?? this.baseIndex
  }

  /** The configuration in force at log position `index` (which must not precede the snapshot). */
  at(index: number): ConfState {
    if (index < this.baseIndex) {
      throw new Error(
        `membership at ${index} is unknown: it precedes the snapshot at ${this.baseIndex}`,
      )
    }
    let conf = this.base
    for (const c of this.changes) {
      if (c.index > index) break
      conf = c.conf
    }
    return conf
  }

  /** Entries from `fromIndex` on replace what the log had there; records their changes. */
  appended(fromIndex: number, entries: readonly Entry[]): void {
    this.truncate(fromIndex)
    for (const e of entries) {
      if (e.type !== 'confChange') continue
      const next = applyConfChange(this.current(), e.change)
      // An invalid change in the log is a no-op on every node alike: the leader validated it
      // against the same configuration, so this only happens with a corrupt or hostile log.
      if (!('error' in next)) this.changes.push({ index: e.index, conf: next })
    }
  }

  truncate(fromIndex: number): void {
    while ((this.changes[this.changes.length - 1]?.index ?? -1) >= fromIndex) this.changes.pop()
  }

  restore(base: ConfState, baseIndex: number): void {
    this.base = base
    this.baseIndex = baseIndex
    this.changes.length = 0
  }
}
