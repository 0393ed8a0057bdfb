// The defaults of a new cluster, in one place: the nodes and the manager fall back on them
// when a field is missing, and the GUI's create form starts from them, so what the form
// offers is what `raftlab up` gets. It imports nothing, so the renderer, the preload and a
// node process can all take it without pulling in zod or Node.

/**
 * Default timing: a 20 ms tick, heartbeats every 40 ms and an election timeout drawn from
 * 200-400 ms. A dead leader is replaced in well under half a second on a loaded laptop, while
 * a garbage-collection pause of a few tens of milliseconds does not start an election. To
 * watch an election happen, slow the cluster down (the slow-motion factor multiplies the
 * tick) rather than change these: the failover the product promises is for this timing.
 */
export const DEFAULT_TIMING: {
  /** Milliseconds per Raft tick. */
  readonly tickMs: number
  /** Ticks without a leader before a follower campaigns (the timeout is drawn from [n, 2n)). */
  readonly electionTicks: number
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTicks: number
} = Object.freeze({ tickMs: 20, electionTicks: 10, heartbeatTicks: 2 })

/** Applied entries between snapshots; the log is truncated below each snapshot. */
export const DEFAULT_SNAPSHOT_COUNT = 10_000

/**
 * The bounds of each timing setting, wherever it is set: the API's schema, the CLI's flags and
 * a hand-edited cluster.json all check against these.
 */
export const TIMING_LIMITS = Object.freeze({
  tickMs: { min: 1, max: 10_000 },
  electionTicks: { min: 2, max: 1_000 },
  heartbeatTicks: { min: 1, max: 1_000 },
  snapshotCount: { min: 10, max: 10_000_000 },
  slowMotion: { min: 1, max: 100 },
} as const)
