// Short seeded chaos runs on real node processes: the workload and the nemesis against a fresh
// cluster, then the verdict. Each run must come out linearizable and converged, with faults
// actually struck. The seeds and fault sets are fixed so a failure replays with
// `raftlab chaos --seed S --faults ...`.

import { describe, expect, it } from 'vitest'
import { chaosRun, parseChaosArgs } from '../../src/main/cli/chaos'
import { formatSummary } from '../../src/main/cluster/chaos/runner'
import { NODE_ENTRY, TEST_TIMING } from '../support/cluster'

async function run(argv: string[]): Promise<Awaited<ReturnType<typeof chaosRun>>> {
  const args = parseChaosArgs([...argv, '--tick-ms', String(TEST_TIMING.tickMs)])
  const report = await chaosRun(args, { nodeEntry: NODE_ENTRY })
  // The summary is the evidence when an assertion below fails.
  console.log(
    formatSummary(report) +
      report.faults.map((f) => `  ${f.at} ms ${f.kind}: ${f.detail} (${f.heldMs} ms)`).join('\n'),
  )
  return report
}

describe('chaos runs on a real cluster', () => {
  it('crashes and stalls: kill, pause, transfer (seed 11)', { timeout: 120_000 }, async () => {
    const r = await run([
      '--seed',
      '11',
      '--duration',
      '15s',
      '--clients',
      '6',
      '--faults',
      'kill,pause,transfer',
    ])
    expect(r.verdict, r.reasons.join('\n')).toBe('ok')
    expect(r.injected).toBeGreaterThanOrEqual(2)
    expect(r.stats.ok).toBeGreaterThan(50)
    expect(new Set(Object.values(r.nodes).map((n) => n.hash)).size).toBe(1)
  })

  it(
    'network faults: leader isolated, partitions, bridge, delay, drop (seed 12)',
    { timeout: 120_000 },
    async () => {
      const r = await run([
        '--seed',
        '12',
        '--duration',
        '15s',
        '--clients',
        '6',
        '--nodes',
        '5',
        '--faults',
        'isolateLeader,partition,bridge,delay,drop',
      ])
      expect(r.verdict, r.reasons.join('\n')).toBe('ok')
      expect(r.injected).toBeGreaterThanOrEqual(2)
      expect(r.stats.ok).toBeGreaterThan(50)
    },
  )

  it('membership churn and every fault mixed (seed 13)', { timeout: 120_000 }, async () => {
    const r = await run([
      '--seed',
      '13',
      '--duration',
      '15s',
      '--clients',
      '6',
      '--faults',
      'membership,kill,isolateLeader,partition,pause',
    ])
    expect(r.verdict, r.reasons.join('\n')).toBe('ok')
    expect(r.injected).toBeGreaterThanOrEqual(2)
    const churn = r.faults.find((f) => f.kind === 'membership' && f.error === undefined)
    expect(churn?.detail).toMatch(/^removed node \d+, added node \d+$/)
    // The removed node is gone from the final comparison; its replacement is in it.
    expect(Object.keys(r.nodes)).toHaveLength(3)
    expect(r.stats.ok).toBeGreaterThan(50)
  })
})
