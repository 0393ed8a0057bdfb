// Requests only the leader serves (lease renewal, membership, leadership transfer) that reach a
// follower are sent on to the leader's own etcd API, as they arrived, and the leader's answer
// (response or error) goes back to the client unchanged. The client then sees one etcd cluster
// however it picked its endpoint. Writes do not come this way: a follower hands them to the
// leader over the peer connection, as etcd's followers do, and answers them itself once applied
// (RaftNode.propose), which costs both nodes far less than a second gRPC call.
//
// A forwarded request carries a marker; a node that receives one and is not the leader
// refuses it ("leader changed") instead of forwarding again, so two nodes that each believe
// the other leads cannot bounce a request between them forever.

import * as grpc from '@grpc/grpc-js'
import { ErrLeaderChanged, ErrNoLeader, ErrTimeout } from '../errors'
import type { Logger } from '../logger'
import { methodDefinition, type ServiceName } from './proto'
import { etcdFailure, GrpcFailure } from './status'

export const FORWARDED_BY = 'raftlab-forwarded-by'

/** How long a forwarded call may take when the client set no deadline of its own. */
export const DEFAULT_FORWARD_TIMEOUT_MS = 30_000

export type ServerCall =
  | grpc.ServerUnaryCall<object, object>
  | grpc.ServerReadableStream<object, object>
  | grpc.ServerWritableStream<object, object>
  | grpc.ServerDuplexStream<object, object>

export interface LeaderClients {
  /** Sends the call's request to the leader and resolves with the leader's response. */
  unary(
    service: ServiceName,
    method: string,
    call: grpc.ServerUnaryCall<object, object>,
  ): Promise<object>
  /** Opens the same bidirectional stream on the leader. */
  bidi(
    service: ServiceName,
    method: string,
    address: string,
    call: grpc.ServerDuplexStream<object, object>,
  ): grpc.ClientDuplexStream<object, object>
  close(): void
}

export interface LeaderClientsOptions {
  /** This node's member ID, recorded in the marker for the leader's logs. */
  readonly memberId: () => string
  /** The leader's client address, undefined when no leader is known. */
  readonly leaderAddress: () => string | undefined
  readonly timeoutMs?: number
  readonly log: Logger
}

/** Whether the call was already forwarded once (see the top of this file). */
export function wasForwarded(call: ServerCall): boolean {
  return call.metadata.get(FORWARDED_BY).length > 0
}

/** The leader's address to forward `call` to, or the etcd error that answers it instead. */
export function forwardTarget(call: ServerCall, leaderAddress: string | undefined): string {
  if (leaderAddress === undefined) throw etcdFailure(ErrNoLeader)
  if (wasForwarded(call)) throw etcdFailure(ErrLeaderChanged)
  return leaderAddress.replace(/^https?:\/\//, '')
}

export function createLeaderClients(opts: LeaderClientsOptions): LeaderClients {
  // One channel per leader address: leaders change rarely, and a reused channel keeps its
  // HTTP/2 connection.
  const clients = new Map<string, grpc.Client>()
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS

  const clientFor = (address: string): grpc.Client => {
    let client = clients.get(address)
    if (client === undefined) {
      client = new grpc.Client(address, grpc.credentials.createInsecure(), {
        // The leader's answer is the client's answer: whatever size it is, pass it on.
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        'grpc.enable_channelz': 0,
      })
      clients.set(address, client)
    }
    return client
  }

  const marker = (): grpc.Metadata => {
    const metadata = new grpc.Metadata()
    metadata.set(FORWARDED_BY, opts.memberId())
    return metadata
  }

  return {
    unary(service, method, call) {
      const address = forwardTarget(call, opts.leaderAddress())
      const definition = methodDefinition(service, method)
      return new Promise((resolve, reject) => {
        clientFor(address).makeUnaryRequest(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          call.request,
          marker(),
          // `parent` passes on the client's own deadline (the earlier one wins) and its
          // cancellation.
          { parent: call, deadline: Date.now() + timeoutMs },
          (err, response) => {
            if (err) {
              logUnreachable(opts.log, err, `${service}/${method}`, address)
              reject(leaderError(err))
            } else if (response === undefined) reject(etcdFailure(ErrLeaderChanged))
            else resolve(response)
          },
        )
      })
    },

    bidi(service, method, address, call) {
      const definition = methodDefinition(service, method)
      return clientFor(address).makeBidiStreamRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        marker(),
        { parent: call },
      )
    },

    close() {
      for (const client of clients.values()) client.close()
      clients.clear()
    },
  }
}

/**
 * Logs a forwarded call that failed on the way to the leader: the leader's own answers
 * (etcd's errors) are the client's business, and a cancelled call is one this node or its
 * client gave up on.
 */
export function logUnreachable(
  log: Logger,
  err: grpc.ServiceError,
  method: string,
  leader: string,
): void {
  const answered = err.details.startsWith('etcdserver: ') || err.details.startsWith('raftlab: ')
  if (answered || err.code === grpc.status.CANCELLED) return
  log('warn', 'etcd API: forwarding to the leader failed', {
    method,
    leader,
    code: err.code,
    error: err.details,
  })
}

/**
 * The leader's error as this node answers it. Its own errors pass through untouched; a
 * deadline that ran out on the way is etcd's "request timed out", since the write may or may
 * not have been applied.
 */
export function leaderError(err: grpc.ServiceError): GrpcFailure {
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return etcdFailure(ErrTimeout)
  return new GrpcFailure(err.code, err.details)
}
