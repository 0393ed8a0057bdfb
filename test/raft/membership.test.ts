// Membership changes, one voter at a time (dissertation §4.1–§4.2): a configuration takes effect
// on each node as soon as its entry is in that node's log, at most one change is uncommitted,
// a new leader changes nothing before it has committed an entry of its term, and a leader that
// removes itself hands over once the removal is committed.

import { describe, expect, it } from 'vitest'
import { applyConfChange, type ConfChange, type Message, MemoryStorage } from '../../src/main/raft'
import {
  appendEntries,
  bytes,
  cluster,
  confEntry,
  isolate,
  normal,
  to,
  transcript,
  voteResponse,
} from './support/scripted'

const addLearner = (nodeId: number): ConfChange => ({ type: 'addLearner', nodeId })
const addVoter = (nodeId: number): ConfChange => ({ type: 'addVoter', nodeId })
const removeNode = (nodeId: number): ConfChange => ({ type: 'removeNode', nodeId })

describe('§4 learners', () => {
  it('a learner is not asked for its vote, and its grant does not count', () => {
    const c = cluster({ voters: [1, 2], learners: [3] })
    c.node(1).campaign()
    expect(transcript(c.collect([1]))).toEqual(['1→2 requestVote term=1 last=(0,0)'])
    c.deliver([voteResponse(3, 1, 1, true)])
    expect(c.raft(1).role).toBe('candidate')
  })

  it('a learner receives the log but its acknowledgement does not count towards commitment', () => {
    const c = cluster({ voters: [1, 2], learners: [3] })
    c.elect(1)
    c.node(1).propose(bytes('x'))
    const sent = c.stabilize({ drop: isolate(2) })
    expect(transcript(sent.filter((m) => m.to === 3 || m.from === 3))).toEqual([
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1] commit=1',
      '3→1 appendEntriesResponse term=1 index=2',
    ])
    expect(c.get(3).storage.lastIndex()).toBe(2)
    expect(c.raft(1).log.committed).toBe(1)
  })

  it('a learner never campaigns, however long it hears nothing', () => {
    const c = cluster({ voters: [1, 2], learners: [3] })
    c.tick(3, 200)
    expect(c.collect([3])).toEqual([])
    expect(c.raft(3).role).toBe('follower')
    expect(c.raft(3).term).toBe(0)
  })
})

