// The building blocks under the state machine: the log (stable storage plus the unstable tail),
// MemoryStorage, majority arithmetic, and the leader's per-follower progress and in-flight window.

import { describe, expect, it } from 'vitest'
import { type Entry, entrySize, MemoryStorage, type Snapshot } from '../../src/main/raft'
import { RaftLog } from '../../src/main/raft/log'
import { Inflights, Progress } from '../../src/main/raft/progress'
import { committedIndex, hasQuorum, majority, voteResult } from '../../src/main/raft/quorum'
import { limitSize } from '../../src/main/raft/storage'
import { entriesOfTerms, normal, storageWith, termsOf } from './support/scripted'

const conf = { voters: [1, 2, 3], learners: [] }

/** A log whose entries with the given terms are all on stable storage. */
function logOf(terms: number[], commit = 0): RaftLog {
  return new RaftLog(storageWith(conf, { terms, hardState: { commit } }), 0, Infinity)
}

function snapshotAt(index: number, term: number): Snapshot {
  return { meta: { index, term, confState: conf }, data: new Uint8Array(0) }
}

/** Terms of entries that must not be compacted. */
function termsOfSlice(ents: Entry[] | 'compacted'): number[] {
  if (ents === 'compacted') throw new Error('unexpectedly compacted')
  return termsOf(ents)
}

function termsIn(log: RaftLog): number[] {
  return termsOfSlice(log.slice(log.firstIndex(), log.lastIndex() + 1, Infinity))
}

