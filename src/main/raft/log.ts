// The Raft log as the state machine sees it: what is on stable storage (Storage) followed by
// what is not yet (the unstable tail and, after InstallSnapshot, an unstable snapshot), plus
// the commit and apply marks.

import type { Entry, Snapshot } from './messages'
import { limitSize, type Storage } from './storage'

/** Entries and a snapshot that the driver has yet to make durable. */
class Unstable {
  snapshot: Snapshot | undefined
  entries: Entry[] = []
  /** Index of entries[0]. */
  offset: number

  constructor(offset: number) {
    this.offset = offset
  }

  firstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot?.meta.index
  }

  term(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined
    }
    return this.entries[i - this.offset]?.term
  }

  stableTo(index: number, term: number): void {
    // Only if the entry is still the one that was persisted: a conflicting append may have
    // replaced it since the Ready was handed out.
    if (this.term(index) !== term || index < this.offset) return
    this.entries = this.entries.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) this.snapshot = undefined
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1
    this.entries = []
    this.snapshot = s
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]
    if (first === undefined) return
    const after = first.index
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents)
    } else if (after <= this.offset) {
      // Replaces everything unstable (and, on storage, everything from `after` on).
      this.offset = after
      this.entries = [...ents]
    } else {
      this.entries = this.entries.slice(0, after - this.offset)
      this.entries.push(...ents)
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}

export interface AppendResult {
  /** Index of the last entry the message carried (prevLogIndex + entries). */
  readonly lastNewIndex: number
  /** First index that was overwritten or added, 0 if the message brought nothing new. */
  readonly conflictIndex: number
}

export class RaftLog {
  readonly storage: Storage
  readonly unstable: Unstable
  /** Highest index known to be committed. */
  committed: number
  /** Highest index handed to the application (and advanced past). */
  applied: number
  private readonly maxApplyBytes: number

  constructor(storage: Storage, applied: number, maxApplyBytes: number) {
    this.storage = storage
    const first = storage.firstIndex()
    this.unstable = new Unstable(storage.lastIndex() + 1)
    this.committed = first - 1
    this.applied = first - 1
    this.maxApplyBytes = maxApplyBytes
    const hs = storage.initialState().hardState
    if (hs.commit > storage.lastIndex()) {
      throw new Error(
        `hard state commit ${hs.commit} is beyond the last stored index ${storage.lastIndex()}: the log was truncated or lost`,
      )
    }
    this.committed = Math.max(this.committed, hs.commit)
    if (applied > 0) {
      if (applied > this.committed) {
        throw new Error(`applied index ${applied} is beyond commit ${this.committed}`)
      }
      this.applied = Math.max(this.applied, applied)
    }
  }

  firstIndex(): number {
    return this.unstable.firstIndex() ?? this.storage.firstIndex()
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex()
  }

