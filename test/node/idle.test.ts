import { describe, expect, it } from 'vitest'
import {
  collected,
  compactingGc,
  newIdleTracker,
  shouldCollect,
  startIdleReclaimer,
  type IdlePolicy,
} from '../../src/main/node/idle'

const MB = 2 ** 20
const policy: IdlePolicy = { quietMs: 1500, minGrowthBytes: 32 * MB, minIntervalMs: 5000 }

describe('idle reclaimer policy', () => {
  it('collects once the node has been quiet for quietMs after growing', () => {
    const t = newIdleTracker({ progress: '1:1:0', rss: 60 * MB }, 0)
    expect(shouldCollect(t, { progress: '900:900:0', rss: 300 * MB }, 1000, policy)).toBe(false)
    expect(shouldCollect(t, { progress: '900:900:0', rss: 300 * MB }, 2000, policy)).toBe(false)
    expect(shouldCollect(t, { progress: '900:900:0', rss: 300 * MB }, 2500, policy)).toBe(true)
  })

  it('never collects while the node keeps making progress', () => {
    const t = newIdleTracker({ progress: '0', rss: 60 * MB }, 0)
    for (let now = 500; now <= 60_000; now += 500) {
      expect(shouldCollect(t, { progress: String(now), rss: 400 * MB }, now, policy)).toBe(false)
    }
  })

  it('does not collect a quiet node that has not grown', () => {
    const t = newIdleTracker({ progress: 'x', rss: 60 * MB }, 0)
    expect(shouldCollect(t, { progress: 'x', rss: 80 * MB }, 10_000, policy)).toBe(false)
  })

  it('measures growth from the smallest size seen since the last collection', () => {
    const t = newIdleTracker({ progress: 'a', rss: 200 * MB }, 0)
    collected(t, 180 * MB, 0)
    // Pages freed by the collection leave a little later: the floor follows them down.
    expect(shouldCollect(t, { progress: 'a', rss: 100 * MB }, 6000, policy)).toBe(false)
    expect(shouldCollect(t, { progress: 'b', rss: 140 * MB }, 7000, policy)).toBe(false)
    expect(shouldCollect(t, { progress: 'b', rss: 140 * MB }, 9000, policy)).toBe(true)
  })

  it('keeps collections at least minIntervalMs apart', () => {
    const t = newIdleTracker({ progress: 'a', rss: 60 * MB }, 0)
    expect(shouldCollect(t, { progress: 'a', rss: 200 * MB }, 2000, policy)).toBe(true)
    // Memory that stays (live data, or malloc's) would otherwise be collected on every poll.
    collected(t, 150 * MB, 2000)
    expect(shouldCollect(t, { progress: 'a', rss: 100 * MB }, 2500, policy)).toBe(false)
    expect(shouldCollect(t, { progress: 'a', rss: 200 * MB }, 4000, policy)).toBe(false)
    expect(shouldCollect(t, { progress: 'a', rss: 200 * MB }, 7000, policy)).toBe(true)
  })
})

describe('idle reclaimer', () => {
  it('gives back the pages a burst filled, without --expose-gc on the command line', async () => {
    const gc = compactingGc()
    // A burst like a node's: long-lived records with their buffers interleaved with short-lived
    // garbage, so that the live ones end up spread thinly over many old-space pages.
    const live = new Map<string, { v: string; rev: number; buf: Buffer }>()
    let junk: { a: string; b: number[] }[] = []
    for (let i = 0; i < 50_000; i++) {
      live.set(`mem/${i}`, { v: 'v'.repeat(100) + i, rev: i, buf: Buffer.from('x'.repeat(50)) })
      for (let j = 0; j < 10; j++) junk.push({ a: 'y'.repeat(100) + i + j, b: [i, j, i + j] })
      if (junk.length > 150_000) junk = []
    }
    junk = []
    await new Promise((r) => setTimeout(r, 500))
    const before = process.memoryUsage().heapTotal
    gc()
    const after = process.memoryUsage().heapTotal
    expect(live.size).toBe(50_000)
    // Measured: a plain gc() keeps about two thirds of the heap, compacting keeps under a third.
    expect(after).toBeLessThan(before * 0.5)
  })

  it('runs one collection once progress stops after growth, then leaves live memory alone', async () => {
    let progress = 0
    let rss = 60 * MB
    let collections = 0
    const r = startIdleReclaimer({
      progress: () => String(progress),
      rss: () => rss,
      gc: () => {
        collections++
        // What stays is live: it must not be collected again and again.
        rss = 120 * MB
      },
      policy: { quietMs: 100, minGrowthBytes: 32 * MB, minIntervalMs: 200 },
      pollMs: 20,
    })
    try {
      progress = 100_000
      rss = 300 * MB
      const deadline = Date.now() + 10_000
      while (collections === 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 20))
      }
      expect(collections).toBe(1)
      await new Promise((res) => setTimeout(res, 1000))
      expect(collections).toBe(1)
    } finally {
      r.stop()
    }
  })
})
