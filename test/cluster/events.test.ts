// The event stream: strictly increasing numbers that continue across reopening, a bounded
// ring, filters, pages and counts over the whole of events.ndjson, clearing it; then the events
// a real cluster produces, and what destroying it leaves.

import { appendFile, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { ClusterEvent, EventQuery } from '../../src/shared/api'
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
    expect((await b.query({ after: 3 })).map((x) => x.seq)).toEqual([4, 5, 6])
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
    const seqs = async (q: EventQuery): Promise<number[]> => (await log.query(q)).map((e) => e.seq)
    expect(await seqs({ limit: 10 })).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    const started = await log.query({ kinds: ['nodeStarted'] })
    expect(started.every((e) => e.kind === 'nodeStarted')).toBe(true)
    expect(await seqs({ node: 1, after: 15 })).toEqual([16, 19, 22, 25])
    expect(await seqs({ after: 23 })).toEqual([24, 25])
    expect(await seqs({ limit: 2 })).toEqual([24, 25])
    await log.flush()
    // The file keeps everything the ring let go of.
    expect((await fileEvents(w)).length).toBe(25)
  })

  it('answers from the whole file, not only the ring: filters, pages and counts', async () => {
    const w = await workspace()
    const log = await EventLog.open(w, 10)
    // Two kills, then a flood of key changes that pushes them far out of the ring.
    log.emit({ kind: 'nodeKilled', node: 2, message: 'node 2 killed (SIGKILL)' })
    log.emit({ kind: 'nodeKilled', node: 3, message: 'node 3 killed (SIGKILL)' })
    for (let i = 0; i < 3000; i++) {
      log.emit({ kind: 'keyChanged', node: 1, message: `put /k/${i} at revision ${i + 2}` })
    }
    log.emit({ kind: 'faultChanged', message: 'healed: ünïcode survives the chunks' })

    const killed = await log.query({ kinds: ['nodeKilled'] })
    expect(killed.map((e) => [e.seq, e.node])).toEqual([
      [1, 2],
      [2, 3],
    ])
    expect((await log.query({ node: 3 })).map((e) => e.seq)).toEqual([2])
    expect((await log.query({ text: 'NODE 2 KILLED' })).map((e) => e.seq)).toEqual([1])

    // Paging back with `before` walks the whole history once, without gaps or doubles.
    const walked: number[] = []
    let before: number | undefined
    for (;;) {
      const page = await log.query({ limit: 700, ...(before !== undefined ? { before } : {}) })
      if (page.length === 0) break
      walked.unshift(...page.map((e) => e.seq))
      before = page[0]?.seq
    }
    expect(walked).toEqual(Array.from({ length: 3003 }, (_, i) => i + 1))
    expect((await log.query({ before: 3, after: 1 })).map((e) => e.seq)).toEqual([2])

    const counts = await log.countEvents({})
    expect(counts).toEqual({
      kinds: { nodeKilled: 2, keyChanged: 3000, faultChanged: 1 },
      all: 3003,
      nodes: [1, 2, 3],
      lastSeq: 3003,
    })
    expect((await log.countEvents({ node: 2 })).kinds).toEqual({ nodeKilled: 1 })
    const killedText = await log.countEvents({ text: 'killed' })
    expect(killedText.kinds).toEqual({ nodeKilled: 2 })
    expect(killedText.all).toBe(3003)
    // Counts stay true as events come in, and after a reopen.
    log.emit({ kind: 'nodeKilled', node: 1, message: 'node 1 killed (SIGKILL)' })
    expect((await log.countEvents({})).kinds.nodeKilled).toBe(3)
    await log.flush()
    const reopened = await EventLog.open(w, 10)
    expect((await reopened.countEvents({})).kinds).toEqual({
      nodeKilled: 3,
      keyChanged: 3000,
      faultChanged: 1,
    })
    expect((await reopened.query({ kinds: ['nodeKilled'] })).map((e) => e.seq)).toEqual([
      1, 2, 3004,
    ])
  })

  it('clears the history but keeps numbering, even with appends still queued', async () => {
    const w = await workspace()
    const log = await EventLog.open(w, 10)
    for (let i = 0; i < 30; i++) log.emit({ kind: 'nodeStarted', node: 1, message: `old ${i}` })
    await log.countEvents({})
    // Not yet on disk when the history is cleared: these must not come back.
    log.emit({ kind: 'nodeKilled', node: 3, message: 'old node 3 killed' })
    const boundary = log.clear({ kind: 'clusterDestroyed', message: 'cluster "a" destroyed' })
    expect(boundary.seq).toBe(32)
    log.emit({ kind: 'clusterCreated', message: 'cluster "b" created' })
    await log.flush()
    expect((await fileEvents(w)).map((e) => [e.seq, e.kind])).toEqual([
      [32, 'clusterDestroyed'],
      [33, 'clusterCreated'],
    ])
    expect((await log.query({})).map((e) => e.seq)).toEqual([32, 33])
    expect((await log.query({ kinds: ['nodeKilled'] })).length).toBe(0)
    expect(await log.countEvents({})).toMatchObject({
      kinds: { clusterDestroyed: 1, clusterCreated: 1 },
      all: 2,
      nodes: [],
    })
    const reopened = await EventLog.open(w)
    expect(reopened.lastSeq).toBe(33)
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

  it("deletes a destroyed cluster's events and starts the next history at a boundary", async () => {
    const w = await workspace()
    const s = await open(w)
    await s.createCluster({ nodes: 1, name: 'old', timing: TEST_TIMING })
    await s.killNode(1)
    const lastOld = (await s.events({})).at(-1)?.seq ?? 0
    const pushed: ClusterEvent[] = []
    s.on('event', (e) => pushed.push(e))
    await s.destroyCluster()
    await s.createCluster({ nodes: 1, name: 'new', timing: TEST_TIMING })
    const events = await s.events({})
    expect(events[0]).toMatchObject({ kind: 'clusterDestroyed', data: { name: 'old' } })
    expect(events[0]?.seq).toBeGreaterThan(lastOld)
    expect(events[1]).toMatchObject({ kind: 'clusterCreated', data: { name: 'new' } })
    expect(events.some((e) => e.kind === 'nodeKilled')).toBe(false)
    expect(pushed.map((e) => e.kind)).toContain('clusterDestroyed')
    expect((await s.eventCounts({})).kinds.nodeKilled).toBeUndefined()
    await close(s)
    expect((await fileEvents(w)).map((e) => e.kind).slice(0, 2)).toEqual([
      'clusterDestroyed',
      'clusterCreated',
    ])
  })
})
