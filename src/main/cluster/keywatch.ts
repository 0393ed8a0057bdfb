// The two uses KeyStore makes of etcd's Watch stream, spoken on the raw stream rather than through
// the etcd3 package's Watcher: a key's history needs the compact_revision of a cancelled watch
// (the Watcher reports only an error), and the live watch must resume from the revision it had
// reached on whichever node is up after a restart, with a short backoff a person does not notice.

import type { Etcd3, IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse } from 'etcd3'

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>

/** One change the live watch reports. */
export interface KeyChange {
  readonly key: string
  readonly type: 'put' | 'delete'
  readonly modRevision: number
}

/** One event of a key's history. */
export interface KeyEvent {
  readonly type: 'put' | 'delete'
  readonly kv: IKeyValue
}

export interface KeyHistory {
  /** Oldest first, as etcd replays them. */
  readonly events: readonly KeyEvent[]
  /** 0 when the store was never compacted below the history's start. */
  readonly compactRevision: number
}

/** The whole keyspace: key "\0" to range_end "\0" (etcd's "every key >= key"). */
const ALL = Buffer.from([0])
/** Longer than this, a key's history keeps only its newest events. */
export const HISTORY_LIMIT = 10_000
/** If no progress answer comes at all, the replay is taken as complete after this long. */
const HISTORY_TIMEOUT_MS = 3000
/**
 * etcd may answer the progress request before it replays an unsynced watcher's events (they
 * travel on different channels inside etcd; RaftLab keeps them in order), and it syncs those
 * watchers every 100 ms. After the answer, the replay is over once the stream stays this quiet.
 */
const HISTORY_QUIET_MS = 250
const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 2000

/**
 * The events of one key from the oldest revision the store still has, up to `upTo`. The replay
 * ends at the key's last known modification `lastMod` or, for a key that does not exist now,
 * shortly after the answer to a progress request sent once the watch was created.
 */
export async function keyHistory(
  client: Etcd3,
  key: Buffer,
  upTo: number,
  lastMod: number | undefined,
): Promise<KeyHistory> {
  let from = 1
  // Compaction can move while we retry; twice is already a race with a busy compactor.
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await replayOnce(client, key, from, upTo, lastMod)
    if (r.compactedAt === undefined) {
      return { events: r.events.slice(-HISTORY_LIMIT), compactRevision: from > 1 ? from - 1 : 0 }
    }
    from = r.compactedAt + 1
  }
  throw new Error(
    `the history of ${key.toString()} kept moving under compaction; try again in a moment`,
  )
}

interface Replay {
  readonly events: KeyEvent[]
  readonly compactedAt?: number
}

async function replayOnce(
  client: Etcd3,
  key: Buffer,
  from: number,
  upTo: number,
  lastMod: number | undefined,
): Promise<Replay> {
  const stream = await client.watchClient.watch()
  return new Promise<Replay>((resolve, reject) => {
    const events: KeyEvent[] = []
    let settled = false
    const finish = (r: Replay | Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(quiet)
      closeStream(stream)
      if (r instanceof Error) reject(r)
      else resolve(r)
    }
    const timer = setTimeout(() => finish({ events }), HISTORY_TIMEOUT_MS)
    let quiet: ReturnType<typeof setTimeout> | undefined
    const settleSoon = (): void => {
      clearTimeout(quiet)
      quiet = setTimeout(() => finish({ events }), HISTORY_QUIET_MS)
    }
    stream.on('data', (res) => {
      if (res.canceled) {
        const compacted = Number(res.compact_revision ?? 0)
        if (compacted > 0) finish({ events, compactedAt: compacted })
        else finish(new Error(`etcd refused to replay ${key.toString()}: ${res.cancel_reason}`))
        return
      }
      if (res.created) {
        stream.write({ progress_request: {} })
        return
      }
      const batch = res.events ?? []
      if (batch.length === 0) return settleSoon()
      if (quiet !== undefined) settleSoon()
      for (const e of batch) {
        const rev = Number(e.kv.mod_revision)
        if (rev > upTo) return finish({ events })
        events.push({ type: isDelete(e.type) ? 'delete' : 'put', kv: e.kv })
        // Trimmed in bulk, not per event, so a long history costs linear time.
        if (events.length >= 2 * HISTORY_LIMIT) events.splice(0, events.length - HISTORY_LIMIT)
        if (rev === lastMod) return finish({ events })
      }
    })
    stream.on('error', (e) => finish(e))
    stream.on('end', () => finish({ events }))
    stream.write({ create_request: { key, start_revision: from } })
  })
}

/**
 * Watches every key from now on and reports each change once, in revision order. When the
 * stream breaks (its node stopped, the client was replaced) it reconnects through `client()`,
 * which may pick another node, and resumes after the last revision it reported. Returns stop.
 */
export function watchEverything(
  client: () => Etcd3,
  onChange: (c: KeyChange) => void,
  onError: (e: Error) => void = () => {},
): () => void {
  let stopped = false
  let stream: WatchStream | undefined
  let wake: (() => void) | undefined
  /** The first revision not yet reported; 0 until the first watch says where "now" is. */
  let next = 0
  let backoff = BACKOFF_MIN_MS

  const follow = (s: WatchStream): Promise<void> =>
    new Promise((done) => {
      s.on('data', (res) => {
        if (res.created) {
          backoff = BACKOFF_MIN_MS
          if (next === 0) next = Number(res.header.revision) + 1
        }
        if (res.canceled) {
          const compacted = Number(res.compact_revision ?? 0)
          if (compacted > 0) {
            // What happened between `next` and the compaction is gone; say so and go on.
            onError(new Error(`watch missed changes up to revision ${compacted} (compacted)`))
            next = compacted + 1
          }
          closeStream(s)
          done()
          return
        }
        const floor = next
        for (const e of res.events ?? []) {
          const modRevision = Number(e.kv.mod_revision)
          if (modRevision < floor) continue
          onChange({
            key: e.kv.key.toString(),
            type: isDelete(e.type) ? 'delete' : 'put',
            modRevision,
          })
          next = Math.max(next, modRevision + 1)
        }
      })
      s.on('error', () => done())
      s.on('end', () => done())
      s.write({
        create_request: { key: ALL, range_end: ALL, ...(next > 0 ? { start_revision: next } : {}) },
      })
    })

  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        stream = await client().watchClient.watch()
        if (stopped) break
        await follow(stream)
      } catch (e) {
        onError(e as Error)
      }
      stream = undefined
      if (stopped) break
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff)
        wake = () => {
          clearTimeout(t)
          r()
        }
      })
      wake = undefined
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
    }
    if (stream) closeStream(stream)
  }
  void run()

  return () => {
    stopped = true
    if (stream) closeStream(stream)
    wake?.()
  }
}

/** The etcd3 package loads enums as their proto names ("DELETE"), whatever its types say. */
function isDelete(type: unknown): boolean {
  return String(type).toUpperCase() === 'DELETE'
}

/**
 * Ends a stream of ours without blaming its node: the etcd3 package counts a CANCELLED error on
 * a still-writable stream as the host failing and closes that host's channels under every other
 * call, so the stream is half-closed first.
 */
function closeStream(s: WatchStream): void {
  s.end()
  s.cancel()
}
