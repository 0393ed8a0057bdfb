// etcd's Watch service: one bidirectional stream carries any number of watchers. A watcher
// replays the store's history from its start revision, then hears every applied write through
// kv's subscribe. Both happen in one synchronous step, so no write can fall between the replay
// and the subscription, and every watcher is always "synced" in etcd's terms. Watches are
// served from this node's own store, leader or not, as etcd serves them.

import type * as grpc from '@grpc/grpc-js'
import { compareBytes, ErrCompacted, eventsSince, subscribe, type Event } from '../../kv'
// kv's own reading of [key, range_end), so a watch matches exactly the keys a range reads.
import { inKeyRange, keyRange, type KeyRange } from '../../kv/bytes'
import { ErrNoLeader, ErrStopped } from '../errors'
import { header, type ApiContext } from './context'
import { etcdFailure, GrpcFailure, toStatus } from './status'
import {
  bytes,
  int64,
  watchFilters,
  wireEvent,
  type EnumValue,
  type Long,
  type WatchFilter,
} from './wire'

interface WireWatchCreateRequest {
  readonly key?: Uint8Array
  readonly range_end?: Uint8Array
  readonly start_revision?: Long
  readonly progress_notify?: boolean
  readonly filters?: readonly EnumValue[]
  readonly prev_kv?: boolean
  readonly watch_id?: Long
}

interface WireWatchRequest {
  readonly create_request?: WireWatchCreateRequest | null
  readonly cancel_request?: { readonly watch_id?: Long } | null
  readonly progress_request?: object | null
}

/** etcd's texts for a watch it refuses to create (mvcc's errors, not the gRPC layer's). */
const ErrWatcherDuplicateID = 'mvcc: duplicate watch ID provided on the WatchStream'
const ErrEmptyWatcherRange = 'mvcc: watcher range is empty'

/** clientv3's InvalidWatchID: a response that belongs to no one watcher. */
const NO_WATCH_ID = -1

/** etcd's default --experimental-watch-progress-notify-interval. */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000

interface Watcher {
  readonly id: number
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array | undefined
  readonly range: KeyRange
  readonly filters: ReadonlySet<WatchFilter>
  readonly prevKv: boolean
  readonly progressNotify: boolean
  /** Live writes below it are not this watcher's (a watch may start in the future). */
  readonly startRevision: number
  /** The store revision the watcher has been served up to. */
  seen: number
  /** Whether events went out since the last progress notification. */
  active: boolean
  unsubscribe: () => void
}

type WatchCall = grpc.ServerDuplexStream<WireWatchRequest, object>

export function watchService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  return { Watch: (call: WatchCall) => serveWatchStream(ctx, call) }
}

