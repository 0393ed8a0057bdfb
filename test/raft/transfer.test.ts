// Leadership transfer (dissertation §3.10): the leader brings the target up to date, then tells
// it to campaign at once with TimeoutNow; the target's campaign overrides the leader lease.

import { describe, expect, it } from 'vitest'
import { bytes, cluster, isolate, to, transcript } from './support/scripted'

describe('§3.10 leadership transfer', () => {
  it('a leader sends TimeoutNow to a caught-up target, which wins the next term despite the leader lease', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).transferLeadership(2)
    const sent = c.stabilize()
    expect(transcript(sent).slice(0, 5)).toEqual([
      '1→2 timeoutNow term=1',
      '2→1 requestVote term=2 last=(1,1) transfer',
      '2→3 requestVote term=2 last=(1,1) transfer',
      '1→2 requestVoteResponse term=2 granted',
      '3→2 requestVoteResponse term=2 granted',
    ])
    expect(c.raft(2).softState()).toEqual({ role: 'leader', lead: 2 })
    expect(c.raft(2).term).toBe(2)
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 2 })
    expect(c.raft(3).softState()).toEqual({ role: 'follower', lead: 2 })
  })

  it('a follower forwards a transfer request to its leader', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(3).transferLeadership(2)
    const sent = c.stabilize()
    expect(transcript(sent).slice(0, 2)).toEqual([
      '3→1 transferLeader term=1 transferee=2',
      '1→2 timeoutNow term=1',
    ])
    expect(c.raft(2).role).toBe('leader')
  })

  it('a leader first catches a lagging target up, and sends TimeoutNow only once it has the whole log', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).propose(bytes('a'))
    c.node(1).propose(bytes('b'))
    c.stabilize({ drop: to(3) })
    expect(c.raft(3).log.lastIndex()).toBe(1)

    c.node(1).transferLeadership(3)
    const sent = c.stabilize()
    expect(transcript(sent.filter((m) => m.to === 3 || m.from === 3)).slice(0, 7)).toEqual([
      '1→3 appendEntries term=1 prev=(3,1) entries=[] commit=3',
      '3→1 appendEntriesResponse term=1 reject index=3 hint=(1,1)',
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1,3@1] commit=3',
      '3→1 appendEntriesResponse term=1 index=3',
      // The probe that was paused is answered; the leader resumes with an (empty) append.
      '1→3 appendEntries term=1 prev=(3,1) entries=[] commit=3',
      '1→3 timeoutNow term=1',
      '3→1 appendEntriesResponse term=1 index=3',
    ])
    expect(c.raft(3).softState()).toEqual({ role: 'leader', lead: 3 })
    expect(c.raft(3).term).toBe(2)
  })

  it('a leader refuses proposals while a transfer is in progress', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).transferLeadership(3)
    expect(c.node(1).propose(bytes('x'))).toEqual({
      ok: false,
      reason: 'leadership is being transferred to node 3',
      notLeading: true,
    })
    expect(c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 })).toEqual({
      ok: false,
      reason: 'leadership is being transferred to node 3',
      notLeading: true,
    })
  })

  it('a transfer to the leader itself, to a learner or to an unknown node is ignored', () => {
    const c = cluster({ voters: [1, 2, 3], learners: [4] })
    c.elect(1)
    for (const target of [1, 4, 9]) {
      c.node(1).transferLeadership(target)
      expect(c.node(1).status().leadTransferee).toBe(0)
      expect(c.collect([1])).toEqual([])
      expect(c.node(1).propose(bytes('still leading')).ok).toBe(true)
      c.stabilize()
    }
    expect(c.raft(1).role).toBe('leader')
  })

  it('a transfer that does not finish within an election timeout is abandoned', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).transferLeadership(3)
    c.stabilize({ drop: isolate(3) })
    for (let i = 1; i < 10; i++) {
      c.tick(1)
      c.stabilize({ drop: isolate(3) })
      expect(c.node(1).status().leadTransferee, `after ${i} ticks`).toBe(3)
    }
    c.tick(1)
    c.stabilize({ drop: isolate(3) })
    expect(c.node(1).status().leadTransferee).toBe(0)
    expect(c.raft(1).role).toBe('leader')
    expect(c.node(1).propose(bytes('x')).ok).toBe(true)
  })

  it('a learner that is told to time out does not campaign', () => {
    const c = cluster({ voters: [1, 2, 3], learners: [4] })
    c.elect(1)
    c.deliver([{ type: 'timeoutNow', from: 1, to: 4, term: 1 }])
    expect(c.collect([4])).toEqual([])
    expect(c.raft(4).role).toBe('follower')
  })
})
