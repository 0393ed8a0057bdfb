// etcd's Lease service. Which leases exist is replicated (grant and revoke go through the
// log); when they expire is the leader's alone (see kv/lease.ts), so renewals and remaining
// TTLs are the leader's to answer and a follower passes them on.

import type * as grpc from '@grpc/grpc-js'
import { ErrLeaseNotFound, isEtcdError, leases, timeToLive, type EtcdError } from '../../kv'
import { ErrLeaderChanged, ErrStopped } from '../errors'
import { header, headerOf, onLeader, unary, write, type ApiContext } from './context'
import { forwardTarget, leaderError, logUnreachable } from './forward'
import { check, etcdFailure, toStatus, type GrpcFailure } from './status'
import { int64, type Long } from './wire'

interface WireLeaseGrantRequest {
  readonly TTL?: Long
  readonly ID?: Long
}

interface WireLeaseIdRequest {
  readonly ID?: Long
}

interface WireLeaseTimeToLiveRequest {
  readonly ID?: Long
  readonly keys?: boolean
}

function isLeaseNotFound(err: EtcdError): boolean {
  return err.message === ErrLeaseNotFound.message
}

export function leaseService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx
  const hdr = headerOf(ctx)

  return {
    LeaseGrant: unary(ctx, 'LeaseGrant', (req: WireLeaseGrantRequest, call) => {
      const cmd = {
        type: 'leaseGrant',
        id: int64(req.ID, 'ID'),
        ttl: int64(req.TTL, 'TTL'),
      } as const
      return write(ctx, call, cmd, (r) => ({
        header: hdr(r.header.revision),
        ID: r.id,
        TTL: r.ttl,
        error: '',
      }))
    }),

    LeaseRevoke: unary(ctx, 'LeaseRevoke', (req: WireLeaseIdRequest, call) => {
      const cmd = { type: 'leaseRevoke', id: int64(req.ID, 'ID') } as const
      return write(ctx, call, cmd, (r) => ({
        header: hdr(r.header.revision),
      }))
    }),

    LeaseTimeToLive: unary(ctx, 'LeaseTimeToLive', (req: WireLeaseTimeToLiveRequest, call) => {
      const id = int64(req.ID, 'ID')
      // Only the leader's lessor counts down (kv/lease.ts); a follower would report the
      // full TTL. etcd's followers ask the leader too.
      return onLeader(ctx, 'Lease', 'LeaseTimeToLive', call, async () => {
        check(await backend.readBarrier())
        const store = backend.store
        const r = timeToLive(store, id, Date.now(), { keys: req.keys === true })
        if (isEtcdError(r)) {
          if (!isLeaseNotFound(r)) throw etcdFailure(r)
          // etcd answers a missing lease with TTL -1 rather than an error.
          return { header: hdr(store.revision), ID: id, TTL: -1, grantedTTL: 0, keys: [] }
        }
        return {
          header: hdr(r.header.revision),
          ID: r.id,
          TTL: r.ttl,
          grantedTTL: r.grantedTtl,
          keys: r.keys,
        }
      })
    }),

    LeaseLeases: unary(ctx, 'LeaseLeases', async () => {
      const store = backend.store
      return {
        header: hdr(store.revision),
        leases: leases(store).map((lease) => ({ ID: lease.id })),
      }
    }),

    LeaseKeepAlive: (call: KeepAliveCall) => serveKeepAlive(ctx, call),
  }
}

type KeepAliveCall = grpc.ServerDuplexStream<WireLeaseIdRequest, object>

/** A keep-alive stream opened on the leader on behalf of a client of this follower. */
interface Upstream {
  readonly address: string
  readonly stream: grpc.ClientDuplexStream<object, object>
  /** Requests sent and not answered yet: the leader answers in order. */
  readonly waiting: { resolve: (response: object) => void; reject: (err: GrpcFailure) => void }[]
  failure: GrpcFailure | undefined
}

/**
 * Each request renews one lease and is answered by one response, in order: requests are
 * handled one at a time, on this node if it leads, else on a stream to the leader that lives
 * as long as the client's and follows the leader when it changes.
 */
function serveKeepAlive(ctx: ApiContext, call: KeepAliveCall): void {
  const { backend } = ctx
  let ended = false
  let upstream: Upstream | undefined
  let queue: Promise<void> = Promise.resolve()

  const closeUpstream = (): void => {
    if (upstream === undefined) return
    const { stream } = upstream
    upstream = undefined
    stream.cancel()
  }

  const finish = (how: 'ok' | 'gone' | grpc.StatusObject): void => {
    if (ended) return
    ended = true
    closeUpstream()
    untrack()
    if (how === 'ok') call.end()
    else if (how !== 'gone') call.emit('error', how)
  }
  const untrack = ctx.track(() =>
    finish(toStatus(etcdFailure(ErrStopped), 'LeaseKeepAlive', ctx.log)),
  )

  const openUpstream = (address: string): Upstream => {
    const stream = ctx.leader.bidi('Lease', 'LeaseKeepAlive', address, call)
    const up: Upstream = { address, stream, waiting: [], failure: undefined }
    const fail = (failure: GrpcFailure): void => {
      up.failure ??= failure
      for (const waiter of up.waiting.splice(0)) waiter.reject(up.failure)
      if (upstream === up) upstream = undefined
    }
    stream.on('data', (response: object) => up.waiting.shift()?.resolve(response))
    stream.on('error', (err: grpc.ServiceError) => {
      logUnreachable(ctx.log, err, 'Lease/LeaseKeepAlive', address)
      fail(leaderError(err))
    })
    stream.on('end', () => fail(etcdFailure(ErrLeaderChanged)))
    return up
  }

  const viaLeader = (address: string, req: WireLeaseIdRequest): Promise<object> => {
    if (upstream !== undefined && upstream.address !== address) closeUpstream()
    upstream ??= openUpstream(address)
    const up = upstream
    return new Promise((resolve, reject) => {
      if (up.failure !== undefined) return reject(up.failure)
      up.waiting.push({ resolve, reject })
      up.stream.write(req)
    })
  }

  const renew = async (req: WireLeaseIdRequest): Promise<void> => {
    if (ended) return
    let response: object
    if (backend.isLeader()) {
      closeUpstream()
      const id = int64(req.ID, 'ID')
      const r = await backend.leaseKeepAlive(id)
      if (isEtcdError(r)) {
        if (!isLeaseNotFound(r)) throw etcdFailure(r)
        // etcd tells a client whose lease is gone with TTL 0, and keeps the stream open.
        response = { header: header(ctx, backend.store.revision), ID: id, TTL: 0 }
      } else {
        response = { header: header(ctx, r.header.revision), ID: r.id, TTL: r.ttl }
      }
    } else {
      response = await viaLeader(forwardTarget(call, backend.leaderClientAddress()), req)
    }
    if (!ended) call.write(response)
  }

  const enqueue = (step: () => Promise<void> | void): void => {
    queue = queue
      .then(step)
      .catch((err: unknown) => finish(toStatus(err, 'LeaseKeepAlive', ctx.log)))
  }

  call.on('data', (req: WireLeaseIdRequest) => enqueue(() => renew(req)))
  // Answer what was asked before the client closed its side, then end.
  call.on('end', () => enqueue(() => finish('ok')))
  call.on('cancelled', () => finish('gone'))
  call.on('error', () => finish('gone'))
}
