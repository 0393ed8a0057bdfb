// One key's history: every revision that put or deleted it, oldest first, back to the last
// compaction. A delete leaves a tombstone so that reads at older revisions and watches that
// start in the past still see what the key was; compaction is what finally drops them.

import type { KeyValue } from './types'

export interface KeyRevision {
  /** The store revision of the write. */
  readonly main: number
  /** Position of the change within its write (etcd's sub-revision). */
  readonly sub: number
  /** For a tombstone: only key and modRevision are meaningful (what a DELETE event carries). */
  readonly kv: KeyValue
  readonly tombstone: boolean
}

export interface KeyIndex {
  readonly key: Uint8Array
  revisions: KeyRevision[]
}

/** Index of the last revision with main <= rev, or -1. */
function lastAtOrBefore(revisions: readonly KeyRevision[], rev: number): number {
  let lo = 0
  let hi = revisions.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((revisions[mid] as KeyRevision).main <= rev) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** The key's state at revision `rev`, or undefined if it did not exist then. */
export function kvAt(ki: KeyIndex, rev: number): KeyValue | undefined {
  const entry = ki.revisions[lastAtOrBefore(ki.revisions, rev)]
  return entry === undefined || entry.tombstone ? undefined : entry.kv
}

/** The key's latest state, including writes of a write txn still in progress. */
export function liveKv(ki: KeyIndex): KeyValue | undefined {
  const entry = ki.revisions[ki.revisions.length - 1]
  return entry === undefined || entry.tombstone ? undefined : entry.kv
}

/**
 * Drops the history a read at revision >= atRev can no longer need: everything before the
 * latest revision <= atRev, and that one too if it is a tombstone. Returns whether nothing is
 * left, in which case the key leaves the index.
 */
export function compactKeyIndex(ki: KeyIndex, atRev: number): boolean {
  const last = lastAtOrBefore(ki.revisions, atRev)
  if (last >= 0) {
    const keep = (ki.revisions[last] as KeyRevision).tombstone ? last + 1 : last
    if (keep > 0) ki.revisions = ki.revisions.slice(keep)
  }
  return ki.revisions.length === 0
}