  /** Term of entry i, or undefined when i is compacted away or beyond the log. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined
    const u = this.unstable.term(i)
    if (u !== undefined) return u
    const t = this.storage.term(i)
    return typeof t === 'number' ? t : undefined
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term
  }

  /** The candidate's log is at least as up-to-date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm()
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex())
  }

  /**
   * The first entry of `ents` that is not already in the log with the same term, or 0 if all
   * are present. Entries that match are never rewritten: a duplicated or delayed AppendEntries
   * must not truncate entries that a later message added (§5.3).
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /**
   * The largest index at or below `index` whose term is at most `term`: everything between it
   * and `index` certainly conflicts with a log whose entry at `index` has term `term`.
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = index; i > 0; i--) {
      const t = this.term(i)
      if (t === undefined || t <= term) return i
    }
    return 0
  }

  /**
   * The follower's side of AppendEntries: if the log contains prevLogIndex at prevLogTerm,
   * adds what is new, and commits up to min(leaderCommit, last new index). Returns undefined
   * if the consistency check fails.
   */
  maybeAppend(
    prevLogIndex: number,
    prevLogTerm: number,
    leaderCommit: number,
    ents: readonly Entry[],
    unsafeTruncateOnMatch = false,
  ): AppendResult | undefined {
    if (!this.matchTerm(prevLogIndex, prevLogTerm)) return undefined
    const lastNewIndex = prevLogIndex + ents.length
    const conflictIndex = this.findConflict(ents)
    const first = ents[0]
    if (
      unsafeTruncateOnMatch &&
      first !== undefined &&
      conflictIndex === 0 &&
      lastNewIndex < this.lastIndex() &&
      lastNewIndex >= this.committed
    ) {
      // Test-only defect: treat the duplicate as new and drop every entry after it.
      this.unstable.truncateAndAppend(ents)
      this.commitTo(Math.min(leaderCommit, lastNewIndex))
      return { lastNewIndex, conflictIndex: first.index }
    }
    if (conflictIndex !== 0 && conflictIndex <= lastNewIndex) {
      if (conflictIndex <= this.committed) {
        throw new Error(
          `entry ${conflictIndex} conflicts with a committed entry (commit ${this.committed}): the log is corrupt`,
        )
      }
      this.append(ents.slice(conflictIndex - (prevLogIndex + 1)))
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex))
    return { lastNewIndex, conflictIndex }
  }

  append(ents: readonly Entry[]): number {
    const first = ents[0]
    if (first === undefined) return this.lastIndex()
    if (first.index - 1 < this.committed) {
      throw new Error(
        `cannot append at ${first.index}: entries up to ${this.committed} are committed`,
      )
    }
    this.unstable.truncateAndAppend(ents)
    return this.lastIndex()
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    if (index > this.lastIndex()) {
      throw new Error(
        `commit index ${index} is beyond the last index ${this.lastIndex()}: the log was truncated or lost`,
      )
    }
    this.committed = index
  }

  appliedTo(index: number): void {
    if (index === 0) return
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied ${index} is out of range [${this.applied}, ${this.committed}]`)
    }
    this.applied = index
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index)
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice()
  }

  /** Committed entries not yet handed to the application, bounded by the apply budget. */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex())
    if (this.committed < lo) return []
    const ents = this.slice(lo, this.committed + 1, this.maxApplyBytes)
    if (ents === 'compacted') throw new Error(`unapplied entries from ${lo} were compacted`)
    return ents
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1)
  }

  /** The snapshot to apply, if one was received and not yet persisted. */
  unstableSnapshot(): Snapshot | undefined {
    return this.unstable.snapshot
  }

  /** Entries from `lo` to the end, bounded by bytes; 'compacted' if `lo` is no longer in the log. */
  entriesFrom(lo: number, maxBytes: number): Entry[] | 'compacted' {
    if (lo > this.lastIndex()) return []
    return this.slice(lo, this.lastIndex() + 1, maxBytes)
  }

  /** Entries in [lo, hi) from storage and the unstable tail, bounded by bytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | 'compacted' {
    if (lo >= hi) return []
    if (lo < this.firstIndex()) return 'compacted'
    if (hi > this.lastIndex() + 1) {
      throw new Error(
        `slice [${lo}, ${hi}) out of bounds [${this.firstIndex()}, ${this.lastIndex()}]`,
      )
    }
    let ents: Entry[] = []
    const uOff = this.unstable.offset
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes)
      if (stored === 'compacted') return 'compacted'
      // Storage cut the batch short for size: stop there.
      if (stored.length < Math.min(hi, uOff) - lo) return stored
      ents = stored
    }
    if (hi > uOff) {
      const u = this.unstable.slice(Math.max(lo, uOff), hi)
      ents = ents.length > 0 ? ents.concat(u) : u
    }
    return limitSize(ents, maxBytes)
  }

  /** Replaces the log with a snapshot (InstallSnapshot on a follower). */
  restore(s: Snapshot): void {
    this.committed = s.meta.index
    this.unstable.restore(s)
  }

  /** The snapshot a follower behind the compacted log needs. */
  snapshot(): Snapshot | 'unavailable' {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }
}
