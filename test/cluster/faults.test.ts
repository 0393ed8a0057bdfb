// Network faults: the rules each node gets (pure), then real clusters: a leader isolated in a
// minority loses the cluster to a new leader and commits nothing more, and after healing every
// log agrees; link delay; pause and resume; faults re-applied to a node that restarts.

import { describe, expect, it } from 'vitest'
import {
  isolationOf,
  NO_FAULTS,
  partitionOf,
  rulesFor,
  withLinkFault,
  withNewNode,
} from '../../src/main/cluster/faults'
import { eventually } from '../support/cluster'
import { leaderOf, nodeOf, serviceScope } from '../support/service'

describe('fault rules', () => {
  const known = [1, 2, 3, 4, 5]

  it('puts unlisted nodes in one more group and blocks both sides across groups', () => {
    const groups = partitionOf([[1, 2]], known)
    expect(groups).toEqual([
      [1, 2],
      [3, 4, 5],
    ])
    const state = { ...NO_FAULTS, partitions: groups }
    const r1 = rulesFor(state, 1, known)
    expect(r1.map((r) => r.peer)).toEqual([3, 4, 5])
    expect(r1[0]).toMatchObject({ out: { blocked: true }, in: { blocked: true } })
    expect(rulesFor(state, 4, known).map((r) => r.peer)).toEqual([1, 2])
  })

  it('refuses unknown nodes and a node in two groups, and treats one group as no partition', () => {
    expect(() => partitionOf([[1], [1, 2]], known)).toThrow(/node 1 is in more than one/)
    expect(() => partitionOf([[9]], known)).toThrow(/node 9 is not part of this cluster/)
    expect(partitionOf([known], known)).toEqual([])
    expect(isolationOf(3, known)).toEqual([[3], [1, 2, 4, 5]])
  })

  it('places a node added during a partition in the last group', () => {
    const state = { ...NO_FAULTS, partitions: partitionOf([[1]], known) }
    // Node 6 joins: before it is listed it is already cut off from node 1 only.
    expect(rulesFor(state, 6, [...known, 6]).map((r) => r.peer)).toEqual([1])
    expect(withNewNode(state, 6).partitions).toEqual([[1], [2, 3, 4, 5, 6]])
    expect(withNewNode(NO_FAULTS, 6)).toBe(NO_FAULTS)
  })

  it('sets a link fault on the sender side, both directions by default, and clears it', () => {
    const one = withLinkFault(NO_FAULTS, { from: 1, to: 2, delayMs: 50, both: false }, known)
    expect(one.links).toEqual([{ from: 1, to: 2, drop: 0, delayMs: 50 }])
    expect(rulesFor(one, 1, known)).toEqual([
      { peer: 2, out: { drop: 0, delayMs: 50, blocked: false }, in: { blocked: false } },
    ])
    expect(rulesFor(one, 2, known)).toEqual([])
    const both = withLinkFault(NO_FAULTS, { from: 1, to: 2, drop: 0.5 }, known)
    expect(both.links.map((l) => [l.from, l.to])).toEqual([
      [1, 2],
      [2, 1],
    ])
    expect(withLinkFault(both, { from: 2, to: 1, drop: 0 }, known).links).toEqual([])
    expect(() => withLinkFault(NO_FAULTS, { from: 2, to: 2, drop: 1 }, known)).toThrow(
      /from and to are both 2/,
    )
  })
})

const { cluster, client } = serviceScope()

