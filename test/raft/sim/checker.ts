// The safety properties of Raft (Figure 3 of the paper), checked incrementally after every
// Ready of every node: each check looks only at what that Ready changed, so the whole run costs
// time proportional to the entries written rather than to steps × log length.

import type { Entry, MemoryStorage, NodeId, RawNode, Ready } from '../../../src/main/raft'

export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') return `${e.term}/conf:${e.change.type}:${e.change.nodeId}`
  return `${e.term}/${new TextDecoder().decode(e.data)}`
}

class SafetyViolation extends Error {}

export class Checker {
  /** Election safety: the one leader of each term. */
  private readonly leaderOf = new Map<number, NodeId>()
  /** Log matching: what the entry (index, term) holds, and the term of the entry before it. */
  private readonly byIndexTerm = new Map<string, { entry: string; prevTerm: number }>()
  /** Entries known committed, by index. */
  private readonly committed = new Map<number, { term: number; entry: string }>()
  private maxCommit = 0
  /** State machine safety: the state hash after applying each index. */
  private readonly stateAt = new Map<number, { hash: number; entry: string; node: NodeId }>()
  private readonly lastCommit = new Map<NodeId, number>()
  private readonly lastApplied = new Map<NodeId, number>()
  /** The highest index each node acknowledged to a leader, and in which term. */
  private readonly acked = new Map<NodeId, { term: number; index: number }>()

  private fail(message: string): never {
    throw new SafetyViolation(message)
  }

  maxCommitted(): number {
    return this.maxCommit
  }

  committedCount(): number {
    return this.committed.size
  }

  isCommitted(index: number, term: number): boolean {
    return this.committed.get(index)?.term === term
  }

  /** A (re)started node: its persisted commit must not have gone back. */
  booted(id: NodeId, commit: number): void {
    const before = this.lastCommit.get(id) ?? 0
    if (commit < before)
      this.fail(`node ${id} restarted with commit ${commit} below its persisted ${before}`)
    this.lastApplied.delete(id)
  }

  afterPersist(id: NodeId, rd: Ready, disk: MemoryStorage, raw: RawNode): void {
    const term = raw.raft.term
    if (rd.softState?.role === 'leader') {
      const other = this.leaderOf.get(term)
      if (other !== undefined && other !== id) {
        this.fail(`election safety: nodes ${other} and ${id} are both leader of term ${term}`)
      }
      this.leaderOf.set(term, id)
      this.checkLeaderCompleteness(id, term, disk)
    }
    for (const e of rd.entries) this.checkLogMatching(id, e, disk)
    this.checkAcknowledged(id, term, rd)
    if (rd.hardState) this.checkCommit(id, rd.hardState.commit, disk)
  }

  /**
   * Within one term a follower's log only grows past what it acknowledged: the leader counted
   * those entries towards commitment, so rewriting or dropping them loses the promise.
   */
  private checkAcknowledged(id: NodeId, term: number, rd: Ready): void {
    const ack = this.acked.get(id)
    const first = rd.entries[0]
    if (ack && ack.term === term && first !== undefined && first.index <= ack.index) {
      this.fail(
        `durability: node ${id} rewrote its log from index ${first.index} in term ${term}, ` +
          `after acknowledging entries up to ${ack.index} to the leader of that term`,
      )
    }
    for (const m of rd.messages) {
      if (m.type !== 'appendEntriesResponse' || m.reject) continue
      const prev = this.acked.get(id)
      if (!prev || prev.term !== m.term || prev.index < m.index)
        this.acked.set(id, { term: m.term, index: m.index })
    }
  }

  private checkLogMatching(id: NodeId, e: Entry, disk: MemoryStorage): void {
    const prev = disk.term(e.index - 1)
    const prevTerm = typeof prev === 'number' ? prev : -1
    const key = `${e.index}@${e.term}`
    const desc = describeEntry(e)
    const seen = this.byIndexTerm.get(key)
    if (!seen) {
      this.byIndexTerm.set(key, { entry: desc, prevTerm })
      return
    }
    if (seen.entry !== desc) {
      this.fail(
        `log matching: node ${id} has entry ${key} = ${desc}, another node has ${seen.entry}`,
      )
    }
    // Same (index, term) implies the same entry before it; by induction, identical prefixes.
    if (prevTerm !== -1 && seen.prevTerm !== -1 && prevTerm !== seen.prevTerm) {
      this.fail(
        `log matching: node ${id} has entry ${key} after an entry of term ${prevTerm}; another node has it after term ${seen.prevTerm}`,
      )
    }
  }

  private checkCommit(id: NodeId, commit: number, disk: MemoryStorage): void {
    const before = this.lastCommit.get(id) ?? 0
    if (commit < before) this.fail(`node ${id}: commit index went back from ${before} to ${commit}`)
    this.lastCommit.set(id, commit)
    if (commit > disk.lastIndex()) {
      this.fail(
        `node ${id}: commit index ${commit} is beyond its durable log, which ends at ${disk.lastIndex()}`,
      )
    }
    const from = Math.max(before + 1, disk.firstIndex())
    if (from > commit) return
    const ents = disk.entries(from, commit + 1, Infinity)
    if (ents === 'compacted') return
    for (const e of ents) {
      const desc = describeEntry(e)
      const known = this.committed.get(e.index)
      if (known && known.entry !== desc) {
        this.fail(
          `state machine safety: node ${id} committed ${desc} at ${e.index}, but ${known.entry} was committed there`,
        )
      }
      if (!known) this.committed.set(e.index, { term: e.term, entry: desc })
    }
    this.maxCommit = Math.max(this.maxCommit, commit)
  }

  /** Every entry committed so far must be in the new leader's log (§5.4, leader completeness). */
  private checkLeaderCompleteness(id: NodeId, term: number, disk: MemoryStorage): void {
    const first = disk.firstIndex()
    const snapIndex = first - 1
    if (this.maxCommit > disk.lastIndex()) {
      this.fail(
        `leader completeness: node ${id} became leader of term ${term} with a log ending at ${disk.lastIndex()}, ` +
          `but index ${this.maxCommit} is committed`,
      )
    }
    if (this.maxCommit <= snapIndex) return
    const ents = disk.entries(first, this.maxCommit + 1, Infinity)
    if (ents === 'compacted') return
    for (const e of ents) {
      const known = this.committed.get(e.index)
      if (known && known.entry !== describeEntry(e)) {
        this.fail(
          `leader completeness: node ${id} became leader of term ${term} with ${describeEntry(e)} at ${e.index}, ` +
            `but ${known.entry} is committed there`,
        )
      }
    }
  }

  /** Apply order and state machine safety: every node reaches the same state at each index. */
  applied(id: NodeId, index: number, hash: number, entry: string): void {
    const last = this.lastApplied.get(id)
    if (last !== undefined && index <= last)
      this.fail(`node ${id}: applied index went back from ${last} to ${index}`)
    this.lastApplied.set(id, index)
    const known = this.stateAt.get(index)
    if (!known) {
      this.stateAt.set(index, { hash, entry, node: id })
      return
    }
    if (known.hash !== hash) {
      this.fail(
        `state machine safety: node ${id} applied ${entry} at ${index}; node ${known.node} applied ${known.entry} there (states differ)`,
      )
    }
  }
}

export { SafetyViolation }
