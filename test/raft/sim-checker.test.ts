import { describe, expect, it } from 'vitest'
import type { UnsafeFaults } from '../../src/main/raft'
import { runSimulation, type Intensity } from './sim/cluster'

// The checker must be able to fail. Each case switches on one deliberate defect in the core
// and runs the same seeded simulation until it reports a violation; the control runs the same
// schedules with the core intact and must report none.

// Faults that make Figure 8 likely: leaders crash or are cut off mid-replication, one entry
// per AppendEntries so that old-term entries are acknowledged on their own.
const figure8: Partial<Intensity> = {
  maxEntriesPerMsg: 1,
  crash: 0.01,
  leaderCrash: 0.05,
  leaderIsolation: 0.03,
  partition: 0,
  drop: 0.05,
  propose: 0.9,
  snapshot: 0,
  confChange: 0,
  transfer: 0,
}

function firstViolation(unsafe: UnsafeFaults | undefined, seeds: number): string | undefined {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSimulation({
      seed,
      nodes: 3,
      faultTicks: 1000,
      livenessTicks: 1000,
      membership: false,
      ...(unsafe ? { unsafe } : {}),
      intensity: figure8,
    })
    if (r.violation) return r.violation
  }
  return undefined
}

describe('the simulation checker catches a broken core', () => {
  it('reports committing an entry of an earlier term by counting its replicas (Figure 8)', () => {
    const v = firstViolation({ commitOldTermEntries: true }, 100)
    expect(v).toMatch(/leader completeness|state machine safety|log matching/)
  })

  it('reports granting a vote without the up-to-date check (§5.4.1)', () => {
    const v = firstViolation({ voteWithoutLogCheck: true }, 100)
    expect(v).toMatch(/leader completeness|state machine safety|election safety/)
  })

  it('reports a follower truncating its log on a duplicate AppendEntries that matches (§5.3)', () => {
    const v = firstViolation({ truncateOnMatchingAppend: true }, 100)
    expect(v).toMatch(/durability|leader completeness|state machine safety/)
  })

  it('reports nothing for the same schedules with the core intact', () => {
    expect(firstViolation(undefined, 100)).toBeUndefined()
  })

  it('names the seed of a failing run so it can be replayed exactly', () => {
    const v = firstViolation({ voteWithoutLogCheck: true }, 100) ?? ''
    const seed = Number(/^seed (\d+)/.exec(v)?.[1])
    const again = runSimulation({
      seed,
      nodes: 3,
      faultTicks: 1000,
      livenessTicks: 1000,
      membership: false,
      unsafe: { voteWithoutLogCheck: true },
      intensity: figure8,
    })
    expect(again.violation).toBe(v)
  })
})
