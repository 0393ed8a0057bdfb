// Safety (§5.4): the election restriction, committing entries from previous terms (Figure 8),
// how a new leader brings any of the followers of Figure 7 in line, and the durability
// contract that makes a node's promises survive a crash.

import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/main/raft'
import {
  appendEntries,
  bytes,
  cluster,
  isolate,
  normal,
  requestVote,
  termsOf,
  transcript,
  voteResponse,
} from './support/scripted'

describe('§5.4.1 election restriction', () => {
  // The voter's log is [1, 1, 2]: last term 2, last index 3.
  const voterLog = { terms: [1, 1, 2], hardState: { term: 2 } }

  it('a vote is denied to a candidate whose last term is lower, even with a longer log', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 2: voterLog } })
    c.deliver([requestVote(1, 2, 3, [5, 1]), requestVote(3, 2, 3, [5, 1], { pre: true })])
    expect(transcript(c.collect([2]))).toEqual([
      '2→1 requestVoteResponse term=3 rejected',
      '2→3 requestPreVoteResponse term=3 rejected',
    ])
    expect(c.raft(2).vote).toBe(0)
  })

  it('a vote is denied to a candidate with the same last term and a shorter log', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 2: voterLog } })
    c.deliver([requestVote(1, 2, 3, [2, 2])])
    expect(transcript(c.collect([2]))).toEqual(['2→1 requestVoteResponse term=3 rejected'])
  })

  it('a vote is granted to a candidate whose log is at least as up to date: same last entry, longer, or a higher last term', () => {
    for (const last of [
      [3, 2],
      [4, 2],
      [1, 3],
    ] as const) {
      const c = cluster({ voters: [1, 2, 3], logs: { 2: voterLog } })
      c.deliver([requestVote(1, 2, 3, last)])
      expect(transcript(c.collect([2]))).toEqual(['2→1 requestVoteResponse term=3 granted'])
    }
  })
})

