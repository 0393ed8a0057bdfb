// Terms (§5.1) and leader election (§5.2), with PreVote (§9.6) and CheckQuorum (§6.2) on, as
// they are by default.

import { describe, expect, it } from 'vitest'
import { MemoryStorage, RawNode, seededRng } from '../../src/main/raft'
import {
  appendEntries,
  cluster,
  heartbeat,
  isolate,
  normal,
  requestVote,
  transcript,
} from './support/scripted'

describe('§5.1 terms', () => {
  it('a node ignores a vote request from a lower term and rejects stale appends and heartbeats with its own term', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 1: { terms: [1, 2], hardState: { term: 3 } } } })
    c.deliver([
      requestVote(2, 1, 2, [5, 2]),
      requestVote(3, 1, 2, [5, 2], { pre: true }),
      appendEntries(2, 1, 2, [2, 2], [normal(3, 2)], 2),
      heartbeat(2, 1, 2, 2),
    ])
    expect(transcript(c.collect())).toEqual([
      '1→3 requestPreVoteResponse term=3 rejected',
      '1→2 appendEntriesResponse term=3 reject index=0 hint=(0,0)',
      '1→2 appendEntriesResponse term=3 reject index=0 hint=(0,0)',
    ])
    const r = c.raft(1)
    expect(r.hardState()).toEqual({ term: 3, vote: 0, commit: 0 })
    expect(r.log.lastIndex()).toBe(2)
    expect(r.lead).toBe(0)
  })

  it('a message from a higher term turns a follower, a candidate and a leader into a follower of that term', () => {
    const follower = cluster({ voters: [1, 2, 3] })
    follower.deliver([heartbeat(3, 1, 4)])
    expect(follower.raft(1).softState()).toEqual({ role: 'follower', lead: 3 })
    expect(follower.raft(1).term).toBe(4)

    const candidate = cluster({ voters: [1, 2, 3] })
    candidate.node(1).campaign()
    expect(candidate.raft(1).role).toBe('candidate')
    candidate.deliver([appendEntries(3, 1, 2, [0, 0], [], 0)])
    expect(candidate.raft(1).softState()).toEqual({ role: 'follower', lead: 3 })
    expect(candidate.raft(1).hardState()).toEqual({ term: 2, vote: 0, commit: 0 })

    const leader = cluster({ voters: [1, 2, 3] })
    leader.elect(1)
    leader.deliver([heartbeat(2, 1, 5, 1)])
    expect(leader.raft(1).softState()).toEqual({ role: 'follower', lead: 2 })
    expect(leader.raft(1).term).toBe(5)
  })

  it('a stale leader learns the newer term from the answer to its heartbeat and steps down', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    const newLeader = c.tickUntilLeader([2, 3], { drop: isolate(1) })
    expect(c.raft(newLeader).term).toBe(2)
    expect(c.raft(1).softState()).toEqual({ role: 'leader', lead: 1 })

    c.tick(1)
    const sent = c.collect([1])
    expect(transcript(sent)).toEqual([
      '1→2 heartbeat term=1 commit=1',
      '1→3 heartbeat term=1 commit=1',
    ])
    c.deliver(sent)
    const answers = c.collect([2, 3])
    expect(transcript(answers)).toEqual([
      '2→1 appendEntriesResponse term=2 reject index=0 hint=(0,0)',
      '3→1 appendEntriesResponse term=2 reject index=0 hint=(0,0)',
    ])
    c.deliver(answers)
    expect(c.raft(1).role).toBe('follower')
    expect(c.raft(1).term).toBe(2)
  })
})