describe('faults on a real cluster', { timeout: 120_000 }, () => {
  it('isolates the leader: the majority elects another, the old one commits nothing, heal converges', async () => {
    const s = await cluster(3)
    const before = await s.status()
    const old = before.leader ?? 0
    const oldClient = nodeOf(before, old).client
    await client(oldClient).put('before').value('1')

    const faults = await s.isolate(old)
    expect(faults.partitions).toEqual([[old], [1, 2, 3].filter((id) => id !== old)])
    const next = await leaderOf(s, old)
    const oldCommit = nodeOf(await s.status(), old).raft?.commit ?? 0

    // The majority keeps committing; a write sent to the old leader never commits.
    const nextClient = nodeOf(await s.status(), next).client
    for (let i = 0; i < 5; i++) await client(nextClient).put(`during/${i}`).value(`${i}`)
    await expect(client(oldClient).put('lost').value('x')).rejects.toThrow()
    const isolated = nodeOf(await s.status(), old).raft
    expect(isolated?.commit).toBe(oldCommit)

    const healed = await s.heal()
    expect(healed).toEqual({ partitions: [], links: [], paused: [] })
    await eventually(async () => {
      const st = await s.status()
      const last = st.nodes.map((n) => n.raft?.lastIndex)
      const commits = st.nodes.map((n) => n.raft?.commit)
      expect(new Set(last).size).toBe(1)
      expect(new Set(commits).size).toBe(1)
      const cmp = await s.compareLogs({})
      expect(cmp.rows.length).toBeGreaterThan(0)
      expect(cmp.rows.filter((r) => r.diverges)).toEqual([])
    }, 20_000)
    // The old leader's uncommitted write is gone everywhere; the majority's writes are there.
    expect(await client(oldClient).get('lost').serializable(true).string()).toBeNull()
    expect(await client(oldClient).get('during/4').serializable(true).string()).toBe('4')
    const kinds = (await s.events({ kinds: ['faultChanged'] })).map((e) => e.message)
    expect(kinds[0]).toMatch(/isolate node/)
    expect(kinds.at(-1)).toMatch(/heal: network whole/)
  })

  it('a write through a follower waits out a stalled leadership transfer instead of failing', async () => {
    const s = await cluster(3)
    const leader = (await s.status()).leader ?? 0
    const [target, via] = [1, 2, 3].filter((id) => id !== leader)
    if (target === undefined || via === undefined) throw new Error('no followers')
    // The target never hears from the leader, so the transfer hangs until the leader gives it up
    // an election timeout later; meanwhile the leader refuses every proposal.
    await s.setLinkFault({ from: leader, to: target, drop: 1, both: false })
    const moving = s.transferLeadership(target).then(
      () => 'moved',
      (e: unknown) => (e as Error).message,
    )
    await new Promise((r) => setTimeout(r, 40))
    const viaClient = client(nodeOf(await s.status(), via).client)
    const writes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => viaClient.put(`during-transfer/${i}`).value(`${i}`)),
    )
    expect(writes.map((w) => (w.status === 'rejected' ? String(w.reason) : 'ok'))).toEqual(
      Array(5).fill('ok'),
    )
    await s.setLinkFault({ from: leader, to: target })
    // The hung transfer either gave up or, once the link was back, went through.
    expect(await moving).toMatch(/moved|did not move/)
  })

  it('a transfer to a node the leader cannot reach is given up, and the error says why', async () => {
    const s = await cluster(3)
    const leader = (await s.status()).leader ?? 0
    const target = [1, 2, 3].find((id) => id !== leader) ?? 0
    await s.setLinkFault({ from: leader, to: target, drop: 1, both: false })
    await expect(s.transferLeadership(target)).rejects.toThrow(
      `leadership did not move to node ${target}: node ${leader}: etcdserver: request timed out, leader transfer took too long`,
    )
    expect((await s.status()).leader).toBe(leader)
    await s.setLinkFault({ from: leader, to: target })
  })

  it('pauses and resumes a node, and heal resumes paused nodes', async () => {
    const s = await cluster(3)
    const leader = (await s.status()).leader ?? 0
    const paused = await s.pauseNode(leader)
    expect(paused.process).toBe('paused')
    expect((await s.status()).faults.paused).toEqual([leader])
    // A frozen leader is replaced.
    await leaderOf(s, leader)
    const resumed = await s.resumeNode(leader)
    expect(resumed.process).toBe('running')
    await s.pauseNode(leader)
    await s.heal()
    const st = await s.status()
    expect(nodeOf(st, leader).process).toBe('running')
    expect(st.faults.paused).toEqual([])
    const kinds = (await s.events({ node: leader })).map((e) => e.kind)
    expect(kinds).toContain('nodePaused')
    expect(kinds).toContain('nodeResumed')
    // It answers again once resumed: it follows the current leader.
    await eventually(async () => {
      const s2 = await s.status()
      expect(nodeOf(s2, leader).raft?.leader).toBe(s2.leader)
    }, 15_000)
  })

  it('re-applies a partition to a node that restarts, and adds link delay', async () => {
    const s = await cluster(3)
    const leader = (await s.status()).leader ?? 0
    const other = [1, 2, 3].find((id) => id !== leader) ?? 0
    await s.partition([[other]])
    await s.restartNode(other)
    // Still cut off after its restart: it never learns of a leader.
    await new Promise((r) => setTimeout(r, 2000))
    expect(nodeOf(await s.status(), other).raft?.leader).toBe(0)
    await s.heal()
    await eventually(async () => {
      const st = await s.status()
      expect(nodeOf(st, other).raft?.leader).toBe(st.leader)
    }, 15_000)

    const f = await s.setLinkFault({ from: leader, to: other, delayMs: 300 })
    expect(f.links).toHaveLength(2)
    expect(f.links[0]).toMatchObject({ delayMs: 300, drop: 0, blocked: false })
    await expect(s.setLinkFault({ from: leader, to: 9, drop: 1 })).rejects.toThrow(
      /node 9 is not part/,
    )
    await expect(s.partition([[1], [1]])).rejects.toThrow(/more than one/)
    const off = await s.setLinkFault({ from: leader, to: other })
    expect(off.links).toEqual([])
  })
})