describe('§4.1 a configuration takes effect when its entry is appended', () => {
  /** Voters 1–3 led by 1; node 4 runs, started with the cluster's bootstrap membership. */
  function withNode4() {
    const c = cluster({ voters: [1, 2, 3], ids: [1, 2, 3, 4] })
    c.elect(1)
    return c
  }

  it('adding a learner takes effect on the leader and on each follower as it appends the entry, before commit', () => {
    const c = withNode4()
    expect(c.node(1).proposeConfChange(addLearner(4))).toEqual({ ok: true, index: 2, term: 1 })
    expect(c.raft(1).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })
    const appends = c.collect([1])
    expect(c.get(1).readies.at(-1)?.confState).toEqual({ voters: [1, 2, 3], learners: [4] })
    expect(transcript(appends)).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1:addLearner(4)] commit=1',
      '1→3 appendEntries term=1 prev=(1,1) entries=[2@1:addLearner(4)] commit=1',
      // The new learner starts out probing right after the leader's last entry.
      '1→4 appendEntries term=1 prev=(2,1) entries=[] commit=1',
    ])
    c.deliver(appends.filter((m) => m.to === 2))
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })
    expect(c.raft(3).confState()).toEqual({ voters: [1, 2, 3], learners: [] })
    c.collect([2])
    expect(c.get(2).readies.at(-1)?.confState).toEqual({ voters: [1, 2, 3], learners: [4] })
    expect(c.raft(1).log.committed).toBe(1)
    expect(c.raft(2).log.committed).toBe(1)
  })

  it('promoting a learner to voter takes effect on append, and the new voter counts towards the next commit', () => {
    const c = withNode4()
    c.node(1).proposeConfChange(addLearner(4))
    c.stabilize()
    expect(c.raft(4).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })

    expect(c.node(1).proposeConfChange(addVoter(4)).ok).toBe(true)
    expect(c.raft(1).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] })
    // With four voters, the leader and node 2 are not a majority.
    c.stabilize({ hold: (m) => m.to === 3 || m.to === 4 })
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] })
    expect(c.raft(1).log.committed).toBe(2)
    c.release((m) => m.to === 4)
    c.stabilize({ hold: to(3) })
    expect(c.raft(4).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] })
    expect(c.raft(1).log.committed).toBe(3)
  })

  it('removing a voter takes effect on append: the leader stops counting and replicating to it', () => {
    const c = withNode4()
    expect(c.node(1).proposeConfChange(removeNode(3)).ok).toBe(true)
    expect(c.raft(1).confState()).toEqual({ voters: [1, 2], learners: [] })
    expect(
      c
        .node(1)
        .status()
        .progress.map((p) => p.id),
    ).toEqual([1, 2])
    const appends = c.collect([1])
    expect(transcript(appends)).toEqual([
      '1→2 appendEntries term=1 prev=(1,1) entries=[2@1:removeNode(3)] commit=1',
    ])
    c.deliver(appends)
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2], learners: [] })
    expect(c.raft(2).log.committed).toBe(1)
    // Node 2's acknowledgement alone now commits: {1, 2} is the whole configuration.
    c.stabilize()
    expect(c.raft(1).log.committed).toBe(2)
  })

  it('a node that joins with an empty log learns the founding membership from the bootstrap entries', () => {
    // A real cluster starts from MemoryStorage.bootstrap: the founding voters are entries 1-3
    // of the log, so a node that joins later receives them like any other entry.
    const c = cluster({ voters: [1, 2, 3], ids: [] })
    for (const id of [1, 2, 3]) c.add(id, MemoryStorage.bootstrap([1, 2, 3]))
    expect(c.raft(1).confState()).toEqual({ voters: [1, 2, 3], learners: [] })
    c.elect(1)
    expect(c.node(1).proposeConfChange(addLearner(4)).ok).toBe(true)
    c.add(4, new MemoryStorage())
    c.stabilize()
    expect(c.raft(4).log.lastIndex()).toBe(5)
    expect(c.raft(4).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })
    // Promoted, it counts towards a majority of four, and cannot elect itself alone.
    expect(c.node(1).proposeConfChange({ type: 'addVoter', nodeId: 4 }).ok).toBe(true)
    c.stabilize()
    expect(c.raft(4).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] })
  })

  it('a follower whose uncommitted configuration entry is truncated goes back to the configuration before it', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: {
        2: {
          entries: [normal(1, 1), confEntry(2, 1, addLearner(4))],
          hardState: { term: 1, commit: 1 },
        },
      },
    })
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2, 3], learners: [4] })
    // Node 3 won term 2 without the entry and overwrites it with its no-op.
    c.deliver([appendEntries(3, 2, 2, [1, 1], [normal(2, 2)], 1)])
    const rd = c.node(2).ready()
    expect(rd.confState).toEqual({ voters: [1, 2, 3], learners: [] })
    expect(rd.entries).toEqual([normal(2, 2)])
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2, 3], learners: [] })
  })
})

describe('§4.1 one change at a time', () => {
  it('a second change is refused while the first is uncommitted, and accepted once it commits', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    expect(c.node(1).proposeConfChange(addLearner(4)).ok).toBe(true)
    expect(c.node(1).proposeConfChange(addLearner(5))).toEqual({
      ok: false,
      reason: 'a membership change is already in progress (entry 2 is not yet committed)',
      notLeading: false,
    })
    c.stabilize()
    expect(c.node(1).proposeConfChange(addLearner(5)).ok).toBe(true)
    expect(c.raft(1).confState()).toEqual({ voters: [1, 2, 3], learners: [4, 5] })
  })

  it('a new leader refuses a change until it has committed its no-op', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1, { hold: (m) => m.type === 'appendEntries' })
    expect(c.node(1).proposeConfChange(addLearner(4))).toEqual({
      ok: false,
      reason: 'the new leader has not yet committed an entry of its term; retry shortly',
      notLeading: false,
    })
    c.release()
    c.stabilize()
    expect(c.node(1).proposeConfChange(addLearner(4))).toEqual({ ok: true, index: 2, term: 1 })
  })
})