describe('§5.4.2 committing entries from previous terms (Figure 8)', () => {
  // Figure 8 (c): S1 crashed in term 2 after replicating 2@2 to S2; S5 led term 3 and wrote 2@3
  // only to itself. S1 comes back and is elected in term 4 by S2, S3 and S4. As in the paper,
  // there is no leader lease: a crashed leader's followers vote as soon as they are asked.
  function figure8() {
    const c = cluster({
      voters: [1, 2, 3, 4, 5],
      config: { maxEntriesPerMsg: 1, checkQuorum: false },
      logs: {
        1: { terms: [1, 2], hardState: { term: 3, commit: 1 } },
        2: { terms: [1, 2], hardState: { term: 3, commit: 1 } },
        3: { terms: [1], hardState: { term: 3, commit: 1 } },
        4: { terms: [1], hardState: { term: 3, commit: 1 } },
        5: { terms: [1, 3], hardState: { term: 3, commit: 1 } },
      },
    })
    c.node(1).campaign()
    const votes = c.stabilize({ hold: (m) => m.type === 'appendEntries' })
    expect(transcript(votes.filter((m) => m.to === 1))).toEqual([
      '2→1 requestVoteResponse term=4 granted',
      '3→1 requestVoteResponse term=4 granted',
      '4→1 requestVoteResponse term=4 granted',
      '5→1 requestVoteResponse term=4 rejected',
    ])
    expect(c.raft(1).role).toBe('leader')
    return c
  }

  /** Delivers 2@2 to S3 and everything to S2; S1's own 3@4 waits on the way to S3, S4 and S5. */
  function replicateOldEntryToS3(c: ReturnType<typeof figure8>): Message[] {
    const sent = c.release((m) => m.to === 2 || m.to === 3)
    const reachesS3 = (m: Message): boolean =>
      m.to === 3 && m.type === 'appendEntries' && m.prevLogIndex < 2
    sent.push(
      ...c.stabilize({ hold: (m) => m.type === 'appendEntries' && m.to !== 2 && !reachesS3(m) }),
    )
    return sent
  }

  it('a leader does not commit an entry of an earlier term that a majority stores (Figure 8 c)', () => {
    const c = figure8()
    const sent = replicateOldEntryToS3(c)
    expect(transcript(sent.filter((m) => m.to === 3 || m.from === 3))).toEqual([
      '1→3 appendEntries term=4 prev=(2,2) entries=[3@4] commit=1',
      '3→1 appendEntriesResponse term=4 reject index=2 hint=(1,1)',
      '1→3 appendEntries term=4 prev=(1,1) entries=[2@2] commit=1',
      '3→1 appendEntriesResponse term=4 index=2',
      '1→3 appendEntries term=4 prev=(2,2) entries=[3@4] commit=1',
    ])
    expect(transcript(c.held.filter((m) => m.to === 3))).toEqual([
      '1→3 appendEntries term=4 prev=(2,2) entries=[3@4] commit=1',
    ])
    expect(termsOf(c.get(2).storage.allEntries())).toEqual([1, 2, 4])
    expect(termsOf(c.get(3).storage.allEntries())).toEqual([1, 2])
    // 2@2 is on S1, S2 and S3, a majority of five, but it is from term 2.
    expect(c.raft(1).log.committed).toBe(1)
    expect(c.get(1).applied.map((e) => `${e.index}@${e.term}`)).toEqual(['1@1'])
  })

  it('an entry of the current term on a majority commits, and the earlier entries with it (Figure 8 e)', () => {
    const c = figure8()
    replicateOldEntryToS3(c)
    expect(c.raft(1).log.committed).toBe(1)
    const sent = c.release((m) => m.to === 3)
    sent.push(
      ...c.stabilize({ hold: (m) => m.type === 'appendEntries' && m.to !== 2 && m.to !== 3 }),
    )
    expect(transcript(sent.filter((m) => m.to === 3 || m.from === 3))).toEqual([
      '1→3 appendEntries term=4 prev=(2,2) entries=[3@4] commit=1',
      '3→1 appendEntriesResponse term=4 index=3',
      '1→3 appendEntries term=4 prev=(3,4) entries=[] commit=3',
      '3→1 appendEntriesResponse term=4 index=3',
    ])
    expect(c.raft(1).log.committed).toBe(3)
    expect(c.get(1).applied.map((e) => `${e.index}@${e.term}`)).toEqual(['1@1', '2@2', '3@4'])
    // And S5 can no longer win: S2 and S3 hold 3@4 and refuse it.
    c.deliver([requestVote(5, 2, 5, [2, 3]), requestVote(5, 3, 5, [2, 3])])
    expect(transcript(c.collect([2, 3]).filter((m) => m.to === 5))).toEqual([
      '2→5 requestVoteResponse term=5 rejected',
      '3→5 requestVoteResponse term=5 rejected',
    ])
  })

  it('why: an earlier-term entry on a majority can still be overwritten by a leader of a later term (Figure 8 d)', () => {
    const c = figure8()
    // This time S2 does not receive 3@4 either.
    c.release((m) => m.to === 3)
    c.held = []
    const reachesS3 = (m: Message): boolean =>
      m.to === 3 && m.type === 'appendEntries' && m.prevLogIndex < 2
    c.stabilize({ drop: (m) => m.type === 'appendEntries' && !reachesS3(m) })
    expect(termsOf(c.get(3).storage.allEntries())).toEqual([1, 2])
    expect(c.raft(1).log.committed).toBe(1)
    // S1 crashes (is cut off); S5 is elected in term 5 by S2, S3 and S4 and overwrites 2@2.
    c.node(5).campaign()
    const sent = c.stabilize({ drop: isolate(1) })
    expect(c.raft(5).softState()).toEqual({ role: 'leader', lead: 5 })
    expect(c.raft(5).term).toBe(5)
    expect(transcript(sent.filter((m) => m.type === 'requestVoteResponse'))).toEqual([
      '2→5 requestVoteResponse term=5 granted',
      '3→5 requestVoteResponse term=5 granted',
      '4→5 requestVoteResponse term=5 granted',
    ])
    for (const id of [2, 3, 4, 5]) {
      expect(termsOf(c.get(id).storage.allEntries()), `node ${id}`).toEqual([1, 3, 5])
    }
  })
})

