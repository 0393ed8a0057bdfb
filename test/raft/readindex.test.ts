// ReadIndex (dissertation §6.4): a linearizable read point without writing to the log. The
// leader records its commit index, confirms with a quorum of heartbeats that it still leads,
// and only then answers; a new leader first commits an entry of its own term.

import { describe, expect, it } from 'vitest'
import { bytes, cluster, isolate, transcript } from './support/scripted'

describe('§6.4 ReadIndex', () => {
  it('a new leader holds a read until it has committed an entry of its term, then answers it', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1, { hold: (m) => m.type === 'appendEntries' })
    expect(c.raft(1).log.committed).toBe(0)
    expect(c.node(1).readIndex('early')).toBe(true)
    // No heartbeat goes out for it, and no answer, while the no-op is uncommitted.
    expect(transcript(c.collect())).toEqual([])
    expect(c.get(1).readStates).toEqual([])

    c.release()
    const sent = c.stabilize()
    expect(
      transcript(sent.filter((m) => m.type === 'heartbeat' || m.type === 'heartbeatResponse')),
    ).toEqual([
      // Node 2's ack committed the no-op; node 3's was still on its way (its match was 0).
      '1→2 heartbeat term=1 commit=1 ctx=early',
      '1→3 heartbeat term=1 commit=0 ctx=early',
      '2→1 heartbeatResponse term=1 ctx=early',
      '3→1 heartbeatResponse term=1 ctx=early',
    ])
    expect(c.get(1).readStates).toEqual([{ index: 1, context: 'early' }])
  })

  it('a leader answers once a quorum acknowledged the heartbeat, with the commit index of the time of the request', () => {
    const c = cluster({ voters: [1, 2, 3, 4, 5] })
    c.elect(1)
    expect(c.node(1).readIndex('r1')).toBe(true)
    const heartbeats = c.collect([1])
    expect(transcript(heartbeats)).toEqual([
      '1→2 heartbeat term=1 commit=1 ctx=r1',
      '1→3 heartbeat term=1 commit=1 ctx=r1',
      '1→4 heartbeat term=1 commit=1 ctx=r1',
      '1→5 heartbeat term=1 commit=1 ctx=r1',
    ])
    // The commit index moves on before the heartbeats are answered.
    c.node(1).propose(bytes('w'))
    c.stabilize({ drop: (m) => m.type === 'heartbeat' })
    expect(c.raft(1).log.committed).toBe(2)

    c.deliver(heartbeats.filter((m) => m.to === 2))
    c.deliver(c.collect([2]))
    c.collect([1])
    expect(c.get(1).readStates).toEqual([])
    c.deliver(heartbeats.filter((m) => m.to === 3))
    c.deliver(c.collect([3]))
    c.collect([1])
    expect(c.get(1).readStates).toEqual([{ index: 1, context: 'r1' }])
  })

  it("a follower's read goes to the leader and comes back to it as a ReadState", () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    expect(c.node(2).readIndex('r2')).toBe(true)
    const sent = c.stabilize()
    expect(transcript(sent)).toEqual([
      '2→1 readIndex term=1 ctx=r2',
      '1→2 heartbeat term=1 commit=1 ctx=r2',
      '1→3 heartbeat term=1 commit=1 ctx=r2',
      '2→1 heartbeatResponse term=1 ctx=r2',
      '3→1 heartbeatResponse term=1 ctx=r2',
      '1→2 readIndexResponse term=1 index=1 ctx=r2',
    ])
    expect(c.get(2).readStates).toEqual([{ index: 1, context: 'r2' }])
    expect(c.get(1).readStates).toEqual([])
  })

  it('a leader that is cut off from the quorum does not answer', () => {
    const c = cluster({ voters: [1, 2, 3] })
    c.elect(1)
    c.node(1).readIndex('cut')
    c.stabilize({ drop: (m) => m.to === 1 })
    expect(c.get(1).readStates).toEqual([])
  })

  it('a single voter answers at once', () => {
    const c = cluster({ voters: [1] })
    c.node(1).campaign()
    c.collect()
    expect(c.raft(1).role).toBe('leader')
    expect(c.node(1).readIndex('solo')).toBe(true)
    const rd = c.node(1).ready()
    expect(rd.readStates).toEqual([{ index: 1, context: 'solo' }])
    expect(rd.messages).toEqual([])
  })

  it('a node that knows no leader refuses the read', () => {
    const c = cluster({ voters: [1, 2, 3] })
    expect(c.node(2).readIndex('nobody')).toBe(false)
    expect(c.collect()).toEqual([])

    c.elect(1)
    c.tickUntilLeader([2, 3], { drop: isolate(1) })
    c.tick(1, 30)
    c.collect([1])
    expect(c.raft(1).lead).toBe(0)
    expect(c.node(1).readIndex('deposed')).toBe(false)
  })
})
