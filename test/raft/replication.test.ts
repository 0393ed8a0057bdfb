// Log replication (§5.3): the no-op of a new leader, the AppendEntries consistency check and its
// conflict hint, how a follower reconciles its log, commit propagation, batching and pipelining.

import { describe, expect, it } from 'vitest'
import { entrySize, type Message } from '../../src/main/raft'
import {
  appendEntries,
  bytes,
  cluster,
  entriesOfTerms,
  isolate,
  normal,
  termsOf,
  transcript,
} from './support/scripted'

const appendsTo =
  (id: number) =>
  (m: Message): boolean =>
    m.type === 'appendEntries' && m.to === id

describe('§5.3 log replication', () => {
  it('a new leader appends a no-op entry of its term and sends it to every follower', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 1: { terms: [1, 1] }, 2: { terms: [1, 1] }, 3: { terms: [1, 1] } },
    })
    c.node(1).campaign()
    const sent = c.stabilize()
    const last = c.get(1).storage.allEntries()[2]
    expect(last).toEqual({ type: 'normal', index: 3, term: 2, data: new Uint8Array(0) })
    expect(transcript(sent.filter((m) => m.type === 'appendEntries')).slice(0, 2)).toEqual([
      '1→2 appendEntries term=2 prev=(2,1) entries=[3@2] commit=0',
      '1→3 appendEntries term=2 prev=(2,1) entries=[3@2] commit=0',
    ])
    expect(c.raft(1).log.committed).toBe(3)
  })

  it('AppendEntries fails the consistency check when the follower lacks prevLogIndex at prevLogTerm, and the reply carries a conflict hint', () => {
    // The follower's log is [1, 1, 2, 2].
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 2, 2], hardState: { term: 2 } } },
    })
    c.deliver([
      appendEntries(1, 2, 3, [4, 3], [normal(5, 3)], 0),
      appendEntries(1, 2, 3, [6, 3], [normal(7, 3)], 0),
      appendEntries(1, 2, 3, [3, 1], [normal(4, 3)], 0),
    ])
    expect(transcript(c.collect([2]))).toEqual([
      // Entry 4 has term 2: every entry of term 2 (but not before) may conflict.
      '2→1 appendEntriesResponse term=3 reject index=4 hint=(4,2)',
      // The follower's log ends at 4: the leader need not probe 5 and 6.
      '2→1 appendEntriesResponse term=3 reject index=6 hint=(4,2)',
      // Entry 3 has term 2 > 1: the best candidate is entry 2, of term 1.
      '2→1 appendEntriesResponse term=3 reject index=3 hint=(2,1)',
    ])
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 1, 2, 2])
    expect(c.raft(2).log.lastIndex()).toBe(4)
  })

  it('a follower deletes a conflicting suffix and appends the leader entries in its place', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 2, 2], hardState: { term: 2 } } },
    })
    c.deliver([appendEntries(1, 2, 3, [2, 1], [normal(3, 3)], 0)])
    const rd = c.node(2).ready()
    expect(rd.entries).toEqual([normal(3, 3)])
    expect(transcript(rd.messages)).toEqual(['2→1 appendEntriesResponse term=3 index=3'])
    c.get(2).storage.append(rd.entries)
    c.node(2).advance(rd)
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 1, 3])
    expect(c.raft(2).log.lastIndex()).toBe(3)
  })

  it('a delayed AppendEntries whose entries the follower already has does not truncate the entries after them', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 2: { hardState: { term: 1 } } } })
    c.deliver([appendEntries(1, 2, 1, [0, 0], entriesOfTerms([1, 1, 1]), 0)])
    c.collect()
    c.deliver([
      appendEntries(1, 2, 1, [0, 0], entriesOfTerms([1]), 0),
      appendEntries(1, 2, 1, [1, 1], entriesOfTerms([1], 2), 0),
    ])
    expect(transcript(c.collect([2]))).toEqual([
      '2→1 appendEntriesResponse term=1 index=1',
      '2→1 appendEntriesResponse term=1 index=2',
    ])
    expect(c.get(2).readies.at(-1)?.entries).toEqual([])
    expect(c.raft(2).log.lastIndex()).toBe(3)
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 1, 1])
  })

  it('a follower commits up to min(leaderCommit, index of the last new entry), never into entries it has not matched', () => {
    // Entries 3–5 are from a deposed leader of term 2; the leader of term 3 has 3@3–5@3 committed.
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 2: { terms: [1, 1, 2, 2, 2], hardState: { term: 2 } } },
    })
    c.deliver([appendEntries(1, 2, 3, [1, 1], [normal(2, 1)], 5)])
    c.collect()
    expect(c.raft(2).log.committed).toBe(2)
    expect(c.get(2).applied.map((e) => e.index)).toEqual([1, 2])

    c.deliver([appendEntries(1, 2, 3, [2, 1], [normal(3, 3), normal(4, 3)], 3)])
    c.collect()
    expect(c.raft(2).log.committed).toBe(3)
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 1, 3, 3])
    expect(c.get(2).storage.initialState().hardState).toEqual({ term: 3, vote: 0, commit: 3 })
  })

  it('a leader learns the commit index from a majority and tells the followers in the next AppendEntries', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).propose(bytes('x'))
    const sent = c.stabilize({ drop: isolate(3) })
    expect(transcript(sent)).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '2→1 appendEntriesResponse term=1 index=2',
      '1→2 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '1→3 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '2→1 appendEntriesResponse term=1 index=2',
    ])
    expect(c.raft(2).log.committed).toBe(2)
    expect(c.get(2).applied.map((e) => e.index)).toEqual([1, 2])
  })

  it("with commitBroadcast 'piggyback' a new commit index waits for the next heartbeat instead of an AppendEntries of its own", () => {
    const c = cluster({ voters: [1, 2, 3], config: { commitBroadcast: 'piggyback' } })
    c.elect(1)
    c.node(1).propose(bytes('x'))
    const sent = c.stabilize()
    expect(transcript(sent)).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '2→1 appendEntriesResponse term=1 index=2',
      '3→1 appendEntriesResponse term=1 index=2',
    ])
    expect(c.raft(1).log.committed).toBe(2)
    expect(c.raft(2).log.committed).toBe(1)
    // The leader's next heartbeat tells both followers; they apply the entry then.
    c.tick(1)
    c.stabilize()
    expect(c.raft(2).log.committed).toBe(2)
    expect(c.raft(3).log.committed).toBe(2)
    expect(c.get(3).applied.map((e) => e.index)).toEqual([1, 2])
  })

  it("with commitBroadcast 'piggyback' the next AppendEntries carries the commit index", () => {
    const c = cluster({ voters: [1, 2, 3], config: { commitBroadcast: 'piggyback' } })
    c.elect(1)
    c.node(1).propose(bytes('x'))
    c.stabilize()
    c.node(1).propose(bytes('y'))
    expect(transcript(c.collect([1]))).toEqual([
      '1→2 appendEntries term=1 prev=(2,1) entries=[3@1] commit=2',
      '1→3 appendEntries term=1 prev=(2,1) entries=[3@1] commit=2',
    ])
  })

  it('a follower that awaits a commit hears of it at once, each time one of its indexes commits', () => {
    const c = cluster({ voters: [1, 2, 3, 4, 5], config: { commitBroadcast: 'piggyback' } })
    c.elect(1)
    const x = c.node(1).propose(bytes('x'))
    const first = c.collect([1])
    const y = c.node(1).propose(bytes('y'))
    const second = c.collect([1])
    if (!x.ok || !y.ok) throw new Error('proposals refused')
    c.node(1).awaitCommit(5, x.index)
    c.node(1).awaitCommit(5, y.index)
    // Entry 3 reaches only follower 5 at first, so entry 2 commits before it.
    c.deliver(first)
    c.deliver(second.filter((m) => m.to === 5))
    c.held = second.filter((m) => m.to !== 5)
    const sent = c.stabilize()
    expect(c.raft(1).log.committed).toBe(x.index)
    expect(transcript(sent.filter((m) => m.type === 'appendEntries'))).toEqual([
      '1→5 appendEntries term=1 prev=(3,1) entries=[] commit=2',
    ])
    expect(c.raft(5).log.committed).toBe(x.index)
    c.release()
    const later = c.stabilize()
    expect(transcript(later.filter((m) => m.type === 'appendEntries'))).toEqual([
      '1→5 appendEntries term=1 prev=(3,1) entries=[] commit=3',
    ])
    expect(c.raft(5).log.committed).toBe(y.index)
    // The others asked for nothing: they hear of either commit with the next heartbeat.
    expect(c.raft(2).log.committed).toBe(1)
    c.tick(1)
    c.stabilize()
    expect(c.raft(2).log.committed).toBe(y.index)
  })

  it('proposals made between two Readies leave as one AppendEntries per follower', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    for (const v of ['a', 'b', 'c']) c.node(1).propose(bytes(v))
    expect(transcript(c.collect([1]))).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1,3@1,4@1] commit=1',
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1,3@1,4@1] commit=1',
    ])
  })

  it('a heartbeat carries min(follower match, commit): a follower never commits past what it is known to store', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).propose(bytes('x'))
    c.stabilize({ drop: isolate(3) })
    c.tick(1)
    expect(transcript(c.collect([1]))).toEqual([
      '1→2 heartbeat term=1 commit=2',
      '1→3 heartbeat term=1 commit=1',
    ])
  })

  it('batches are bounded by maxSizePerMsg bytes', () => {
    const data = 'ten bytes!'
    const ten = Array.from({ length: 10 }, (_, i) => normal(i + 1, 1, data))
    const c = cluster({
      voters: [1, 2, 3],
      config: { maxSizePerMsg: 100 },
      logs: { 1: { entries: ten }, 3: { entries: ten } },
    })
    c.elect(1)
    const batches = c.get(1).readies.flatMap((rd) => rd.messages.filter(appendsTo(2)))
    const sizes = batches.map((m) => (m.type === 'appendEntries' ? m.entries.map(entrySize) : []))
    // Each entry costs 24 + 10 bytes: two fit into 100, three do not; the no-op costs 24.
    expect(sizes.filter((s) => s.length > 0)).toEqual([
      [24],
      [34, 34],
      [34, 34],
      [34, 34],
      [34, 34],
      [34, 34, 24],
    ])
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2])
  })

  it('batches are bounded by maxEntriesPerMsg entries', () => {
    const c = cluster({
      voters: [1, 2, 3],
      config: { maxEntriesPerMsg: 3 },
      logs: { 1: { terms: [1, 1, 1, 1, 1, 1, 1] }, 3: { terms: [1, 1, 1, 1, 1, 1, 1] } },
    })
    c.elect(1)
    const counts = c
      .get(1)
      .readies.flatMap((rd) => rd.messages.filter(appendsTo(2)))
      .map((m) => (m.type === 'appendEntries' ? m.entries.length : 0))
      .filter((n) => n > 0)
    expect(counts).toEqual([1, 3, 3, 2])
    expect(c.raft(2).log.lastIndex()).toBe(8)
  })

  it('pipelining: in replicate state the leader keeps up to maxInflightMsgs AppendEntries in flight, then waits for an ack', () => {
    const c = cluster({ voters: [1, 2, 3], config: { maxInflightMsgs: 3 } })
    c.elect(1)
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 2)?.state,
    ).toBe('replicate')
    for (const s of ['a', 'b', 'c', 'd', 'e']) {
      c.node(1).propose(bytes(s))
      c.stabilize({ drop: isolate(3), hold: (m) => m.to === 2 })
    }
    expect(transcript(c.held)).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '1→2 appendEntries term=1 prev=(2,1) entries=[3@1] commit=1',
      '1→2 appendEntries term=1 prev=(3,1) entries=[4@1] commit=1',
    ])
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 2)?.inflight,
    ).toBe(3)

    // The first ack frees one slot: the rest of the log goes out in one batch.
    c.release((m) => m.type === 'appendEntries' && m.prevLogIndex === 1)
    const sent = c.stabilize({ drop: isolate(3), hold: (m) => m.to === 2 })
    expect(transcript(sent)).toEqual([
      '2→1 appendEntriesResponse term=1 index=2',
      '1→2 appendEntries term=1 prev=(4,1) entries=[5@1,6@1] commit=2',
    ])
  })

  it('probe state: the leader sends one AppendEntries and waits for its answer before sending more', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1, { hold: appendsTo(2) })
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 2)?.state,
    ).toBe('probe')
    for (const s of ['a', 'b', 'c']) c.node(1).propose(bytes(s))
    c.stabilize({ hold: appendsTo(2) })
    expect(transcript(c.held)).toEqual([
      '1→2 appendEntries term=1 prev=(0,0) entries=[1@1] commit=0',
    ])

    c.release()
    const sent = c.stabilize()
    expect(transcript(sent.filter((m) => m.to === 2 || m.from === 2))).toEqual([
      '2→1 appendEntriesResponse term=1 index=1',
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1,3@1,4@1] commit=4',
      '2→1 appendEntriesResponse term=1 index=4',
    ])
    expect(
      c
        .node(1)
        .status()
        .progress.find((p) => p.id === 2)?.state,
    ).toBe('replicate')
  })
})
