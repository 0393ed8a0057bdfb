// What the core reads from stable storage. The driver owns the disk; it keeps this view in step
// with what it has made durable (append after persisting, applySnapshot after installing,
// compact after snapshotting). MemoryStorage is that view for drivers that keep the log in
// memory beside their disk format, and for tests.

import {
  entrySize,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  type Snapshot,
} from './messages'

export interface InitialState {
  readonly hardState: HardState
}

export interface Storage {
  initialState(): InitialState
  /** Entries in [lo, hi), at most maxBytes of them but always at least one; 'compacted' if lo is gone. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] | 'compacted'
  /** Term of entry i, valid for firstIndex()-1 (the snapshot) through lastIndex(). */
  term(i: number): number | 'compacted' | 'unavailable'
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number
  lastIndex(): number
  /** The latest snapshot, or 'unavailable' while the driver is still producing one. */
  snapshot(): Snapshot | 'unavailable'
}

/** The founding entries of a cluster whose first members are `voters`. */
export function bootstrapEntries(voters: readonly NodeId[]): Entry[] {
  if (voters.length === 0) throw new Error('a cluster needs at least one voter to bootstrap')
  if (new Set(voters).size !== voters.length)
    throw new Error(`duplicate node ids in ${voters.join(', ')}`)
  return [...voters]
    .sort((a, b) => a - b)
    .map((nodeId, i) => ({
      type: 'confChange',
      term: 1,
      index: i + 1,
      change: { type: 'addVoter', nodeId },
    }))
}

export const EMPTY_CONF: ConfState = { voters: [], learners: [] }

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 }

export function emptySnapshot(confState: ConfState): Snapshot {
  return { meta: { index: 0, term: 0, confState }, data: new Uint8Array(0) }
}

/** Takes entries from the front until maxBytes would be exceeded; always keeps the first one. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    if (e === undefined) break
    bytes += entrySize(e)
    if (i > 0 && bytes > maxBytes) return entries.slice(0, i)
  }
  return entries
}

export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE
  private snap: Snapshot
  /** Entries after the snapshot: ents[k] has index snap.meta.index + 1 + k. */
  private ents: Entry[] = []

  /**
   * An empty log, optionally starting from a snapshot at index 0 that carries `confState`.
   * That shortcut suits a fixed cluster in a test; a node that joins later cannot learn such a
   * membership, since nothing sends it the index-0 snapshot. A real cluster starts with
   * `bootstrap`, which writes the membership into the log itself.
   */
  constructor(confState: ConfState = EMPTY_CONF) {
    this.snap = emptySnapshot(confState)
  }

  /**
   * Starts a new cluster's log: one addVoter entry per initial voter at term 1, committed.
   * Every initial member writes the same entries, so their logs agree before any election,
   * and a node added later receives the founding membership through ordinary replication.
   */
  static bootstrap(voters: readonly NodeId[]): MemoryStorage {
    const s = new MemoryStorage()
    const entries = bootstrapEntries(voters)
    s.append(entries)
    s.setHardState({ term: 1, vote: 0, commit: entries.length })
    return s
  }

  initialState(): InitialState {
    return { hardState: this.hardState }
  }

  setHardState(hs: HardState): void {
    this.hardState = hs
  }

  private get offset(): number {
    return this.snap.meta.index
  }

  firstIndex(): number {
    return this.offset + 1
  }

  lastIndex(): number {
    return this.offset + this.ents.length
  }

  term(i: number): number | 'compacted' | 'unavailable' {
    if (i < this.offset) return 'compacted'
    if (i === this.offset) return this.snap.meta.term
    if (i > this.lastIndex()) return 'unavailable'
    return this.ents[i - this.offset - 1]?.term ?? 'unavailable'
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | 'compacted' {
    if (lo <= this.offset) return 'compacted'
    if (hi > this.lastIndex() + 1) {
      throw new Error(`entries [${lo}, ${hi}) out of bounds: last index is ${this.lastIndex()}`)
    }
    return limitSize(this.ents.slice(lo - this.offset - 1, hi - this.offset - 1), maxBytes)
  }

  snapshot(): Snapshot {
    return this.snap
  }

  /** All entries, for drivers and tests that inspect the log. */
  allEntries(): readonly Entry[] {
    return this.ents
  }

  /**
   * Appends entries after making them durable. Entries that overlap the log replace it from
   * the first overlapping index on (the core only hands out such overlaps after a conflict).
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    if (first.index > this.lastIndex() + 1) {
      throw new Error(
        `append at index ${first.index} leaves a gap after last index ${this.lastIndex()}`,
      )
    }
    // Entries already covered by the snapshot are skipped: they are committed and compacted.
    const skip = Math.max(0, this.offset + 1 - first.index)
    const rest = entries.slice(skip)
    const restFirst = rest[0]
    if (restFirst === undefined) return
    this.ents.length = restFirst.index - this.offset - 1
    for (const e of rest) this.ents.push(e)
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.offset) {
      throw new Error(
        `snapshot at index ${snap.meta.index} is older than the stored one at ${this.offset}`,
      )
    }
    this.snap = snap
    this.ents = []
  }

  /**
   * Records a snapshot the application took at `index` (which must be applied) and drops the
   * log entries it covers. The membership must be the one in force at `index`.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.offset) return this.snap
    const term = this.term(index)
    if (typeof term !== 'number') {
      throw new Error(`cannot snapshot at index ${index}: last index is ${this.lastIndex()}`)
    }
    this.ents = this.ents.slice(index - this.offset)
    this.snap = { meta: { index, term, confState }, data }
    return this.snap
  }
}
