// ClusterService as the GUI and the CLI use it: an empty workspace, creating a cluster,
// timing on a running cluster (slow motion, snapshot threshold), status pushes, reopening
// (same cluster, the nodes that ran restart, events continue), replacing and destroying.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Etcd3 } from 'etcd3'
import { describe, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/shared/api'
import type { ClusterService } from '../../src/main/cluster/service'
import { dataDirOf, readClusterFile } from '../../src/main/cluster/workspace'
import { eventually, TEST_TIMING } from '../support/cluster'
import { nodeOf, serviceScope } from '../support/service'

// Opened as the browser host opens it, which appInfo must report.
const scope = serviceScope()
const { workspace, close } = scope
const open = (w: string): Promise<ClusterService> => scope.open(w, 'browser')
const client = (st: ClusterStatus, id: number): Etcd3 => scope.client(nodeOf(st, id).client)

describe('ClusterService', { timeout: 120_000 }, () => {
  it('opens an empty workspace and refuses bad or conflicting cluster settings', async () => {
    const s = await open(await workspace())
    expect(await s.appInfo()).toMatchObject({ name: 'RaftLab', host: 'browser' })
    const empty = await s.status()
    expect(empty).toMatchObject({ exists: false, nodes: [], leader: null, pendingChange: null })
    await expect(s.startAll()).rejects.toThrow(/has no cluster yet: create one first/)
    await expect(s.createCluster({ nodes: 8 })).rejects.toThrow(/createCluster: argument 0\.nodes/)
    await expect(s.createCluster({ nodes: 1, timing: { heartbeatTicks: 12 } })).rejects.toThrow(
      /electionTicks \(10\) must be greater than heartbeatTicks \(12\)/,
    )
    await expect(s.setTiming({ tickMs: 0 })).rejects.toThrow(/setTiming: argument 0\.tickMs/)

    const one = await s.createCluster({ nodes: 1, name: 'solo', timing: TEST_TIMING })
    expect(one).toMatchObject({ exists: true, name: 'solo', leader: 1 })
    await expect(s.createCluster({ nodes: 3 })).rejects.toThrow(/already holds cluster "solo"/)

    const three = await s.createCluster({ nodes: 3, replace: true, timing: TEST_TIMING })
    expect(three.nodes.map((n) => n.id)).toEqual([1, 2, 3])
    expect(three.leader).not.toBeNull()
    await s.destroyCluster()
    expect((await s.status()).exists).toBe(false)
    expect(await readClusterFile(s.workspace)).toBeUndefined()
  })

  it('changes timing on a running cluster and pushes coalesced status', async () => {
    const s = await open(await workspace())
    const statuses: ClusterStatus[] = []
    s.on('status', (st) => statuses.push(st))
    const st = await s.createCluster({ nodes: 3, timing: { ...TEST_TIMING, snapshotCount: 1000 } })
    const leader = st.leader ?? 0

    const timing = await s.setTiming({ slowMotion: 2, snapshotCount: 20 })
    expect(timing).toEqual({
      tickMs: TEST_TIMING.tickMs,
      electionTicks: 10,
      heartbeatTicks: 2,
      snapshotCount: 20,
      slowMotion: 2,
    })
    expect((await readClusterFile(s.workspace))?.slowMotion).toBe(2)
    // The nodes run with the stretched tick.
    const log = await readFile(join(dataDirOf(s.workspace, leader), 'node.log'), 'utf8')
    expect(log).toMatch(new RegExp(`"timing changed".*"tickMs":${TEST_TIMING.tickMs * 2}`))
    // And snapshot at the new threshold.
    const c = client(st, leader)
    for (let i = 0; i < 30; i++) await c.put(`k${i}`).value(String(i))
    await eventually(async () => {
      const snaps = await s.events({ kinds: ['snapshotTaken'] })
      expect(snaps.length).toBeGreaterThan(0)
    }, 15_000)
    expect((await s.events({ kinds: ['timingChanged'] })).at(-1)?.data).toMatchObject({
      slowMotion: 2,
      snapshotCount: 20,
    })
    await expect(s.setTiming({ electionTicks: 2 })).rejects.toThrow(
      /electionTicks \(2\) must be greater than heartbeatTicks \(2\)/,
    )
    // Many changes, few pushes: coalesced, and the last one is current.
    expect(statuses.length).toBeGreaterThan(0)
    const events = await s.events({})
    expect(statuses.length).toBeLessThan(events.length)
    await eventually(async () => {
      expect(statuses.at(-1)?.timing.slowMotion).toBe(2)
    })
  })

  it('reopens the workspace: same cluster, the nodes that ran restart, events continue', async () => {
    const w = await workspace()
    const s = await open(w)
    const st = await s.createCluster({ nodes: 3, timing: TEST_TIMING })
    await client(st, st.leader ?? 0)
      .put('survives')
      .value('reopen')
    await s.stopNode(3)
    const lastSeq = (await s.events({})).at(-1)?.seq ?? 0
    await close(s)

    const again = await open(w)
    const back = await again.status()
    expect(back.nodes.map((n) => [n.id, n.process])).toEqual([
      [1, 'running'],
      [2, 'running'],
      [3, 'stopped'],
    ])
    expect(back.nodes.map((n) => n.client)).toEqual(st.nodes.map((n) => n.client))
    const leader = await eventually(async () => {
      const l = (await again.status()).leader
      if (l === null) throw new Error('no leader yet')
      return l
    }, 15_000)
    expect(await client(back, leader).get('survives').string()).toBe('reopen')
    const events = await again.events({ after: lastSeq })
    expect(events[0]?.seq).toBe(lastSeq + 1)
    expect(
      events
        .filter((e) => e.kind === 'nodeStarted')
        .map((e) => e.node)
        .sort(),
    ).toEqual([1, 2])
  })
})
