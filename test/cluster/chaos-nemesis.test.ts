// The nemesis's schedule, on a stand-in cluster that only records what it is asked (the real
// faults are exercised by chaos.test.ts on real processes): a seed decides the schedule, and
// each round deals every kind of fault once.

import { describe, expect, it } from 'vitest'
import type { ClusterStatus, FaultsView, NodeView } from '../../src/shared/api'
import { FAULT_KINDS, Nemesis, type NemesisApi } from '../../src/main/cluster/chaos/nemesis'

const NO_FAULTS: FaultsView = { partitions: [], links: [], paused: [] }

function fakeCluster(): { api: NemesisApi; calls: string[] } {
  const calls: string[] = []
  let nextId = 6
  const node = (id: number): NodeView => ({
    id,
    name: `node-${id}`,
    client: `127.0.0.1:${2000 + id}`,
    peer: `127.0.0.1:${3000 + id}`,
    process: 'running',
    pid: 100 + id,
    member: 'voter',
    raft: {
      role: id === 1 ? 'leader' : 'follower',
      term: 2,
      leader: 1,
      commit: 10,
      applied: 10,
      lastIndex: 10,
      snapshotIndex: 0,
      voters: [1, 2, 3, 4, 5],
      learners: [],
      revision: 5,
    },
    lastExit: null,
  })
  const status = (): ClusterStatus => ({
    workspace: '/nowhere',
    exists: true,
    name: 'fake',
    nodes: [1, 2, 3, 4, 5].map(node),
    leader: 1,
    term: 2,
    faults: NO_FAULTS,
    timing: { tickMs: 20, electionTicks: 10, heartbeatTicks: 2, snapshotCount: 100, slowMotion: 1 },
    pendingChange: null,
  })
  const record =
    <A extends unknown[], R>(name: string, result: () => R) =>
    (...args: A): Promise<R> => {
      calls.push(`${name} ${JSON.stringify(args)}`)
      return Promise.resolve(result())
    }
  const api: NemesisApi = {
    status: () => Promise.resolve(status()),
    killNode: record('killNode', () => node(1)),
    restartNode: record('restartNode', () => node(1)),
    startNode: record('startNode', () => node(1)),
    pauseNode: record('pauseNode', () => node(1)),
    resumeNode: record('resumeNode', () => node(1)),
    partition: record('partition', () => NO_FAULTS),
    isolate: record('isolate', () => NO_FAULTS),
    setLinkFault: record('setLinkFault', () => NO_FAULTS),
    heal: record('heal', () => NO_FAULTS),
    removeNode: record('removeNode', status),
    addNode: record('addNode', () => node(nextId++)),
    transferLeadership: record('transferLeadership', status),
  }
  return { api, calls }
}

async function schedule(
  seed: number,
  strikes: number,
): Promise<{ nemesis: Nemesis; calls: string[] }> {
  const { api, calls } = fakeCluster()
  const nemesis = new Nemesis(api, { seed, quietMs: [1, 2], holdMs: [1, 2] })
  const stop = new AbortController()
  const running = nemesis.run(stop.signal)
  while (nemesis.faults.length < strikes) await new Promise((r) => setTimeout(r, 2))
  stop.abort()
  await running
  return { nemesis, calls }
}

describe('the nemesis schedule', () => {
  it('deals every kind of fault once per round', async () => {
    const { nemesis } = await schedule(5, 2 * FAULT_KINDS.length)
    const round1 = nemesis.faults.slice(0, FAULT_KINDS.length).map((f) => f.kind)
    const round2 = nemesis.faults
      .slice(FAULT_KINDS.length, 2 * FAULT_KINDS.length)
      .map((f) => f.kind)
    expect([...round1].sort()).toEqual([...FAULT_KINDS].sort())
    expect([...round2].sort()).toEqual([...FAULT_KINDS].sort())
    expect(nemesis.faults.every((f) => f.error === undefined)).toBe(true)
  })

  it('replays the same schedule from the same seed, another from another seed', async () => {
    const a = await schedule(7, 12)
    const b = await schedule(7, 12)
    const c = await schedule(8, 12)
    const head = (calls: string[]): string[] => calls.slice(0, 30)
    expect(head(a.calls)).toEqual(head(b.calls))
    expect(head(a.calls)).not.toEqual(head(c.calls))
  })

  it('repairs what it strikes: every kill is restarted, every pause resumed, every cut healed', async () => {
    const { nemesis, calls } = await schedule(9, 3 * FAULT_KINDS.length)
    const count = (prefix: string): number => calls.filter((c) => c.startsWith(prefix)).length
    expect(count('restartNode')).toBe(count('killNode'))
    expect(count('resumeNode')).toBe(count('pauseNode'))
    expect(count('addNode')).toBe(count('removeNode'))
    expect(count('heal')).toBeGreaterThanOrEqual(count('isolate') + count('partition'))
    // A bridge cuts only the links between its two sides: on five nodes, 2 × 2 links.
    const cuts = calls.filter((c) => c.startsWith('setLinkFault') && c.includes('"drop":1'))
    const bridges = nemesis.faults.filter((f) => f.kind === 'bridge').length
    expect(bridges).toBeGreaterThan(0)
    expect(cuts).toHaveLength(4 * bridges)
  })
})