describe('§4.2.2 removing the leader', () => {
  it('a removed leader does not count itself, steps down once the removal commits, and hands over with TimeoutNow', () => {
    const c = cluster({ voters: [1, 2, 3, 4, 5] })
    c.elect(1)
    expect(c.node(1).proposeConfChange(removeNode(1)).ok).toBe(true)
    expect(c.raft(1).confState()).toEqual({ voters: [2, 3, 4, 5], learners: [] })

    // Nodes 2 and 3 with the leader's own copy would be three of five, but the leader is not
    // a voter any more: two of the four voters are not a majority.
    c.stabilize({ hold: to(4, 5) })
    expect(c.raft(1).log.committed).toBe(1)
    expect(c.raft(1).role).toBe('leader')

    const sent = c.release(to(4))
    sent.push(...c.stabilize({ hold: to(5) }))
    expect(transcript(sent).slice(0, 7)).toEqual([
      '1→4 appendEntries term=1 prev=(1,1) entries=[2@1:removeNode(1)] commit=1',
      '4→1 appendEntriesResponse term=1 index=2',
      '1→2 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '1→3 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '1→4 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '1→5 appendEntries term=1 prev=(2,1) entries=[] commit=2',
      '1→2 timeoutNow term=1',
    ])
    // Node 1 is no longer a member: the new leader does not even tell it who leads.
    expect(c.raft(1).softState()).toEqual({ role: 'follower', lead: 0 })
    expect(c.raft(2).softState()).toEqual({ role: 'leader', lead: 2 })
    expect(c.raft(2).term).toBe(2)
    expect(c.raft(2).confState()).toEqual({ voters: [2, 3, 4, 5], learners: [] })
  })

  it('a removed leader whose remaining voters lack its last entry steps down without TimeoutNow', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).proposeConfChange(removeNode(1))
    const removal = c.collect([1])
    // Still the leader until the removal commits, it appends one more entry, which is lost.
    expect(c.node(1).propose(bytes('x'))).toEqual({ ok: true, index: 3, term: 1 })
    c.deliver(removal)
    const sent = c.stabilize({
      drop: (m) => m.type === 'appendEntries' && m.entries.some((e) => e.index === 3),
    })
    expect(c.raft(1).log.committed).toBe(2)
    expect(c.raft(1).role).toBe('follower')
    expect(sent.filter((m) => m.type === 'timeoutNow')).toEqual([])
  })

  it('a leader that removed itself and lost leadership before the removal committed is elected again to finish it', () => {
    // Voters {1, 2}; leader 1 appends its own removal, which node 2 never receives.
    const c = cluster({ voters: [1, 2] })
    c.elect(1)
    c.node(1).proposeConfChange(removeNode(1))
    c.stabilize({ drop: (m) => m.type === 'appendEntries' })
    expect(c.raft(1).confState()).toEqual({ voters: [2], learners: [] })
    expect(c.raft(2).confState()).toEqual({ voters: [1, 2], learners: [] })
    // Node 1 loses leadership (CheckQuorum); node 2 needs node 1's vote, which node 1, with the
    // longer log, refuses. Only node 1 can move the cluster: it campaigns under {2}, wins with
    // node 2's vote alone, commits its removal and steps down; node 2 then leads itself.
    c.restart(1)
    expect(c.tickUntilLeader([1, 2])).toBe(2)
    c.stabilize()
    // Node 1 led a term of its own to commit the removal, then handed over with TimeoutNow.
    expect(c.get(1).readies.some((rd) => rd.softState?.role === 'leader')).toBe(true)
    expect(c.raft(2).confState()).toEqual({ voters: [2], learners: [] })
    expect(c.raft(2).log.committed).toBe(c.raft(2).log.lastIndex())
    expect(c.raft(1).role).toBe('follower')
  })

  it('a removed leader hands its removal to the application in the Ready in which it steps down, then never campaigns', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    const p = c.node(1).proposeConfChange(removeNode(1))
    expect(p).toEqual({ ok: true, index: 2, term: 1 })
    c.stabilize()
    // The commit index it learned as leader stands after it steps down: the entry is applied.
    const stepDown = c.get(1).readies.find((rd) => rd.softState?.role === 'follower')
    expect(stepDown?.committedEntries.map((e) => e.index)).toEqual([2])
    expect(stepDown?.committedEntries[0]).toMatchObject({
      type: 'confChange',
      change: removeNode(1),
    })
    expect(c.get(1).applied.map((e) => e.index)).toEqual([1, 2])
    expect(c.raft(1).log.applied).toBe(2)
    // A node outside the committed configuration stays quiet, however long it hears nothing.
    const quiet: string[] = []
    for (let i = 0; i < 100; i++) {
      for (const id of [1, 2, 3]) c.tick(id)
      quiet.push(...transcript(c.stabilize()).filter((l) => l.startsWith('1→')))
    }
    expect(quiet).toEqual([])
    expect(c.raft(1).role).toBe('follower')
    expect(c.raft(2).role === 'leader' || c.raft(3).role === 'leader').toBe(true)
  })

  it("a removed leader's removal is committed by followers that no longer count it as a member", () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).proposeConfChange(removeNode(1))
    // A driver that only talks to members of its own configuration (as the node's transport
    // once did) drops the followers' acknowledgements: the removal never commits, and the
    // leader, hearing from no voter, loses leadership to CheckQuorum with its removal pending.
    const outsideConf = (m: Message): boolean => {
      const cs = c.raft(m.from).confState()
      return !cs.voters.includes(m.to) && !cs.learners.includes(m.to)
    }
    const lost = c.stabilize({ drop: outsideConf })
    expect(transcript(lost).filter((l) => /^[23]→1 appendEntriesResponse/.test(l))).toEqual([
      '2→1 appendEntriesResponse term=1 index=2',
      '3→1 appendEntriesResponse term=1 index=2',
    ])
    expect(c.raft(1).log.committed).toBe(1)
    c.tick(1, 20)
    c.stabilize({ drop: outsideConf })
    expect(c.raft(1).role).not.toBe('leader')
    expect(c.get(1).applied.map((e) => e.index)).toEqual([1])

    // Delivered, the same acknowledgements commit it, and node 1 applies its own removal.
    const d = cluster({ voters: [1, 2, 3] })
    d.elect(1)
    d.node(1).proposeConfChange(removeNode(1))
    d.stabilize()
    expect(d.raft(1).log.committed).toBe(2)
    expect(d.get(1).applied.map((e) => e.index)).toEqual([1, 2])
  })

  it('a removed voter that never hears of its removal cannot disrupt the cluster', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).proposeConfChange(removeNode(3))
    const sent = c.stabilize()
    // The removal takes effect on the leader as it appends it: node 3 is not sent the entry.
    expect(sent.filter((m) => m.to === 3)).toEqual([])
    expect(c.raft(3).confState()).toEqual({ voters: [1, 2, 3], learners: [] })
    for (let i = 0; i < 100; i++) {
      for (const id of [1, 2, 3]) c.tick(id)
      c.stabilize()
    }
    // It keeps asking for pre-votes, which nodes 1 and 2 ignore while they have a leader.
    expect(c.raft(3).role).toBe('preCandidate')
    expect(c.raft(1).softState()).toEqual({ role: 'leader', lead: 1 })
    for (const id of [1, 2, 3]) expect(c.raft(id).term).toBe(1)
  })
})

