// Majority arithmetic. Kept apart from the state machine so that the rule "a majority is more
// than half" is written exactly once.

import type { NodeId } from './messages'

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1
}

/**
 * The largest index that a majority of voters has stored: sort the voters' match indexes in
 * descending order and take the one at position majority-1. An empty configuration commits
 * nothing.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0
  const matches = voters.map(matchOf).sort((a, b) => b - a)
  return matches[majority(voters.length) - 1] ?? 0
}

export type VoteResult = 'pending' | 'won' | 'lost'

/** Votes from non-voters are ignored: only the configuration the candidate knows counts. */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  let granted = 0
  let rejected = 0
  for (const id of voters) {
    const v = votes.get(id)
    if (v === true) granted++
    else if (v === false) rejected++
  }
  const need = majority(voters.length)
  if (granted >= need) return 'won'
  if (voters.length - rejected < need) return 'lost'
  return 'pending'
}

/** Whether the voters marked active form a majority (CheckQuorum, §6.2). */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  return voters.filter(active).length >= majority(voters.length)
}
