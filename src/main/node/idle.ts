// Giving memory back when a node falls quiet. V8 sizes its heap for the peak: after 100,000 puts
// a node holds about 190 MB of heap for 55 MB of live objects, and a quiet node allocates too
// little to set off the collections that would shrink it, so it would keep that memory for as
// long as it stays quiet.
//
// V8 has a mode for memory over speed, --optimize-for-size: its memory reducer then runs
// incremental, compacting collections and returns the emptied pages, in steps too short for a
// follower to take the leader for dead. Measured after 100,000 puts (3 nodes, default timing):
// every node, the leader too, from 280-300 MB to 142-146 MB within 10 s of the last put, with no
// election. The mode costs throughput when on all the time (about a fifth fewer puts per
// second), so a node turns it on once it has been quiet for a moment and off again as soon as it
// has work. The flag is read by V8 as it decides on each collection, so changing it at run time
// takes effect from the next one.
//
// This replaced one explicit compacting gc() per quiet spell: that stopped the process for
// 0.2-0.7 s, longer than an election timeout, so the leader could not use it and kept its memory.

import { setFlagsFromString } from 'node:v8'

export type MemoryMode = 'speed' | 'memory'

export interface IdlePolicy {
  /**
   * How long the node must show no progress before it favours memory. Long enough that a pause
   * between two client batches is not taken for rest; short enough that a user who looks at the
   * node after a burst sees the memory it really needs.
   */
  readonly quietMs: number
}

export const DEFAULT_IDLE_POLICY: IdlePolicy = { quietMs: 1500 }

/** The policy's memory between polls. */
export interface IdleTracker {
  progress: string
  quietSince: number
  mode: MemoryMode
}

/** A node starts in speed mode: it is about to load its state and serve. */
export function newIdleTracker(progress: string, now: number): IdleTracker {
  return { progress, quietSince: now, mode: 'speed' }
}

/**
 * One poll: updates the tracker and returns the mode to switch to, or undefined to stay. Pure,
 * so that the rule can be tested without a clock or a heap.
 */
export function nextMode(
  t: IdleTracker,
  progress: string,
  now: number,
  policy: IdlePolicy = DEFAULT_IDLE_POLICY,
): MemoryMode | undefined {
  if (progress !== t.progress) {
    t.progress = progress
    t.quietSince = now
    if (t.mode === 'speed') return undefined
    t.mode = 'speed'
    return 'speed'
  }
  if (t.mode === 'memory' || now - t.quietSince < policy.quietMs) return undefined
  t.mode = 'memory'
  return 'memory'
}

/** Tells V8 which to favour from its next collection on. */
export function setV8MemoryMode(mode: MemoryMode): void {
  setFlagsFromString(mode === 'memory' ? '--optimize-for-size' : '--no-optimize-for-size')
}

export interface IdleWatcher {
  stop(): void
}

/**
 * Polls `progress` every `pollMs` and switches V8's mode when the policy says so. The timer is
 * unref'd: it never keeps a stopping node alive.
 */
export function startIdleWatcher(opts: {
  /** Changes whenever the node does work: a new entry, an applied entry, a client request. */
  readonly progress: () => string
  readonly onChange?: (mode: MemoryMode) => void
  readonly setMode?: (mode: MemoryMode) => void
  readonly policy?: IdlePolicy
  readonly pollMs?: number
}): IdleWatcher {
  const setMode = opts.setMode ?? setV8MemoryMode
  const tracker = newIdleTracker(opts.progress(), performance.now())
  const timer = setInterval(() => {
    const mode = nextMode(tracker, opts.progress(), performance.now(), opts.policy)
    if (mode === undefined) return
    setMode(mode)
    opts.onChange?.(mode)
  }, opts.pollMs ?? 250)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
