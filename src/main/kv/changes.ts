// The store's change history, read back from the keys themselves. Every put and delete already
// sits in its key's revision list (until compaction drops it), so the writes since a revision
// are those revisions, ordered by (revision, sub-revision). Keeping them a second time in a
// write log would cost a record per write for the whole life of the store.

import { indexGet, indexScan } from './btree'
import type { KeyRange } from './bytes'
import { firstAtOrAfter, isTombstone, subOf, type KeyIndex } from './keyindex'
import type { Store } from './store'
import type { Event, KeyValue } from './types'

/** One change: the `at`-th revision of `ki`. */
export interface Change {
  readonly ki: KeyIndex
  readonly at: number
  readonly main: number
  readonly sub: number
}

/** Changes to keys in `range` with revision >= fromRevision, in revision then sub order. */
export function changesSince(store: Store, range: KeyRange, fromRevision: number): Change[] {
  const changes: Change[] = []
  let subs = false
  const collect = (ki: KeyIndex): void => {
    const revisions = ki.revisions
    for (let at = firstAtOrAfter(revisions, fromRevision); at < revisions.length; at++) {
      const main = (revisions[at] as KeyValue).modRevision
      const sub = subOf(ki, at)
      if (sub !== 0) subs = true
      changes.push({ ki, at, main, sub })
    }
  }
  if (range.single) {
    const ki = indexGet(store.keys, range.from)
    if (ki !== undefined) collect(ki)
  } else {
    indexScan(store.keys, range.from, range.to, collect)
  }
  return inRevisionOrder(changes, fromRevision, store.revision, subs)
}

/**
 * Sorts changes whose revisions lie in [fromRevision, toRevision] by revision, then sub-revision.
 * `subs`: whether any change has a nonzero sub-revision.
 */
export function inRevisionOrder(
  changes: Change[],
  fromRevision: number,
  toRevision: number,
  subs: boolean,
): Change[] {
  const span = toRevision - fromRevision + 1
  if (subs || changes.length < 64 || span > 4 * changes.length) {
    return changes.sort((a, b) => a.main - b.main || a.sub - b.sub)
  }
  return byRevision(changes, fromRevision, span)
}

/**
 * Counting sort on the revision, for the large answers (a snapshot's whole history): linear
 * where a comparison sort of 100,000 changes takes long enough to delay heartbeats. Only used
 * when every sub-revision is 0, that is when no revision holds more than one change.
 */
function byRevision(changes: readonly Change[], from: number, span: number): Change[] {
  const starts = new Uint32Array(span + 1)
  for (const c of changes) starts[c.main - from + 1] = (starts[c.main - from + 1] as number) + 1
  for (let i = 1; i <= span; i++) starts[i] = (starts[i] as number) + (starts[i - 1] as number)
  const sorted = new Array<Change>(changes.length)
  for (const c of changes) {
    const slot = starts[c.main - from] as number
    sorted[slot] = c
    starts[c.main - from] = slot + 1
  }
  return sorted
}

/** The watch event a change made: a DELETE's kv carries only key and modRevision. */
export function eventOf(change: Change): Event {
  const { ki, at } = change
  const kv = ki.revisions[at] as KeyValue
  const before = at > 0 ? (ki.revisions[at - 1] as KeyValue) : undefined
  const prevKv = before === undefined || isTombstone(before) ? undefined : before
  const type = isTombstone(kv) ? 'DELETE' : 'PUT'
  return prevKv === undefined ? { type, kv } : { type, kv, prevKv }
}