describe('invalid membership changes are refused with a sentence', () => {
  it('removing the last voter is refused', () => {
    const c = cluster({ voters: [1], learners: [2] })
    c.node(1).campaign()
    c.stabilize()
    expect(c.raft(1).role).toBe('leader')
    expect(c.node(1).proposeConfChange(removeNode(1))).toEqual({
      ok: false,
      reason: 'node 1 is the last voter',
      notLeading: false,
    })
    expect(c.node(1).proposeConfChange(removeNode(2)).ok).toBe(true)
  })

  it('a change that makes no sense for the current configuration says why', () => {
    const c = cluster({ voters: [1, 2, 3], learners: [4] })
    c.elect(1)
    const cases: [ConfChange, string][] = [
      [addVoter(2), 'node 2 is already a voter'],
      [addLearner(2), 'node 2 is a voter; remove it before adding it as a learner'],
      [addLearner(4), 'node 4 is already a learner'],
      [removeNode(7), 'node 7 is not a member'],
      [addVoter(0), 'node id 0 is not a positive integer'],
      [addLearner(1.5), 'node id 1.5 is not a positive integer'],
    ]
    for (const [change, reason] of cases) {
      expect(c.node(1).proposeConfChange(change)).toEqual({ ok: false, reason, notLeading: false })
    }
    expect(c.raft(1).log.lastIndex()).toBe(1)
  })

  it('a follower refuses to propose, and says another node may take the proposal', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    expect(c.node(2).proposeConfChange(addLearner(4))).toEqual({
      ok: false,
      reason: 'not the leader',
      notLeading: true,
    })
  })

  it('applyConfChange: the configuration after a change', () => {
    const cs = { voters: [1, 3], learners: [2] }
    expect(applyConfChange(cs, addVoter(2))).toEqual({ voters: [1, 2, 3], learners: [] })
    expect(applyConfChange(cs, addLearner(5))).toEqual({ voters: [1, 3], learners: [2, 5] })
    expect(applyConfChange(cs, removeNode(2))).toEqual({ voters: [1, 3], learners: [] })
    expect(applyConfChange(cs, removeNode(3))).toEqual({ voters: [1], learners: [2] })
    expect(applyConfChange({ voters: [1], learners: [] }, removeNode(1))).toEqual({
      error: 'node 1 is the last voter',
    })
  })
})