describe('§5.2 leader election', () => {
  it('a follower that hears from no leader for its election timeout becomes a pre-candidate in the same term', () => {
    const c = cluster({ voters: [1, 2, 3] })
    const ticks = c.ticksUntilCampaign(1)
    expect(ticks).toBeGreaterThanOrEqual(10)
    expect(ticks).toBeLessThan(20)
    expect(c.raft(1).role).toBe('preCandidate')
    expect(c.raft(1).term).toBe(0)
    expect(transcript(c.collect([1]))).toEqual([
      '1→2 requestPreVote term=1 last=(0,0)',
      '1→3 requestPreVote term=1 last=(0,0)',
    ])
  })

  it('without PreVote a follower whose election timeout passes becomes a candidate of the next term and votes for itself', () => {
    const c = cluster({ voters: [1, 2, 3], config: { preVote: false } })
    c.ticksUntilCampaign(1)
    expect(c.raft(1).role).toBe('candidate')
    expect(c.raft(1).hardState()).toEqual({ term: 1, vote: 1, commit: 0 })
    expect(transcript(c.collect([1]))).toEqual([
      '1→2 requestVote term=1 last=(0,0)',
      '1→3 requestVote term=1 last=(0,0)',
    ])
  })

  it('election timeouts are drawn at random from [electionTick, 2 × electionTick)', () => {
    for (const electionTick of [10, 5]) {
      const seen = new Set<number>()
      for (let seed = 1; seed <= 300; seed++) {
        const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] })
        const node = new RawNode({ id: 1, storage, electionTick, rng: seededRng(seed) })
        let ticks = 0
        while (node.raft.role === 'follower') {
          node.tick()
          ticks++
        }
        seen.add(ticks)
      }
      const expected = Array.from({ length: electionTick }, (_, i) => electionTick + i)
      expect([...seen].sort((a, b) => a - b)).toEqual(expected)
    }
  })

  it('a candidate becomes leader once a majority grants its vote, and not before', () => {
    const c = cluster({ voters: [1, 2, 3, 4, 5] })
    c.node(1).campaign()
    const requests = c.collect([1])
    c.deliver(requests.filter((m) => m.to === 2 || m.to === 3))
    const [grant2, grant3] = c.collect([2, 3])
    expect(transcript([grant2!, grant3!])).toEqual([
      '2→1 requestVoteResponse term=1 granted',
      '3→1 requestVoteResponse term=1 granted',
    ])
    c.deliver([grant2!])
    expect(c.raft(1).role).toBe('candidate')
    c.deliver([grant3!])
    expect(c.raft(1).softState()).toEqual({ role: 'leader', lead: 1 })
    expect(c.raft(1).term).toBe(1)
  })

  it('a candidate that a majority rejects returns to follower', () => {
    const c = cluster({
      voters: [1, 2, 3, 4, 5],
      logs: {
        1: { hardState: { term: 1 } },
        2: { terms: [1] },
        3: { terms: [1] },
        4: { terms: [1] },
        5: { terms: [1] },
      },
    })
    c.node(1).campaign()
    c.deliver(c.collect([1]))
    const rejections = c.collect([2, 3, 4, 5])
    expect(transcript(rejections)).toEqual([
      '2→1 requestVoteResponse term=2 rejected',
      '3→1 requestVoteResponse term=2 rejected',
      '4→1 requestVoteResponse term=2 rejected',
      '5→1 requestVoteResponse term=2 rejected',
    ])
    c.deliver(rejections.slice(0, 2))
    expect(c.raft(1).role).toBe('candidate')
    c.deliver(rejections.slice(2, 3))
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 0 })
    expect(c.raft(1).term).toBe(2)
  })

  it('a node votes at most once per term, for the first candidate that asks', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.deliver([
      requestVote(1, 3, 1, [0, 0]),
      requestVote(2, 3, 1, [0, 0]),
      requestVote(1, 3, 1, [0, 0]),
    ])
    expect(transcript(c.collect([3]))).toEqual([
      '3→1 requestVoteResponse term=1 granted',
      '3→2 requestVoteResponse term=1 rejected',
      '3→1 requestVoteResponse term=1 granted',
    ])
    expect(c.raft(3).hardState()).toEqual({ term: 1, vote: 1, commit: 0 })
  })

  it('a candidate steps down when a leader of its own term sends AppendEntries', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.node(1).campaign()
    c.collect([1])
    c.deliver([appendEntries(2, 1, 1, [0, 0], [normal(1, 1)], 0)])
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 2 })
    expect(transcript(c.collect([1]))).toEqual(['1→2 appendEntriesResponse term=1 index=1'])
  })

  it('a pre-candidate steps down when a leader of its term sends a heartbeat', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 1: { hardState: { term: 3 } } } })
    c.ticksUntilCampaign(1)
    expect(c.raft(1).role).toBe('preCandidate')
    c.collect([1])
    c.deliver([heartbeat(2, 1, 3)])
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 2 })
    expect(c.raft(1).term).toBe(3)
  })

  it('PreVote: a failed pre-election changes no term and no vote on any node', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: { 1: { hardState: { term: 1 } }, 2: { terms: [1] }, 3: { terms: [1] } },
    })
    c.ticksUntilCampaign(1)
    const sent = c.stabilize()
    expect(transcript(sent)).toEqual([
      '1→2 requestPreVote term=2 last=(0,0)',
      '1→3 requestPreVote term=2 last=(0,0)',
      '2→1 requestPreVoteResponse term=1 rejected',
      '3→1 requestPreVoteResponse term=1 rejected',
    ])
    expect(c.raft(1).role).toBe('follower')
    for (const id of [1, 2, 3]) {
      expect(c.raft(id).hardState()).toEqual({ term: 1, vote: 0, commit: 0 })
      expect(c.get(id).readies.some((rd) => rd.hardState !== undefined)).toBe(false)
    }
  })

  it('a partitioned node that rejoins does not disrupt the cluster: its term stays and the leader keeps leading', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    for (let i = 0; i < 100; i++) {
      c.tick(1)
      c.tick(2)
      c.tick(3)
      c.stabilize({ drop: isolate(3) })
    }
    expect(c.raft(3).role).toBe('preCandidate')
    expect(c.raft(3).term).toBe(1)
    expect(c.raft(1).role).toBe('leader')

    for (let i = 0; i < 30; i++) {
      c.tick(1)
      c.tick(2)
      c.tick(3)
      c.stabilize()
    }
    expect(c.raft(1).softState()).toEqual({ role: 'leader', lead: 1 })
    expect(c.raft(3).softState()).toEqual({ role: 'follower', lead: 1 })
    for (const id of [1, 2, 3]) expect(c.raft(id).term).toBe(1)
  })

  it('CheckQuorum: a leader that hears from no majority for an election timeout steps down', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    let ticks = 0
    while (c.raft(1).role === 'leader') {
      c.tick(1)
      ticks++
      c.stabilize({ drop: (m) => m.to === 1 })
      if (ticks > 100) break
    }
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 0 })
    // Acks from the election count for the first window, so it takes one to two timeouts.
    expect(ticks).toBeGreaterThanOrEqual(10)
    expect(ticks).toBeLessThanOrEqual(20)
    expect(c.raft(1).term).toBe(1)
  })

  it('CheckQuorum: a leader that hears from one follower of two keeps leading', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    for (let i = 0; i < 100; i++) {
      c.tick(1)
      c.stabilize({ drop: isolate(3) })
    }
    expect(c.raft(1).role).toBe('leader')
  })

  it('leader lease: a follower that hears from its leader ignores higher-term vote requests, unless they come from a transfer', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.deliver([requestVote(3, 2, 2, [1, 1]), requestVote(3, 2, 2, [1, 1], { pre: true })])
    expect(c.collect([2])).toEqual([])
    expect(c.raft(2).hardState()).toEqual({ term: 1, vote: 1, commit: 1 })
    expect(c.raft(2).lead).toBe(1)

    c.deliver([requestVote(3, 2, 2, [1, 1], { transfer: true })])
    expect(transcript(c.collect([2]))).toEqual(['2→3 requestVoteResponse term=2 granted'])
    expect(c.raft(2).hardState()).toEqual({ term: 2, vote: 3, commit: 1 })
  })

  it('leader lease: once a follower has not heard from its leader for an election timeout, it considers a higher-term vote', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.tick(2, 10)
    c.collect()
    c.deliver([requestVote(3, 2, 2, [1, 1])])
    expect(transcript(c.collect([2]))).toEqual(['2→3 requestVoteResponse term=2 granted'])
  })
})
