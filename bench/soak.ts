// `npm run soak`: many thousands of seeded simulation runs of the consensus core, with the
// figures a person tuning it wants: how fast a healed cluster elects a leader and commits, how
// many messages a committed proposal costs, and how many runs a second the core sustains.
//
//   npm run soak                          5,000 seeds each of 3 and 5 nodes
//   npm run soak -- --seeds 20000         more
//   npm run soak -- --replay 1234 --nodes 5   one run, printed in full

import { runSimulation, type SimResult } from '../test/raft/sim/cluster'
import { arg, percentile } from './util'

const FAULT_TICKS = 1200
const LIVENESS_TICKS = 1000

const replay = arg('replay')
if (replay !== undefined) {
  const nodes = Number(arg('nodes') ?? 3)
  const r = runSimulation({
    seed: Number(replay),
    nodes,
    faultTicks: FAULT_TICKS,
    livenessTicks: LIVENESS_TICKS,
    membership: true,
  })
  console.log(JSON.stringify(r, null, 2))
  process.exit(r.violation ? 1 : 0)
}

const seeds = Number(arg('seeds') ?? 5000)
const sizes = (arg('nodes') ?? '3,5').split(',').map(Number)
let failed = 0

for (const nodes of sizes) {
  const started = performance.now()
  const results: SimResult[] = []
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSimulation({
      seed,
      nodes,
      faultTicks: FAULT_TICKS,
      livenessTicks: LIVENESS_TICKS,
      membership: true,
    })
    results.push(r)
    if (r.violation) {
      failed++
      console.log(`VIOLATION ${r.violation}`)
    }
    if (seed % 500 === 0) process.stderr.write(`  ${nodes} nodes: ${seed}/${seeds} runs\r`)
  }
  const seconds = (performance.now() - started) / 1000
  const toLeader = results
    .flatMap((r) => (r.ticksToLeader === undefined ? [] : [r.ticksToLeader]))
    .sort((a, b) => a - b)
  const toCommit = results
    .flatMap((r) => (r.ticksToCommit === undefined ? [] : [r.ticksToCommit]))
    .sort((a, b) => a - b)
  const sum = (f: (r: SimResult) => number): number => results.reduce((a, r) => a + f(r), 0)
  const messages = sum((r) => r.messages)
  const committed = sum((r) => r.proposalsCommitted)
  console.log(
    `\n${nodes} nodes, ${seeds} seeds (${FAULT_TICKS} ticks of faults, then healed; election tick 10)`,
  )
  console.log(`  violations:                       ${results.filter((r) => r.violation).length}`)
  console.log(`  runs per second:                  ${(seeds / seconds).toFixed(1)}`)
  console.log(
    `  ticks from heal to a leader:      p50 ${percentile(toLeader, 50)}  p99 ${percentile(toLeader, 99)}  max ${toLeader[toLeader.length - 1]}`,
  )
  console.log(
    `  ticks from heal to a new commit:  p50 ${percentile(toCommit, 50)}  p99 ${percentile(toCommit, 99)}  max ${toCommit[toCommit.length - 1]}`,
  )
  console.log(`  messages per committed entry:     ${(messages / committed).toFixed(1)}`)
  console.log(
    `  per run: ${(committed / seeds).toFixed(0)} entries committed, ${(sum((r) => r.faults) / seeds).toFixed(1)} faults, ` +
      `${(sum((r) => r.elections) / seeds).toFixed(1)} elections, ${(sum((r) => r.snapshotsSent) / seeds).toFixed(1)} snapshots sent`,
  )
}
process.exit(failed > 0 ? 1 : 0)
