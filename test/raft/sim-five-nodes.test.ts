import { describe } from 'vitest'
import { simulationCases } from './sim/suite'

// The 5-node half of the 500 seeded simulation runs in npm test (the other half has the other size).
describe('seeded simulation, 5 nodes', () => simulationCases(5))