describe('RaftLog', () => {
  it('term(i) reads the unstable tail first, then storage, and knows the snapshot term', () => {
    const s = storageWith(conf, {
      snapshot: snapshotAt(3, 2),
      entries: [normal(4, 2), normal(5, 3)],
    })
    const log = new RaftLog(s, 0, Infinity)
    log.append([normal(6, 4)])
    expect([2, 3, 4, 5, 6, 7].map((i) => log.term(i))).toEqual([undefined, 2, 2, 3, 4, undefined])
    expect(log.firstIndex()).toBe(4)
    expect(log.lastIndex()).toBe(6)
    expect(log.lastTerm()).toBe(4)
  })

  it('isUpToDate compares last terms first, then lengths (§5.4.1)', () => {
    const log = logOf([1, 2, 2])
    expect(log.isUpToDate(3, 2)).toBe(true)
    expect(log.isUpToDate(4, 2)).toBe(true)
    expect(log.isUpToDate(1, 3)).toBe(true)
    expect(log.isUpToDate(2, 2)).toBe(false)
    expect(log.isUpToDate(9, 1)).toBe(false)
  })

  it('findConflict returns the first entry not in the log with the same term, or 0', () => {
    const log = logOf([1, 2, 3])
    expect(log.findConflict(entriesOfTerms([1, 2, 3]))).toBe(0)
    expect(log.findConflict(entriesOfTerms([2, 3], 2))).toBe(0)
    expect(log.findConflict(entriesOfTerms([2, 3, 4], 2))).toBe(4)
    expect(log.findConflict(entriesOfTerms([2, 4], 2))).toBe(3)
    expect(log.findConflict(entriesOfTerms([5], 1))).toBe(1)
  })

  it('findConflictByTerm returns the last index at or below the given one whose term is at most the given term', () => {
    // Figure 7 (f).
    const log = logOf([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3])
    expect(log.findConflictByTerm(11, 6)).toBe(11)
    expect(log.findConflictByTerm(11, 2)).toBe(6)
    expect(log.findConflictByTerm(10, 1)).toBe(3)
    expect(log.findConflictByTerm(10, 0)).toBe(0)
  })

  it('maybeAppend fails the consistency check without touching the log', () => {
    const log = logOf([1, 1, 2])
    expect(log.maybeAppend(3, 1, 3, [normal(4, 3)])).toBeUndefined()
    expect(log.maybeAppend(4, 2, 3, [normal(5, 3)])).toBeUndefined()
    expect(termsIn(log)).toEqual([1, 1, 2])
    expect(log.committed).toBe(0)
  })

  it('maybeAppend replaces a conflicting suffix, keeps matching entries, and commits min(leaderCommit, last new)', () => {
    const log = logOf([1, 1, 2, 2, 2])
    expect(log.maybeAppend(1, 1, 9, [normal(2, 1), normal(3, 3)])).toEqual({
      lastNewIndex: 3,
      conflictIndex: 3,
    })
    expect(termsIn(log)).toEqual([1, 1, 3])
    expect(log.committed).toBe(3)
    expect(log.maybeAppend(1, 1, 9, [normal(2, 1)])).toEqual({ lastNewIndex: 2, conflictIndex: 0 })
    expect(termsIn(log)).toEqual([1, 1, 3])
  })

  it('maybeAppend refuses to overwrite a committed entry', () => {
    const log = logOf([1, 1, 1], 2)
    expect(() => log.maybeAppend(1, 1, 2, [normal(2, 2)])).toThrow(
      'entry 2 conflicts with a committed entry (commit 2): the log is corrupt',
    )
  })

  it('commitTo never moves back and refuses to pass the last index', () => {
    const log = logOf([1, 1, 1])
    log.commitTo(2)
    log.commitTo(1)
    expect(log.committed).toBe(2)
    expect(() => log.commitTo(4)).toThrow('commit index 4 is beyond the last index 3')
  })

  it('nextCommittedEntries hands out each committed entry once, bounded by the apply budget', () => {
    const s = storageWith(conf, { entries: [1, 2, 3, 4].map((i) => normal(i, 1, 'xxxxxxxx')) })
    const log = new RaftLog(s, 0, 2 * entrySize(normal(1, 1, 'xxxxxxxx')))
    expect(log.nextCommittedEntries()).toEqual([])
    log.commitTo(4)
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1, 2])
    log.appliedTo(2)
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([3, 4])
    log.appliedTo(4)
    expect(log.hasNextCommittedEntries()).toBe(false)
    expect(() => log.appliedTo(3)).toThrow('applied 3 is out of range [4, 4]')
  })

  it('slice joins storage and the unstable tail, bounded by bytes but always at least one entry', () => {
    const log = logOf([1, 1])
    log.append([normal(3, 2, 'big entry'), normal(4, 2)])
    expect(termsOfSlice(log.slice(1, 5, Infinity))).toEqual([1, 1, 2, 2])
    expect(log.slice(2, 4, 24 + 24).length).toBe(1)
    expect(log.slice(3, 5, 1).length).toBe(1)
    expect(log.entriesFrom(5, Infinity)).toEqual([])
    expect(() => log.slice(1, 6, Infinity)).toThrow('slice [1, 6) out of bounds [1, 4]')
  })

  it('restore replaces the log with a snapshot and commits up to it', () => {
    const log = logOf([1, 1, 2])
    log.restore(snapshotAt(7, 3))
    expect(log.firstIndex()).toBe(8)
    expect(log.lastIndex()).toBe(7)
    expect(log.term(7)).toBe(3)
    expect(log.committed).toBe(7)
    expect(log.unstableSnapshot()?.meta.index).toBe(7)
    expect(log.slice(3, 4, Infinity)).toBe('compacted')
    log.stableSnapTo(7)
    expect(log.unstableSnapshot()).toBeUndefined()
  })

  it('refuses a hard state whose commit index is beyond the stored log, and an applied index beyond commit', () => {
    expect(() => logOf([1, 1], 3)).toThrow(
      'hard state commit 3 is beyond the last stored index 2: the log was truncated or lost',
    )
    expect(
      () =>
        new RaftLog(storageWith(conf, { terms: [1, 1], hardState: { commit: 1 } }), 2, Infinity),
    ).toThrow('applied index 2 is beyond commit 1')
  })
})

describe('Unstable', () => {
  it('appending after the tail extends it; appending into it truncates it; appending before it replaces it', () => {
    const log = logOf([1, 1])
    log.append(entriesOfTerms([1, 1, 1], 3))
    expect(log.unstable.offset).toBe(3)
    expect(termsOf(log.unstableEntries())).toEqual([1, 1, 1])
    log.append(entriesOfTerms([2], 4))
    expect(termsOf(log.unstableEntries())).toEqual([1, 2])
    log.append(entriesOfTerms([3], 2))
    expect(log.unstable.offset).toBe(2)
    expect(termsOf(log.unstableEntries())).toEqual([3])
    expect(termsIn(log)).toEqual([1, 3])
  })

  it('stableTo drops persisted entries, unless they were replaced since the Ready was handed out', () => {
    const log = logOf([])
    log.append(entriesOfTerms([1, 1, 1]))
    // The Ready carried 1–3 of term 1; before advance, 3 is replaced by a term-2 entry.
    log.append([normal(3, 2)])
    log.stableTo(3, 1)
    expect(termsOf(log.unstableEntries())).toEqual([1, 1, 2])
    log.stableTo(2, 1)
    expect(log.unstable.offset).toBe(3)
    expect(termsOf(log.unstableEntries())).toEqual([2])
  })
})

