import { describe, expect, it } from 'vitest'
import { runSimulation } from './sim/cluster'

// 250 seeds of a 3-node cluster under random faults and membership churn; sim-five-nodes does
// the same for 5 nodes. A failure names its seed: `npm run soak -- --replay SEED --nodes 3`.
const NODES = 3
const SEEDS_PER_CASE = 50

describe(`seeded simulation, ${NODES} nodes`, () => {
  for (let chunk = 0; chunk < 5; chunk++) {
    const first = chunk * SEEDS_PER_CASE + 1
    const last = first + SEEDS_PER_CASE - 1
    it(`stays safe under faults and recovers after healing, seeds ${first}-${last}`, () => {
      const violations: string[] = []
      let committed = 0
      for (let seed = first; seed <= last; seed++) {
        const r = runSimulation({
          seed,
          nodes: NODES,
          faultTicks: 1200,
          livenessTicks: 1000,
          membership: true,
        })
        if (r.violation) violations.push(r.violation)
        committed += r.proposalsCommitted
      }
      expect(violations).toEqual([])
      // The runs did real work: proposals committed despite the faults.
      expect(committed).toBeGreaterThan(SEEDS_PER_CASE * 20)
    })
  }
})
