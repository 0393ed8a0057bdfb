// Log compaction and InstallSnapshot (§7): the application snapshots what it applied, the
// leader sends the snapshot to a follower whose next entries are gone, and a node restarts
// from a snapshot plus the entries after it.

import { describe, expect, it } from 'vitest'
import { type Snapshot } from '../../src/main/raft'
import {
  bytes,
  cluster,
  confEntry,
  installSnapshot,
  isolate,
  normal,
  storageWith,
  termsOf,
  transcript,
} from './support/scripted'

const conf123 = { voters: [1, 2, 3], learners: [] }

function snapshotAt(index: number, term: number, confState = conf123): Snapshot {
  return { meta: { index, term, confState }, data: bytes(`state@${index}`) }
}

/**
 * Leader 1 commits entries 2–4 while node 3 is cut off, then snapshots at 4 and compacts its
 * log. Node 3 is left in probe state and, after an election timeout, not recently active.
 */
function compactedWhileAway() {
  const c = cluster({ voters: [1, 2, 3] })
  c.elect(1)
  for (const s of ['a', 'b', 'c']) {
    c.node(1).propose(bytes(s))
    c.stabilize({ drop: isolate(3) })
  }
  expect(c.raft(1).log.committed).toBe(4)
  const snap = c.get(1).storage.createSnapshot(4, c.raft(1).confStateAt(4), bytes('abc'))
  expect(snap.meta).toEqual({ index: 4, term: 1, confState: conf123 })
  expect(c.raft(1).log.firstIndex()).toBe(5)
  // The driver could not reach node 3; an election timeout later it counts as inactive.
  c.node(1).reportUnreachable(3)
  for (let i = 0; i < 10; i++) {
    c.tick(1)
    c.stabilize({ drop: isolate(3) })
  }
  expect(
    c
      .node(1)
      .status()
      .progress.find((p) => p.id === 3),
  ).toMatchObject({
    state: 'probe',
    recentActive: false,
  })
  return c
}

describe('§7 InstallSnapshot', () => {
  it('a follower whose next entry was compacted receives the snapshot once it answers a heartbeat, then the entries after it', () => {
    const c = compactedWhileAway()
    // Node 3 needs the snapshot, but it has not been heard from: nothing is sent to it.
    c.node(1).propose(bytes('d'))
    expect(transcript(c.stabilize().filter((m) => m.to === 3 || m.from === 3))).toEqual([])

    c.tick(1)
    const sent = c.stabilize().filter((m) => m.to === 3 || m.from === 3)
    expect(transcript(sent)).toEqual([
      '1→3 heartbeat term=1 commit=1',
      '3→1 heartbeatResponse term=1',
      '1→3 installSnapshot term=1 snap=(4,1) voters=[1,2,3] learners=[]',
      '3→1 appendEntriesResponse term=1 index=4',
      '1→3 appendEntries term=1 prev=(4,1) entries=[5@1] commit=5',
      '3→1 appendEntriesResponse term=1 index=5',
    ])
    const n3 = c.get(3)
    expect(n3.snapshots.map((s) => s.meta.index)).toEqual([4])
    expect(n3.readies.find((rd) => rd.snapshot)?.snapshot?.data).toEqual(bytes('abc'))
    expect(n3.storage.firstIndex()).toBe(5)
    expect(termsOf(n3.storage.allEntries())).toEqual([1])
    expect(n3.applied.map((e) => e.index)).toEqual([1, 5])
    expect(c.raft(3).log.committed).toBe(5)
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 3),
    ).toMatchObject({ state: 'replicate', match: 5 })
  })

  it('reportSnapshot(id, false) returns the follower to probe state, and the snapshot is sent again', () => {
    const c = compactedWhileAway()
    c.tick(1)
    const sent = c.stabilize({ drop: (m) => m.type === 'installSnapshot' })
    expect(sent.filter((m) => m.type === 'installSnapshot')).toHaveLength(1)
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 3)?.state,
    ).toBe('snapshot')
    // While the snapshot is on its way, the leader sends node 3 nothing else.
    c.node(1).propose(bytes('d'))
    expect(c.stabilize().filter((m) => m.to === 3 && m.type !== 'heartbeat')).toEqual([])

    c.node(1).reportSnapshot(3, false)
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 3),
    ).toMatchObject({ state: 'probe', next: 2 })
    c.tick(1)
    expect(transcript(c.stabilize().filter((m) => m.to === 3 || m.from === 3)).slice(0, 3)).toEqual(
      [
        '1→3 heartbeat term=1 commit=1',
        '3→1 heartbeatResponse term=1',
        '1→3 installSnapshot term=1 snap=(4,1) voters=[1,2,3] learners=[]',
      ],
    )
    expect(c.raft(3).log.lastIndex()).toBe(5)
  })

  it('a snapshot at or below the follower commit index is ignored: the answer carries the commit index', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 1, 1, 1], hardState: { term: 1, commit: 5 } } },
    })
    c.deliver([
      installSnapshot(1, 2, 1, snapshotAt(3, 1)),
      installSnapshot(1, 2, 1, snapshotAt(5, 1)),
    ])
    const rd = c.node(2).ready()
    expect(transcript(rd.messages)).toEqual([
      '2→1 appendEntriesResponse term=1 index=5',
      '2→1 appendEntriesResponse term=1 index=5',
    ])
    expect(rd.snapshot).toBeUndefined()
    expect(c.raft(2).log.firstIndex()).toBe(1)
    expect(c.raft(2).log.lastIndex()).toBe(5)
  })

  it('a snapshot whose last entry the follower already has only advances its commit index', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 1, 1, 1], hardState: { term: 1, commit: 2 } } },
    })
    c.deliver([installSnapshot(1, 2, 1, snapshotAt(4, 1))])
    const rd = c.node(2).ready()
    expect(transcript(rd.messages)).toEqual(['2→1 appendEntriesResponse term=1 index=4'])
    expect(rd.snapshot).toBeUndefined()
    expect(rd.hardState).toEqual({ term: 1, vote: 0, commit: 4 })
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4])
    expect(c.raft(2).log.lastIndex()).toBe(5)
  })

  it('a snapshot that conflicts with the follower log replaces the whole log', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 2, 2, 2], hardState: { term: 2, commit: 2 } } },
    })
    c.deliver([installSnapshot(1, 2, 3, snapshotAt(4, 3))])
    c.collect()
    const n2 = c.get(2)
    expect(n2.snapshots.map((s) => s.meta)).toEqual([{ index: 4, term: 3, confState: conf123 }])
    expect(n2.storage.firstIndex()).toBe(5)
    expect(n2.storage.allEntries()).toEqual([])
    expect(c.raft(2).log.lastIndex()).toBe(4)
    expect(c.raft(2).hardState()).toEqual({ term: 3, vote: 0, commit: 4 })
  })

  it('the snapshot carries the configuration: a node restored from it knows its membership', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 })
    c.stabilize()
    expect(c.raft(1).log.committed).toBe(2)
    expect(c.raft(1).confStateAt(1)).toEqual(conf123)
    c.get(1).storage.createSnapshot(2, c.raft(1).confStateAt(2), bytes('state'))

    // Node 4 joins with an empty log and no membership at all.
    c.add(4, storageWith({ voters: [], learners: [] }))
    c.tick(1)
    const sent = c.stabilize()
    expect(transcript(sent.filter((m) => m.type === 'installSnapshot'))).toEqual([
      '1→4 installSnapshot term=1 snap=(2,1) voters=[1,2,3] learners=[4]',
    ])
    expect(c.raft(4).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })
    expect(c.get(4).readies.find((rd) => rd.snapshot)?.confState).toEqual({
      voters: [1, 2, 3],
      learners: [4],
    })
  })
})

