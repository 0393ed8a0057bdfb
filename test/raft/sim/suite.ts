import { expect, it } from 'vitest'
import { runSimulation } from './cluster'

/**
 * 250 seeds of an n-node cluster under random faults and membership churn, in five cases of 50
 * so progress shows. A failure names its seed: `npm run soak -- --replay SEED --nodes N`.
 */
export function simulationCases(nodes: number, seedsPerCase = 50): void {
  for (let chunk = 0; chunk < 5; chunk++) {
    const first = chunk * seedsPerCase + 1
    const last = first + seedsPerCase - 1
    it(`stays safe under faults and recovers after healing, seeds ${first}-${last}`, () => {
      const violations: string[] = []
      let committed = 0
      for (let seed = first; seed <= last; seed++) {
        const r = runSimulation({
          seed,
          nodes,
          faultTicks: 1200,
          livenessTicks: 1000,
          membership: true,
        })
        if (r.violation) violations.push(r.violation)
        committed += r.proposalsCommitted
      }
      expect(violations).toEqual([])
      // The runs did real work: proposals committed despite the faults.
      expect(committed).toBeGreaterThan(seedsPerCase * 20)
    })
  }
}
