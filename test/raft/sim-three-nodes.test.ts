import { describe } from 'vitest'
import { simulationCases } from './sim/suite'

// The 3-node half of the 500 seeded simulation runs in npm test (the other half has the other size).
describe('seeded simulation, 3 nodes', () => simulationCases(3))
