// One key's history: every revision that put or deleted it, oldest first, back to the last
// compaction. A delete leaves a tombstone so that reads at older revisions and watches that
// start in the past still see what the key was; compaction is what finally drops them.
//
// A revision is stored as the KeyValue a read returns, nothing more: its store revision is the
// kv's modRevision, and a tombstone is a kv of version 0 (a live key's version is at least 1).
// Sub-revisions are almost always 0 (one change per write), so they are kept only for keys
// that have a nonzero one. At 100,000 keys every object saved per revision is megabytes.

import type { KeyValue } from './types'

export interface KeyIndex {
  readonly key: Uint8Array
  /** For a tombstone: only key and modRevision are meaningful (what a DELETE event carries). */
  revisions: KeyValue[]
  /** Each revision's position within its write (etcd's sub-revision); absent while all are 0. */
  subs: number[] | undefined
}

export function isTombstone(kv: KeyValue): boolean {
  return kv.version === 0
}

export function subOf(ki: KeyIndex, at: number): number {
  return ki.subs === undefined ? 0 : (ki.subs[at] as number)
}

/** A key seen for the first time, with its first revision. */
export function newKeyIndex(key: Uint8Array, kv: KeyValue, sub: number): KeyIndex {
  // Literals, so a key written once holds arrays of one slot (push would reserve 17).
  return { key, revisions: [kv], subs: sub === 0 ? undefined : [sub] }
}

export function pushRevision(ki: KeyIndex, kv: KeyValue, sub: number): void {
  if (sub !== 0 && ki.subs === undefined) ki.subs = ki.revisions.map(() => 0)
  ki.revisions.push(kv)
  ki.subs?.push(sub)
}

/** Index of the last revision with modRevision <= rev, or -1. */
function lastAtOrBefore(revisions: readonly KeyValue[], rev: number): number {
  let lo = 0
  let hi = revisions.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((revisions[mid] as KeyValue).modRevision <= rev) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** First index with modRevision >= rev (revisions.length if none). */
export function firstAtOrAfter(revisions: readonly KeyValue[], rev: number): number {
  return lastAtOrBefore(revisions, rev - 1) + 1
}

/** The key's state at revision `rev`, or undefined if it did not exist then. */
export function kvAt(ki: KeyIndex, rev: number): KeyValue | undefined {
  const kv = ki.revisions[lastAtOrBefore(ki.revisions, rev)]
  return kv === undefined || isTombstone(kv) ? undefined : kv
}

/** The key's latest state, including writes of a write txn still in progress. */
export function liveKv(ki: KeyIndex): KeyValue | undefined {
  const kv = ki.revisions[ki.revisions.length - 1]
  return kv === undefined || isTombstone(kv) ? undefined : kv
}

/**
 * Drops the history a read at revision >= atRev can no longer need: everything before the
 * latest revision <= atRev, and that one too if it is a tombstone. Returns whether nothing is
 * left, in which case the key leaves the index.
 */
export function compactKeyIndex(ki: KeyIndex, atRev: number): boolean {
  const last = lastAtOrBefore(ki.revisions, atRev)
  if (last >= 0) {
    const keep = isTombstone(ki.revisions[last] as KeyValue) ? last + 1 : last
    if (keep > 0) {
      ki.revisions = ki.revisions.slice(keep)
      const subs = ki.subs?.slice(keep)
      ki.subs = subs === undefined || subs.every((s) => s === 0) ? undefined : subs
    }
  }
  return ki.revisions.length === 0
}
