// The event stream: strictly increasing numbers that continue across reopening, a bounded
// ring, filters, and events.ndjson on disk; then the events a real cluster produces.

import { appendFile, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { ClusterEvent } from '../../src/shared/api'
import { EventLog, eventsFilePath } from '../../src/main/cluster/events'
import { eventually, TEST_TIMING } from '../support/cluster'
import { serviceScope } from '../support/service'

const { workspace, open, close } = serviceScope()

async function fileEvents(w: string): Promise<ClusterEvent[]> {
  const text = await readFile(eventsFilePath(w), 'utf8')
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ClusterEvent)
}

describe('EventLog', () => {
  it('numbers events strictly upwards and keeps numbering after a reopen', async () => {
    const w = await workspace()
    const a = await EventLog.open(w)
    for (let i = 0; i < 5; i++) a.emit({ kind: 'faultChanged', message: `change ${i}` })
    await a.flush()
    const b = await EventLog.open(w)
    expect(b.lastSeq).toBe(5)
    const e = b.emit({ kind: 'error', node: 2, message: 'after reopen' })
    expect(e.seq).toBe(6)
    await b.flush()
    const onDisk = await fileEvents(w)
    expect(onDisk.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect(onDisk[5]).toMatchObject({ kind: 'error', node: 2, message: 'after reopen' })
    // The reopened ring serves what the earlier run wrote.
    expect(b.query({ after: 3 }).map((x) => x.seq)).toEqual([4, 5, 6])
  })

  it('skips a torn last line and continues from the last whole event', async () => {
    const w = await workspace()
    const a = await EventLog.open(w)
    a.emit({ kind: 'faultChanged', message: 'one' })
    a.emit({ kind: 'faultChanged', message: 'two' })
    await a.flush()
    await appendFile(eventsFilePath(w), '{"seq":3,"at":1,"kind":"err')
    const b = await EventLog.open(w)
    expect(b.lastSeq).toBe(2)
  })

  it('keeps a bounded ring and filters by seq, kind and node', async () => {
    const w = await workspace()
    const log = await EventLog.open(w, 10)
    for (let i = 1; i <= 25; i++) {
      log.emit({ kind: i % 2 === 0 ? 'nodeStarted' : 'nodeExited', node: i % 3, message: `${i}` })
    }
    const all = log.query({})
    expect(all.map((e) => e.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    expect(log.query({ kinds: ['nodeStarted'] }).every((e) => e.kind === 'nodeStarted')).toBe(true)
    expect(log.query({ node: 1 }).map((e) => e.seq)).toEqual([16, 19, 22, 25])
    expect(log.query({ after: 23 }).map((e) => e.seq)).toEqual([24, 25])
    expect(log.query({ limit: 2 }).map((e) => e.seq)).toEqual([24, 25])
    await log.flush()
    // The file keeps everything the ring let go of.
    expect((await fileEvents(w)).length).toBe(25)
  })
})

describe('events of a real cluster', { timeout: 120_000 }, () => {
  it('streams creation, starts, the election and a kill in order, and persists them', async () => {
    const w = await workspace()
    const service = await open(w)
    const pushed: ClusterEvent[] = []
    service.on('event', (e) => pushed.push(e))
    const created = await service.createCluster({ nodes: 3, timing: TEST_TIMING })
    expect(created.leader).not.toBeNull()
    const leader = created.leader ?? 0
    await service.killNode(leader)
    const events = await service.events({})
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    const kinds = events.map((e) => e.kind)
    expect(kinds[0]).toBe('clusterCreated')
    expect(kinds.filter((k) => k === 'nodeStarted').length).toBe(3)
    const elected = events.find((e) => e.kind === 'leaderElected')
    expect(elected?.node).toBe(leader)
    expect(events.some((e) => e.kind === 'termChanged')).toBe(true)
    expect(events.some((e) => e.kind === 'roleChanged' && e.node === leader)).toBe(true)
    const killed = events.find((e) => e.kind === 'nodeKilled')
    expect(killed).toMatchObject({ node: leader, data: { signal: 'SIGKILL', cause: 'kill' } })
    expect((killed?.data.lastLines as string[]).length).toBeGreaterThan(0)
    // Every event was also pushed to subscribers, in the same order.
    expect(pushed.map((e) => e.seq)).toEqual(seqs)
    await close(service)
    const onDisk = await fileEvents(w)
    expect(onDisk.map((e) => e.seq).slice(0, seqs.length)).toEqual(seqs)
  })

  it('turns writes seen through Watch into keyChanged events', async () => {
    const s = await open(await workspace())
    await s.createCluster({ nodes: 3, timing: TEST_TIMING })
    const put = await eventually(() => s.putKey({ key: '/watched/a', value: 'one' }), 15_000)
    await s.deleteKey({ key: '/watched/a' })
    const changes = await eventually(async () => {
      const k = await s.events({ kinds: ['keyChanged'] })
      if (k.length < 2) throw new Error(`only ${k.length} keyChanged events`)
      return k
    }, 15_000)
    expect(changes[0]?.data).toEqual({ key: '/watched/a', type: 'put', modRevision: put.revision })
    expect(changes[1]?.data).toMatchObject({ key: '/watched/a', type: 'delete' })
  })
})
