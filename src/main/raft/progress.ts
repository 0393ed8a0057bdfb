// The leader's view of each follower: how far its log matches, what to send next, and how much
// is in flight. Modelled on the three states etcd's raft uses:
// - probe: we do not know where the follower's log matches; send one AppendEntries at a time
//   (per heartbeat) and walk back on rejection;
// - replicate: the follower is caught up to `match`; stream entries optimistically, bounded by
//   the in-flight window;
// - snapshot: the follower needs entries we compacted; wait for the snapshot to land.

import type { NodeId } from './messages'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * The window of AppendEntries sent but not yet acknowledged, bounded by count and by bytes so
 * that a slow follower cannot make the leader buffer without limit.
 */
export class Inflights {
  private readonly lastIndexes: number[] = []
  private readonly sizes: number[] = []
  private bytes = 0

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.lastIndexes.length
  }

  add(lastIndex: number, bytes: number): void {
    this.lastIndexes.push(lastIndex)
    this.sizes.push(bytes)
    this.bytes += bytes
  }

  /** Frees every message whose last entry is at or below `index`: the follower has it. */
  freeLE(index: number): void {
    let n = 0
    while (n < this.lastIndexes.length && (this.lastIndexes[n] ?? 0) <= index) {
      this.bytes -= this.sizes[n] ?? 0
      n++
    }
    this.lastIndexes.splice(0, n)
    this.sizes.splice(0, n)
  }

  /** Lets one more message out when the window is stuck on a message that was lost. */
  freeFirstOne(): void {
    const first = this.lastIndexes[0]
    if (first !== undefined) this.freeLE(first)
  }

  full(): boolean {
    return this.lastIndexes.length >= this.maxCount || this.bytes >= this.maxBytes
  }

  reset(): void {
    this.lastIndexes.length = 0
    this.sizes.length = 0
    this.bytes = 0
  }
}

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0
  /** Next index to send. */
  next: number
  state: ProgressState = 'probe'
  /** In snapshot state: the index of the snapshot being installed. */
  pendingSnapshot = 0
  /** Whether we heard from the follower in the current election timeout (CheckQuorum). */
  recentActive = false
  /** In probe state: an AppendEntries is out; send no other until a reply or heartbeat response. */
  probeSent = false
  readonly inflights: Inflights

  constructor(
    readonly id: NodeId,
    next: number,
    public isLearner: boolean,
    maxInflight: number,
    maxInflightBytes: number,
  ) {
    this.next = next
    this.inflights = new Inflights(maxInflight, maxInflightBytes)
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false
    this.pendingSnapshot = 0
    this.state = state
    this.inflights.reset()
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot: start probing right after it.
    const after =
      this.state === 'snapshot'
        ? Math.max(this.match + 1, this.pendingSnapshot + 1)
        : this.match + 1
    this.resetState('probe')
    this.next = after
  }

  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
  }

  /** A successful AppendEntries response up to `index`. Returns false for a stale response. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /**
   * A rejection of the AppendEntries whose prevLogIndex was `rejected`, with the follower's
   * conflict hint already mapped to the leader's log as `matchHint`. Returns false when the
   * rejection is stale (an answer to a message we have already moved past).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      // The optimistic stream went wrong: fall back to just after the known match.
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  /** Records that entries up to `lastIndex` were sent (or a probe without entries). */
  sentEntries(lastIndex: number, count: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1
        this.inflights.add(lastIndex, bytes)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }
}