describe('MemoryStorage', () => {
  it('answers term and entries around the snapshot with compacted or unavailable', () => {
    const s = new MemoryStorage(conf)
    s.append(entriesOfTerms([1, 1, 2, 2, 3]))
    s.createSnapshot(2, conf, new Uint8Array(0))
    expect(s.firstIndex()).toBe(3)
    expect(s.lastIndex()).toBe(5)
    expect([1, 2, 3, 5, 6].map((i) => s.term(i))).toEqual(['compacted', 1, 2, 3, 'unavailable'])
    expect(s.entries(2, 4, Infinity)).toBe('compacted')
    expect(termsOfSlice(s.entries(3, 6, Infinity))).toEqual([2, 2, 3])
    expect(() => s.entries(3, 7, Infinity)).toThrow('entries [3, 7) out of bounds: last index is 5')
  })

  it('append replaces an overlapping tail, skips what the snapshot covers, and refuses gaps', () => {
    const s = new MemoryStorage(conf)
    s.append(entriesOfTerms([1, 1, 1, 1]))
    s.append(entriesOfTerms([2, 2], 3))
    expect(termsOf(s.allEntries())).toEqual([1, 1, 2, 2])
    s.createSnapshot(2, conf, new Uint8Array(0))
    s.append(entriesOfTerms([1, 2, 3], 2))
    expect(s.firstIndex()).toBe(3)
    expect(termsOf(s.allEntries())).toEqual([2, 3])
    expect(() => s.append(entriesOfTerms([3], 6))).toThrow(
      'append at index 6 leaves a gap after last index 4',
    )
  })

  it('createSnapshot compacts the log; applySnapshot replaces it and refuses an older snapshot', () => {
    const s = new MemoryStorage(conf)
    s.append(entriesOfTerms([1, 1, 2]))
    const snap = s.createSnapshot(2, conf, new Uint8Array([7]))
    expect(snap.meta).toEqual({ index: 2, term: 1, confState: conf })
    expect(s.createSnapshot(1, conf, new Uint8Array(0))).toBe(snap)
    expect(() => s.createSnapshot(9, conf, new Uint8Array(0))).toThrow(
      'cannot snapshot at index 9: last index is 3',
    )
    s.applySnapshot(snapshotAt(10, 4))
    expect(s.firstIndex()).toBe(11)
    expect(s.lastIndex()).toBe(10)
    expect(s.term(10)).toBe(4)
    expect(() => s.applySnapshot(snapshotAt(5, 2))).toThrow(
      'snapshot at index 5 is older than the stored one at 10',
    )
  })

  it('limitSize keeps entries while they fit, and always the first', () => {
    const ents = entriesOfTerms([1, 1, 1])
    expect(limitSize(ents, 48)).toHaveLength(2)
    expect(limitSize(ents, 47)).toHaveLength(1)
    expect(limitSize(ents, 0)).toHaveLength(1)
    expect(limitSize(ents, Infinity)).toHaveLength(3)
  })
})

