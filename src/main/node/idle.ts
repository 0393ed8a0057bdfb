// Giving memory back after a burst of work. V8 sizes its heap for the peak: after 100,000 puts a
// node keeps 150-230 MB of heap reserved although only ~55 MB of it is live, and it would keep
// it for as long as the node stays quiet, because a quiet node allocates too little to trigger
// the collections that shrink the heap. So once the node has been quiet for a moment after
// growing, it runs one full, compacting collection itself, which returns the emptied pages to
// the OS.
//
// A cap on the heap (--max-old-space-size) is not the answer: a node holding more data than the
// cap would crash. A collection at rest costs one pause (about 0.1-0.3 s for a node with 100,000
// keys on an idle machine, more on a busy one) and nothing else.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** What the policy looks at on each poll. */
export interface IdleSample {
  /** Changes whenever the node does Raft work: a new entry, an applied entry, a snapshot. */
  readonly progress: string
  /** Resident set size in bytes. */
  readonly rss: number
}

export interface IdlePolicy {
  /**
   * How long the node must show no progress before it collects. Long enough that a pause
   * between two client batches is not taken for rest; short enough that a user who looks at
   * the node after a burst sees the memory it really needs.
   */
  readonly quietMs: number
  /**
   * Resident growth since the smallest size seen after the last collection that makes a
   * collection worth its pause. It also stops the node from collecting again and again when
   * the memory it holds is live, or is held by malloc rather than by V8.
   */
  readonly minGrowthBytes: number
  /** Collections are never closer together than this, whatever the node does. */
  readonly minIntervalMs: number
}

export const DEFAULT_IDLE_POLICY: IdlePolicy = {
  quietMs: 1500,
  minGrowthBytes: 32 * 1024 * 1024,
  minIntervalMs: 5000,
}

/** The policy's memory between polls. */
export interface IdleTracker {
  progress: string
  quietSince: number
  lastCollectAt: number
  /** The smallest resident size seen since the last collection: a freed page leaves late. */
  floor: number
}

export function newIdleTracker(first: IdleSample, now: number): IdleTracker {
  return {
    progress: first.progress,
    quietSince: now,
    lastCollectAt: -Infinity,
    floor: first.rss,
  }
}

/**
 * One poll: updates the tracker and says whether to collect now. Pure, so that the rule can be
 * tested without a clock or a heap.
 */
export function shouldCollect(
  t: IdleTracker,
  s: IdleSample,
  now: number,
  policy: IdlePolicy = DEFAULT_IDLE_POLICY,
): boolean {
  if (s.progress !== t.progress) {
    t.progress = s.progress
    t.quietSince = now
  }
  t.floor = Math.min(t.floor, s.rss)
  const quiet = now - t.quietSince >= policy.quietMs
  const grown = s.rss - t.floor >= policy.minGrowthBytes
  const spaced = now - t.lastCollectAt >= policy.minIntervalMs
  return quiet && grown && spaced
}

/** Records a collection: the floor starts again from the size after it. */
export function collected(t: IdleTracker, rssAfter: number, now: number): void {
  t.lastCollectAt = now
  t.floor = rssAfter
}

/**
 * The collection: V8's full collection, compacting every page. A plain gc() frees the dead
 * objects but leaves the live ones spread over the pages the burst filled (heap total stays
 * near its peak); compacting moves them together so that the emptied pages go back to the OS
 * (measured: heap total 350 MB -> 330 MB with gc(), -> 82 MB compacting, 48 MB live). The flag
 * is turned on for this one collection only: compacting every full collection under load
 * would cost throughput.
 *
 * gc() is there when the process runs with --expose-gc (the manager forks nodes so); a node
 * started by hand (`node out/main/node.js`) takes it from a fresh context after turning the
 * flag on.
 */
export function compactingGc(): () => void {
  let gc = (globalThis as { gc?: unknown }).gc
  if (typeof gc !== 'function') {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc')
  }
  if (typeof gc !== 'function') throw new Error('cannot obtain V8 gc() (--expose-gc had no effect)')
  const collect = gc as () => void
  return () => {
    setFlagsFromString('--compact-on-every-full-gc')
    try {
      collect()
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc')
    }
  }
}

export interface IdleReclaimer {
  stop(): void
}

/**
 * Polls `sample` every `pollMs` and collects when the policy says so. The timer is unref'd: it
 * never keeps a stopping node alive.
 */
export function startIdleReclaimer(opts: {
  readonly progress: () => string
  /** Checked before each collection; false postpones it (the node is quiet but must not stall). */
  readonly mayPause?: () => boolean
  readonly onCollect?: (before: number, after: number, ms: number) => void
  readonly policy?: IdlePolicy
  readonly pollMs?: number
  readonly gc?: () => void
  readonly rss?: () => number
}): IdleReclaimer {
  const gc = opts.gc ?? compactingGc()
  const rss = opts.rss ?? (() => process.memoryUsage.rss())
  const policy = opts.policy ?? DEFAULT_IDLE_POLICY
  const sample = (): IdleSample => ({ progress: opts.progress(), rss: rss() })
  const tracker = newIdleTracker(sample(), performance.now())
  const timer = setInterval(() => {
    const s = sample()
    const now = performance.now()
    if (!shouldCollect(tracker, s, now, policy)) return
    if (opts.mayPause && !opts.mayPause()) return
    gc()
    const after = rss()
    const done = performance.now()
    collected(tracker, after, done)
    opts.onCollect?.(s.rss, after, done - now)
  }, opts.pollMs ?? 500)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