function serveWatchStream(ctx: ApiContext, call: WatchCall): void {
  const { backend } = ctx
  const watchers = new Map<number, Watcher>()
  let nextId = 0
  let ended = false
  let progressTimer: ReturnType<typeof setInterval> | undefined

  /** Ends the stream once: with OK, with a status, or silently when the client is gone. */
  const finish = (how: 'ok' | 'gone' | grpc.StatusObject): void => {
    if (ended) return
    ended = true
    for (const watcher of watchers.values()) watcher.unsubscribe()
    watchers.clear()
    if (progressTimer !== undefined) clearInterval(progressTimer)
    untrack()
    if (how === 'ok') call.end()
    else if (how !== 'gone') call.emit('error', how)
  }
  const untrack = ctx.track(() => finish(toStatus(etcdFailure(ErrStopped), 'Watch', ctx.log)))

  const send = (response: object): void => {
    if (!ended) call.write(response)
  }

  const matches = (watcher: Watcher, event: Event): boolean =>
    inKeyRange(watcher.range, event.kv.key) &&
    !(event.type === 'PUT' && watcher.filters.has('NOPUT')) &&
    !(event.type === 'DELETE' && watcher.filters.has('NODELETE'))

  const sendEvents = (watcher: Watcher, revision: number, events: readonly Event[]): void => {
    watcher.active = true
    send({
      header: header(ctx, revision),
      watch_id: watcher.id,
      events: events.map((event) => wireEvent(event, watcher.prevKv)),
    })
  }

  const refuse = (reason: string): void => {
    send({
      header: header(ctx, backend.store.revision),
      watch_id: NO_WATCH_ID,
      created: true,
      canceled: true,
      cancel_reason: reason,
    })
  }

  const create = (req: WireWatchCreateRequest): void => {
    // The watcher keeps its key for its whole life: not a view into the request's message.
    const key = bytes(req.key).slice()
    const rangeEnd = req.range_end?.length ? bytes(req.range_end).slice() : undefined
    const range = keyRange(key, rangeEnd)
    if (range.to !== undefined && !range.single && compareBytes(key, range.to) >= 0) {
      return refuse(ErrEmptyWatcherRange)
    }
    let id = int64(req.watch_id, 'watch_id')
    if (id !== 0 && watchers.has(id)) return refuse(ErrWatcherDuplicateID)
    if (id === 0) {
      // etcd's AutoWatchID: 0 asks for one, and the first one handed out is 0 itself.
      while (watchers.has(nextId)) nextId++
      id = nextId++
    }
    const watcher: Watcher = {
      id,
      key,
      rangeEnd,
      range,
      filters: watchFilters(req.filters),
      prevKv: req.prev_kv === true,
      progressNotify: req.progress_notify === true,
      startRevision: int64(req.start_revision, 'start_revision'),
      seen: 0,
      active: false,
      unsubscribe: () => {},
    }
    const store = backend.store
    send({ header: header(ctx, store.revision), watch_id: id, created: true })
    if (!replay(watcher, watcher.startRevision)) return

    watcher.unsubscribe = subscribe(store, (revision, events) => {
      // Runs inside the node's apply loop: whatever happens here must not escape into it.
      try {
        if (ended) return
        if (revision !== watcher.seen + 1) {
          // The store skipped revisions: a snapshot was installed under it (RaftNode keeps the
          // Store object and its listeners). What it skipped is in the snapshot's history,
          // unless compacted away; this write is already in it too.
          const from = Math.max(watcher.seen + 1, watcher.startRevision)
          if (!replay(watcher, from)) forget(watcher)
          return
        }
        watcher.seen = revision
        if (revision < watcher.startRevision) return
        const mine = events.filter((event) => matches(watcher, event))
        if (mine.length > 0) sendEvents(watcher, revision, mine)
      } catch (err) {
        finish(toStatus(err, 'Watch', ctx.log))
      }
    })
    watchers.set(id, watcher)
    if (watcher.progressNotify) startProgressNotify()
  }

  /**
   * Sends the watcher's events from `fromRevision` (<= 0: none) up to the store's revision,
   * one response per revision as live events go out. Returns false, having told the client,
   * if that history is compacted: the watcher cannot go on.
   */
  const replay = (watcher: Watcher, fromRevision: number): boolean => {
    const store = backend.store
    const history = eventsSince(store, watcher.key, watcher.rangeEnd, fromRevision)
    if (history.compacted) {
      send({
        header: header(ctx, store.revision),
        watch_id: watcher.id,
        compact_revision: history.compactRevision,
        canceled: true,
        // etcd leaves the reason empty (clients read compact_revision); the text helps the
        // etcd3 package, which reports only the reason.
        cancel_reason: ErrCompacted.message,
      })
      return false
    }
    watcher.seen = history.revision
    let batch: Event[] = []
    for (const event of history.events) {
      if (!matches(watcher, event)) continue
      if (batch.length > 0 && batch[0]?.kv.modRevision !== event.kv.modRevision) {
        sendEvents(watcher, history.revision, batch)
        batch = []
      }
      batch.push(event)
    }
    if (batch.length > 0) sendEvents(watcher, history.revision, batch)
    return true
  }

  const forget = (watcher: Watcher): void => {
    watcher.unsubscribe()
    watchers.delete(watcher.id)
  }

  const cancel = (watchId: Long | undefined): void => {
    const id = int64(watchId, 'watch_id')
    const watcher = watchers.get(id)
    // etcd answers nothing for a watcher it does not have.
    if (watcher === undefined) return
    forget(watcher)
    send({ header: header(ctx, backend.store.revision), watch_id: id, canceled: true })
  }

  /** etcd's periodic progress notification: an idle watcher learns how far the store got. */
  const startProgressNotify = (): void => {
    if (progressTimer !== undefined) return
    progressTimer = setInterval(() => {
      for (const watcher of watchers.values()) {
        if (!watcher.progressNotify) continue
        if (!watcher.active) {
          send({ header: header(ctx, backend.store.revision), watch_id: watcher.id, events: [] })
        }
        watcher.active = false
      }
    }, ctx.progressNotifyIntervalMs)
    progressTimer.unref()
  }

  call.on('data', (req: WireWatchRequest) => {
    if (ended) return
    try {
      if (req.create_request) {
        try {
          create(req.create_request)
        } catch (err) {
          // A create etcd would refuse (a field out of range) refuses that watcher, not the
          // stream and its other watchers.
          if (!(err instanceof GrpcFailure)) throw err
          refuse(err.details)
        }
      } else if (req.cancel_request) {
        cancel(req.cancel_request.watch_id)
      } else if (req.progress_request) {
        // Every watcher is synced (see the top of this file), so the current revision is a
        // true progress mark for all of them.
        send({ header: header(ctx, backend.store.revision), watch_id: NO_WATCH_ID })
      }
    } catch (err) {
      finish(toStatus(err, 'Watch', ctx.log))
    }
  })
  // The client closed its side: etcd ends the stream, and so do we.
  call.on('end', () => finish('ok'))
  call.on('cancelled', () => finish('gone'))
  call.on('error', () => finish('gone'))

  // clientv3's WithRequireLeader: a watch that must not be served by a node cut off from its
  // leader.
  if (
    call.metadata.get('hasleader')[0] === 'true' &&
    !backend.isLeader() &&
    backend.leaderClientAddress() === undefined
  ) {
    finish(toStatus(etcdFailure(ErrNoLeader), 'Watch', ctx.log))
  }
}
