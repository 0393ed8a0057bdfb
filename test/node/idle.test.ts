import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  newIdleTracker,
  nextMode,
  startIdleWatcher,
  type IdlePolicy,
  type MemoryMode,
} from '../../src/main/node/idle'

const policy: IdlePolicy = { quietMs: 1500 }

describe('idle memory policy', () => {
  it('favours memory once the node has been quiet for quietMs, once', () => {
    const t = newIdleTracker('1:1:0', 0)
    expect(nextMode(t, '900:900:0', 1000, policy)).toBeUndefined()
    expect(nextMode(t, '900:900:0', 2000, policy)).toBeUndefined()
    expect(nextMode(t, '900:900:0', 2500, policy)).toBe('memory')
    expect(nextMode(t, '900:900:0', 9000, policy)).toBeUndefined()
  })

  it('goes back to speed at the first sign of work', () => {
    const t = newIdleTracker('a', 0)
    expect(nextMode(t, 'a', 2000, policy)).toBe('memory')
    expect(nextMode(t, 'b', 2100, policy)).toBe('speed')
    expect(nextMode(t, 'c', 2200, policy)).toBeUndefined()
    expect(nextMode(t, 'c', 3000, policy)).toBeUndefined()
    expect(nextMode(t, 'c', 3700, policy)).toBe('memory')
  })

  it('never favours memory while the node keeps making progress', () => {
    const t = newIdleTracker('0', 0)
    for (let now = 250; now <= 60_000; now += 250) {
      expect(nextMode(t, String(now), now, policy)).toBeUndefined()
    }
  })

  it('the watcher switches as progress stops and starts', async () => {
    let progress = 0
    const modes: MemoryMode[] = []
    const w = startIdleWatcher({
      progress: () => String(progress),
      setMode: (m) => modes.push(m),
      policy: { quietMs: 100 },
      pollMs: 20,
    })
    try {
      await expect.poll(() => modes, { timeout: 5000 }).toEqual(['memory'])
      progress++
      await expect.poll(() => modes, { timeout: 5000 }).toEqual(['memory', 'speed'])
      await expect.poll(() => modes, { timeout: 5000 }).toEqual(['memory', 'speed', 'memory'])
    } finally {
      w.stop()
    }
  })
})

// A burst like a node's, in a process of its own (V8 flags are per process): long-lived records
// interleaved with short-lived garbage, so that the live ones end up spread over many pages.
// Then the process goes quiet in the given mode and reports its heap size as it goes.
const BURST = `
const { setV8MemoryMode } = require(process.env.IDLE_MODULE)
const live = new Map()
let junk = []
for (let i = 0; i < 50000; i++) {
  live.set('mem/' + i, { v: 'v'.repeat(100) + i, rev: i, buf: Buffer.from('x'.repeat(50)) })
  for (let j = 0; j < 10; j++) junk.push({ a: 'y'.repeat(100) + i + j, b: [i, j, i + j] })
  if (junk.length > 150000) junk = []
}
junk = []
const peak = process.memoryUsage().heapTotal
if (process.env.MODE === 'memory') setV8MemoryMode('memory')
const started = Date.now()
const t = setInterval(() => {
  // A quiet node still ticks: a little allocation, as heartbeats make.
  const tick = Array.from({ length: 50 }, (_, k) => ({ k }))
  const now = process.memoryUsage().heapTotal
  if (now < peak / 2 || Date.now() - started > 15000) {
    clearInterval(t)
    process.stdout.write(JSON.stringify({ peak, now, live: live.size, tick: tick.length }))
  }
}, 100)
`

function quietHeap(mode: MemoryMode): Promise<{ peak: number; now: number; live: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', BURST], {
      env: {
        ...process.env,
        MODE: mode,
        IDLE_MODULE: join(import.meta.dirname, '../../src/main/node/idle.ts'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`burst exited ${code}`)),
    )
  })
}

describe('memory mode in V8', () => {
  it('a quiet process favouring memory gives back most of the heap a burst left', async () => {
    const r = await quietHeap('memory')
    expect(r.live).toBe(50_000)
    expect(r.now).toBeLessThan(r.peak / 2)
  }, 30_000)
})
