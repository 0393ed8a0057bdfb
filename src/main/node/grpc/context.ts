// What every service of the API shares: the backend, the log, the clients to the leader, the
// response header, and the two shapes a handler takes (a unary call, a leader-only call).

import * as grpc from '@grpc/grpc-js'
import {
  encodeProposal,
  ErrNotLeader,
  isEtcdError,
  type Command,
  type CommandResponse,
} from '../../kv'
import { LEADER_WAIT_MS, type EtcdBackend } from '../backend'
import { ErrLeaderChanged, ErrNoLeader } from '../errors'
import type { Logger } from '../logger'
import { wasForwarded, type LeaderClients } from './forward'
import type { ServiceName } from './proto'
import { etcdFailure, GrpcFailure, toStatus, unwrap } from './status'
import { UNSAFE } from './unsafe'
import { wireHeader, type WireHeader } from './wire'

export interface ApiContext {
  readonly backend: EtcdBackend
  readonly log: Logger
  readonly leader: LeaderClients
  /** How often a watch that asked for progress_notify hears the current revision when idle. */
  readonly progressNotifyIntervalMs: number
  /**
   * Registers a long-lived stream so that closing the server can end it. Returns the
   * unregister function, to call when the stream ends by itself.
   */
  track(end: () => void): () => void
}

export type UnaryCall = grpc.ServerUnaryCall<object, object>

/** The response header: this member, the current term, and the revision the operation saw. */
export function header(ctx: ApiContext, revision?: number): WireHeader {
  return wireHeader(ctx.backend.header(), revision)
}

/**
 * A unary handler as grpc-js wants it, from an async function that returns the response or
 * throws (see status.ts). Nothing a handler throws escapes to the process.
 */
export function unary<Req extends object>(
  ctx: ApiContext,
  method: string,
  handler: (request: Req, call: UnaryCall) => Promise<object>,
): grpc.handleUnaryCall<object, object> {
  return (call, callback) => {
    let pending: Promise<object>
    try {
      pending = handler(call.request as Req, call)
    } catch (err) {
      pending = Promise.reject(err)
    }
    pending.then(
      (response) => callback(null, response),
      (err: unknown) => callback(toStatus(err, method, ctx.log)),
    )
  }
}

/** Runs `here` on the leader; on a follower, sends the call to the leader instead. */
export async function onLeader(
  ctx: ApiContext,
  service: ServiceName,
  method: string,
  call: UnaryCall,
  here: () => Promise<object>,
): Promise<object> {
  const deadline = Date.now() + LEADER_WAIT_MS
  for (;;) {
    if (ctx.backend.isLeader()) return here()
    // A forwarded call goes no further (the loop guard in forward.ts answers it).
    if (wasForwarded(call)) return ctx.leader.unary(service, method, call)
    const leader = ctx.backend.leaderClientAddress()
    if (leader === undefined) {
      if (Date.now() > deadline) return ctx.leader.unary(service, method, call) // no leader
      await sleep(10)
      continue
    }
    try {
      return await ctx.leader.unary(service, method, call)
    } catch (e) {
      // Only a request that never reached the leader may be sent again: one that did may
      // have been applied, and a second copy would apply twice.
      if (!neverDelivered(e) || Date.now() > deadline) throw e
      while (ctx.backend.leaderClientAddress() === leader && Date.now() < deadline) await sleep(10)
    }
  }
}

function neverDelivered(e: unknown): boolean {
  return (
    e instanceof GrpcFailure &&
    e.code === grpc.status.UNAVAILABLE &&
    /No connection established|ECONNREFUSED/.test(e.details)
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * A write: checked as etcd checks it before proposing (request checks, then the size of the
 * encoded entry), then replicated. A follower hands it to the leader over the peer connection
 * and answers when it has applied it (RaftNode.propose). While no leader is known, or the one
 * asked says it no longer leads (nothing was proposed then), the write waits up to
 * LEADER_WAIT_MS for one, so a client sees a slower answer across a failover, not an error.
 */
export async function write<C extends Command>(
  ctx: ApiContext,
  call: UnaryCall,
  cmd: C,
  toWire: (response: CommandResponse<C>) => object,
): Promise<object> {
  const proposal = encodeProposal(cmd)
  if (isEtcdError(proposal)) throw etcdFailure(proposal)
  if (UNSAFE === 'ack-before-commit' && cmd.type === 'put') {
    // Test-only (unsafe.ts): the answer leaves before the entry commits, on any node (a
    // follower's write is handed to the leader as usual and may never commit).
    const pending = ctx.backend.propose(cmd, proposal)
    const revision = ctx.backend.store.revision + 1
    void pending.catch(() => {})
    return toWire({ header: { revision } } as CommandResponse<C>)
  }
  // A call another node forwarded here over gRPC (from a node of an older build) goes no
  // further: the loop guard of forward.ts.
  if (wasForwarded(call) && !ctx.backend.isLeader()) throw etcdFailure(ErrLeaderChanged)
  const deadline = Date.now() + LEADER_WAIT_MS
  for (;;) {
    const r = await ctx.backend.propose(cmd, proposal)
    if ((r === ErrNoLeader || r === ErrNotLeader) && Date.now() < deadline) {
      await sleep(10)
      continue
    }
    return toWire(unwrap(r) as CommandResponse<C>)
  }
}

/** The header function for one response: the op's revision, or the store's current one. */
export function headerOf(ctx: ApiContext): (revision: number) => WireHeader {
  return (revision) => header(ctx, revision)
}