describe('quorum', () => {
  it('a majority is more than half: half of an even cluster is not enough', () => {
    expect([1, 2, 3, 4, 5, 6].map(majority)).toEqual([1, 2, 2, 3, 3, 4])
  })

  it('committedIndex is the largest index a majority of voters has stored', () => {
    const match = new Map([
      [1, 5],
      [2, 4],
      [3, 3],
      [4, 2],
    ])
    const of = (id: number): number => match.get(id) ?? 0
    expect(committedIndex([1, 2, 3], of)).toBe(4)
    expect(committedIndex([1, 2, 3, 4], of)).toBe(3)
    expect(committedIndex([1, 9], of)).toBe(0)
    expect(committedIndex([], of)).toBe(0)
  })

  it('voteResult: won with a majority of grants, lost once a majority is out of reach, votes of non-voters ignored', () => {
    const votes = (...v: [number, boolean][]): Map<number, boolean> => new Map(v)
    const voters = [1, 2, 3, 4]
    expect(voteResult(voters, votes([1, true], [2, true]))).toBe('pending')
    expect(voteResult(voters, votes([1, true], [2, true], [3, true]))).toBe('won')
    expect(voteResult(voters, votes([1, true], [2, false], [3, false]))).toBe('lost')
    expect(voteResult(voters, votes([1, true], [2, false]))).toBe('pending')
    expect(voteResult(voters, votes([1, true], [5, true], [6, true]))).toBe('pending')
  })

  it('hasQuorum counts only voters marked active', () => {
    expect(hasQuorum([1, 2, 3], (id) => id !== 3)).toBe(true)
    expect(hasQuorum([1, 2, 3, 4], (id) => id <= 2)).toBe(false)
  })
})

describe('Progress', () => {
  const progress = (match: number, next: number): Progress => {
    const p = new Progress(2, next, false, 3, Infinity)
    p.match = match
    return p
  }

  it('probe: one message at a time; a rejection moves next back to the hint, never below match + 1', () => {
    const p = progress(2, 10)
    expect(p.isPaused()).toBe(false)
    p.sentEntries(12, 3, 72)
    expect(p.isPaused()).toBe(true)
    expect(p.next).toBe(10)
    expect(p.maybeDecrTo(8, 4)).toBe(false)
    expect(p.maybeDecrTo(9, 4)).toBe(true)
    expect(p.next).toBe(5)
    expect(p.isPaused()).toBe(false)
    expect(p.maybeDecrTo(4, 0)).toBe(true)
    expect(p.next).toBe(3)
  })

  it('replicate: entries stream until the window is full; a rejection falls back to match + 1', () => {
    const p = progress(5, 6)
    p.becomeReplicate()
    for (const last of [6, 7, 8]) p.sentEntries(last, 1, 24)
    expect(p.next).toBe(9)
    expect(p.isPaused()).toBe(true)
    expect(p.maybeUpdate(6)).toBe(true)
    p.inflights.freeLE(6)
    expect(p.isPaused()).toBe(false)
    expect(p.maybeDecrTo(5, 0)).toBe(false)
    expect(p.maybeDecrTo(8, 0)).toBe(true)
    expect(p.next).toBe(7)
  })

  it('maybeUpdate ignores a stale acknowledgement', () => {
    const p = progress(5, 8)
    expect(p.maybeUpdate(4)).toBe(false)
    expect(p.match).toBe(5)
    expect(p.maybeUpdate(7)).toBe(true)
    expect(p.next).toBe(8)
  })

  it('snapshot: paused until the snapshot lands; probing then resumes after the snapshot', () => {
    const p = progress(2, 3)
    p.becomeSnapshot(10)
    expect(p.isPaused()).toBe(true)
    p.becomeProbe()
    expect(p.state).toBe('probe')
    expect(p.next).toBe(11)
    p.becomeSnapshot(10)
    p.pendingSnapshot = 0
    p.becomeProbe()
    expect(p.next).toBe(3)
  })
})

describe('Inflights', () => {
  it('is full at maxCount messages or maxBytes bytes, and frees acknowledged messages in order', () => {
    const byCount = new Inflights(3, Infinity)
    byCount.add(4, 10)
    byCount.add(6, 10)
    expect(byCount.full()).toBe(false)
    byCount.add(9, 10)
    expect(byCount.full()).toBe(true)
    byCount.freeLE(5)
    expect(byCount.count).toBe(2)
    byCount.freeLE(3)
    expect(byCount.count).toBe(2)
    byCount.freeFirstOne()
    expect(byCount.count).toBe(1)
    byCount.freeLE(100)
    expect(byCount.count).toBe(0)

    const byBytes = new Inflights(100, 50)
    byBytes.add(1, 30)
    expect(byBytes.full()).toBe(false)
    byBytes.add(2, 20)
    expect(byBytes.full()).toBe(true)
    byBytes.freeLE(1)
    expect(byBytes.full()).toBe(false)
    byBytes.reset()
    expect(byBytes.count).toBe(0)
  })
})
