// The chaos runner must catch a node that breaks its promises. Each run starts the cluster's
// node processes with RAFTLAB_UNSAFE (src/main/node/grpc/unsafe.ts) and a nemesis that only
// isolates the leader, the fault both bugs need; the verdict must be a violation.

import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { chaosRun, parseChaosArgs } from '../../src/main/cli/chaos'
import { formatSummary } from '../../src/main/cluster/chaos/runner'
import { NODE_ENTRY, TEST_TIMING, tempWorkspace } from '../support/cluster'

async function brokenRun(mode: string, seed: number): Promise<void> {
  const out = join(await tempWorkspace(), 'evidence')
  try {
    const args = parseChaosArgs([
      '--seed',
      String(seed),
      '--duration',
      '15s',
      '--clients',
      '6',
      '--faults',
      'isolateLeader',
      // Long enough for the majority to elect a new leader and write past the isolated one.
      '--hold',
      '2s-4s',
      '--unsafe',
      mode,
      '--out',
      out,
      '--tick-ms',
      String(TEST_TIMING.tickMs),
    ])
    const r = await chaosRun(args, { nodeEntry: NODE_ENTRY })
    console.log(formatSummary(r))
    expect(r.verdict).toBe('violation')
    expect(r.injected).toBeGreaterThan(0)
    // The evidence a person needs: the history, the explanation and every node's log.
    expect(r.outDir).toBe(out)
    expect(existsSync(join(out, 'history.ndjson'))).toBe(true)
    expect(existsSync(join(out, 'verdict.txt'))).toBe(true)
    expect(existsSync(join(out, 'node-1.node.log'))).toBe(true)
    expect(process.env.RAFTLAB_UNSAFE).toBeUndefined()
  } finally {
    await rm(join(out, '..'), { recursive: true, force: true })
  }
}

describe('a deliberately broken node is caught', () => {
  it('acknowledging a write before it commits', { timeout: 150_000 }, async () => {
    await brokenRun('ack-before-commit', 21)
  })

  it(
    'serving linearizable reads from a deposed leader without ReadIndex',
    { timeout: 150_000 },
    async () => {
      await brokenRun('stale-read', 22)
    },
  )
})