describe('restart', () => {
  it('a node restarted from a snapshot and the entries after it recovers term, vote, commit and configuration', () => {
    const storage = storageWith(conf123, {
      snapshot: snapshotAt(5, 2),
      entries: [normal(6, 2), confEntry(7, 3, { type: 'addLearner', nodeId: 4 }), normal(8, 3)],
      hardState: { term: 3, vote: 2, commit: 7 },
    })
    const c = cluster({ voters: [1, 2, 3], ids: [] })
    const n = c.add(1, storage)
    expect(n.raw.status()).toMatchObject({
      term: 3,
      vote: 2,
      commit: 7,
      applied: 5,
      firstIndex: 6,
      lastIndex: 8,
      role: 'follower',
      confState: { voters: [1, 2, 3], learners: [4] },
    })
    expect(n.raw.raft.confStateAt(5)).toEqual(conf123)
    const rd = n.raw.ready()
    expect(rd.committedEntries.map((e) => e.index)).toEqual([6, 7])
    expect(rd.entries).toEqual([])
    expect(rd.snapshot).toBeUndefined()
  })

  it('a restarted node resumes applying after the index the application says it applied', () => {
    const storage = storageWith(conf123, {
      snapshot: snapshotAt(5, 2),
      entries: [normal(6, 2), normal(7, 2), normal(8, 2)],
      hardState: { term: 2, vote: 1, commit: 8 },
    })
    const c = cluster({ voters: [1, 2, 3], ids: [] })
    const n = c.add(1, storage, { applied: 6 })
    expect(n.raw.ready().committedEntries.map((e) => e.index)).toEqual([7, 8])
  })

  it('a node restarted in the middle of a cluster rejoins it with its log', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    for (const s of ['a', 'b']) {
      c.node(1).propose(bytes(s))
      c.stabilize()
    }
    const before = c.raft(2).hardState()
    c.restart(2, { applied: 3 })
    expect(c.raft(2).hardState()).toEqual(before)
    expect(c.raft(2).log.lastIndex()).toBe(3)
    c.node(1).propose(bytes('c'))
    c.stabilize()
    expect(c.raft(2).log.committed).toBe(4)
    expect(c.get(2).applied.map((e) => e.index)).toEqual([1, 2, 3, 4])
  })
})