describe('§5.3 log matching: a new leader brings any follower of Figure 7 in line', () => {
  // Figure 7: the leader's log (term 8 to come) and the possible followers a–f.
  const leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
  const followers = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  } as const

  /** The leader (node 1) is elected in term 8 with a vote from node 3, which then stays silent. */
  function syncFollower(follower: readonly number[]): { sent: Message[]; final: number[] } {
    const c = cluster({
      voters: [1, 2, 3],
      logs: {
        1: { terms: leader, hardState: { term: 7 } },
        2: { terms: follower, hardState: { term: Math.max(...follower) } },
      },
    })
    c.node(1).campaign()
    c.collect([1])
    c.deliver([voteResponse(3, 1, 8, true)])
    expect(c.raft(1).softState()).toEqual({ role: 'leader', lead: 1 })
    const sent = c.stabilize({ drop: isolate(3) })
    expect(termsOf(c.get(1).storage.allEntries())).toEqual([...leader, 8])
    return { sent, final: termsOf(c.get(2).storage.allEntries()) }
  }

  /** Terms of the follower's entries after the longest prefix it shares with the leader. */
  function divergentTerms(follower: readonly number[], leaderLog: readonly number[]): number {
    let i = 0
    while (i < follower.length && follower[i] === leaderLog[i]) i++
    return new Set(follower.slice(i)).size
  }

  for (const [name, follower] of Object.entries(followers)) {
    it(`follower (${name}) ends with the leader's log after at most one rejection per divergent term plus one`, () => {
      const { sent, final } = syncFollower(follower)
      expect(final).toEqual([...leader, 8])
      const rejections = sent.filter((m) => m.type === 'appendEntriesResponse' && m.reject).length
      expect(rejections).toBeLessThanOrEqual(divergentTerms(follower, [...leader, 8]) + 1)
    })
  }

  it('follower (f): the conflict hint skips the entries of terms 2 and 3 in one round trip', () => {
    const { sent } = syncFollower(followers.f)
    expect(transcript(sent.filter((m) => m.to === 2 || m.from === 2))).toEqual([
      '1→2 appendEntries term=8 prev=(10,6) entries=[11@8] commit=0',
      '2→1 appendEntriesResponse term=8 reject index=10 hint=(10,3)',
      '1→2 appendEntries term=8 prev=(3,1) entries=[4@4,5@4,6@5,7@5,8@6,9@6,10@6,11@8] commit=0',
      '2→1 appendEntriesResponse term=8 index=11',
      '1→2 appendEntries term=8 prev=(11,8) entries=[] commit=11',
      '2→1 appendEntriesResponse term=8 index=11',
    ])
  })

  it('follower (d): the uncommitted entries of term 7 are truncated by the first AppendEntries', () => {
    const { sent } = syncFollower(followers.d)
    expect(transcript(sent.filter((m) => m.to === 2 || m.from === 2)).slice(0, 2)).toEqual([
      '1→2 appendEntries term=8 prev=(10,6) entries=[11@8] commit=0',
      '2→1 appendEntriesResponse term=8 index=11',
    ])
  })
})

describe('durability contract: a node promises only what its Ready makes durable', () => {
  it('a vote grant leaves in the same Ready as the hard state recording the vote, to be synced', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.deliver([requestVote(1, 2, 1, [0, 0])])
    const rd = c.node(2).ready()
    expect(transcript(rd.messages)).toEqual(['2→1 requestVoteResponse term=1 granted'])
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 })
    expect(rd.mustSync).toBe(true)
  })

  it("a candidate's vote requests leave in the same Ready as its new term and self-vote", () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.node(1).campaign()
    const rd = c.node(1).ready()
    expect(rd.messages.map((m) => m.type)).toEqual(['requestVote', 'requestVote'])
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 })
    expect(rd.mustSync).toBe(true)
  })

  it('an append acknowledgement leaves in the same Ready as the entries it acknowledges', () => {
    const c = cluster({ voters: [1, 2, 3], logs: { 2: { terms: [1], hardState: { term: 1 } } } })
    c.deliver([appendEntries(1, 2, 2, [1, 1], [normal(2, 2), normal(3, 2)], 1)])
    const rd = c.node(2).ready()
    expect(transcript(rd.messages)).toEqual(['2→1 appendEntriesResponse term=2 index=3'])
    expect(rd.entries.map((e) => `${e.index}@${e.term}`)).toEqual(['2@2', '3@2'])
    expect(rd.hardState).toEqual({ term: 2, vote: 0, commit: 1 })
    expect(rd.mustSync).toBe(true)
  })

  it('committed entries are handed out only once they were in the entries of the same or an earlier Ready', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    for (const s of ['a', 'b', 'c']) {
      c.node(1).propose(bytes(s))
      c.stabilize()
    }
    c.node(2).propose(bytes('ignored'))
    c.tick(1)
    c.stabilize()
    for (const id of [1, 2, 3]) {
      const handedOut = new Set<string>()
      for (const rd of c.get(id).readies) {
        for (const e of rd.entries) handedOut.add(`${e.index}@${e.term}`)
        for (const e of rd.committedEntries) {
          expect(handedOut.has(`${e.index}@${e.term}`), `node ${id} entry ${e.index}`).toBe(true)
        }
      }
      expect(c.get(id).applied.map((e) => e.index)).toEqual([1, 2, 3, 4])
    }
    expect(c.violations).toEqual([])
  })

  it('across an election with conflicts, no message promises more than storage holds', () => {
    const c = cluster({
      voters: [1, 2, 3],
      logs: {
        1: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], hardState: { term: 7 } },
        2: { terms: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], hardState: { term: 3 } },
        3: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], hardState: { term: 7 } },
      },
    })
    c.tickUntilLeader([1, 2, 3])
    for (const s of ['a', 'b']) {
      const leader = [1, 2, 3].find((id) => c.raft(id).role === 'leader')!
      c.node(leader).propose(bytes(s))
      c.stabilize()
    }
    expect(c.violations).toEqual([])
    const logs = [1, 2, 3].map((id) => termsOf(c.get(id).storage.allEntries()))
    expect(logs[1]).toEqual(logs[0])
    expect(logs[2]).toEqual(logs[0])
  })
})
