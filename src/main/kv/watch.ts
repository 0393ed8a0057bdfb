// Watch history: what a watch on [key, rangeEnd) sees from a start revision. A watch that starts
// in the past replays the changes still in the keys' revision lists; from then on the node
// feeds it from subscribe, which hears every applied write synchronously, in revision order.

import { keyRange } from './bytes'
import { changesSince, eventOf } from './changes'
import type { Store, WriteListener } from './store'
import type { Event } from './types'

/** Calls `listener` after every applied write that changed something. Returns the unsubscriber. */
export function subscribe(store: Store, listener: WriteListener): () => void {
  // Wrapped, so subscribing the same function twice yields two independent subscriptions.
  const entry: WriteListener = (revision, events) => listener(revision, events)
  store.listeners.add(entry)
  return () => {
    store.listeners.delete(entry)
  }
}

export type HistoryResult =
  | {
      readonly compacted: false
      /**
       * Matching events with revision >= startRevision, in revision then sub-revision order.
       * An event's revision is its kv.modRevision (for a DELETE too).
       */
      readonly events: readonly Event[]
      /** The store revision the events run up to: continue from revision + 1. */
      readonly revision: number
    }
  | {
      readonly compacted: true
      /** What etcd puts in the WatchResponse's compact_revision: the watch cannot continue. */
      readonly compactRevision: number
    }

/**
 * Events on [key, rangeEnd) from `startRevision` (0: none, a watch from now). As in etcd, a
 * start below the compact revision is refused, and a start equal to it is served: it sees the
 * writes of that revision that compaction kept, which are all of them but a delete (a
 * tombstone at the compact revision is dropped, in etcd too). etcd's store begins with a
 * compact revision of -1, so a negative start is refused only once something was compacted;
 * before that it is a watch from now, as etcd's is (it finds nothing from a negative revision
 * and then follows new writes).
 */
export function eventsSince(
  store: Store,
  key: Uint8Array,
  rangeEnd: Uint8Array | undefined,
  startRevision: number,
): HistoryResult {
  const compacted = store.compactRevision > 0
  if (compacted && startRevision !== 0 && startRevision < store.compactRevision) {
    return { compacted: true, compactRevision: store.compactRevision }
  }
  if (startRevision <= 0) return { compacted: false, events: [], revision: store.revision }
  const changes = changesSince(store, keyRange(key, rangeEnd), startRevision)
  return { compacted: false, events: changes.map(eventOf), revision: store.revision }
}
