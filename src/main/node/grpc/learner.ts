// What a learner serves its clients. etcd 3.4 lets a learner answer only what it can answer
// from its own state without pretending to be a voter: Maintenance.Status and a serializable
// Range. Every other unary call (writes, linearizable reads, leases, compaction, membership,
// hashes, alarms) and every stream (Watch, LeaseKeepAlive, Snapshot) is refused with
// "etcdserver: rpc not supported for learner" before its handler runs, by etcd's gRPC
// interceptors. The same rule sits here, once, around every service, rather than in each
// handler. A node that is not a member of its applied membership yet (one still joining) is
// not a learner, as in etcd.

import type * as grpc from '@grpc/grpc-js'
import { ErrNotSupportedForLearner } from '../errors'
import type { ApiContext } from './context'
import { serviceDefinition, type ServiceName } from './proto'
import { etcdFailure, toStatus } from './status'

/** etcd 3.4's isRPCSupportedForLearner. */
function supportedForLearner(service: ServiceName, method: string, request: unknown): boolean {
  if (service === 'Maintenance') return method === 'Status'
  if (service === 'KV' && method === 'Range') {
    return (request as { serializable?: boolean } | null)?.serializable === true
  }
  return false
}

/** `impl` with every call a learner must not serve refused while this node is a learner. */
export function refuseOnLearner(
  ctx: ApiContext,
  service: ServiceName,
  impl: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const definition = serviceDefinition(service)
  const refusal = (method: string): grpc.StatusObject =>
    toStatus(etcdFailure(ErrNotSupportedForLearner), `${service}/${method}`, ctx.log)
  const guarded: grpc.UntypedServiceImplementation = {}
  for (const [method, handler] of Object.entries(impl)) {
    const streams = definition[method]?.requestStream || definition[method]?.responseStream
    if (!streams) {
      const serve = handler as grpc.handleUnaryCall<unknown, unknown>
      guarded[method] = ((call, callback) => {
        if (ctx.backend.isLearner() && !supportedForLearner(service, method, call.request)) {
          callback(refusal(method))
        } else {
          serve(call, callback)
        }
      }) as grpc.handleUnaryCall<unknown, unknown>
    } else {
      const serve = handler as (call: grpc.ServerDuplexStream<unknown, unknown>) => void
      guarded[method] = ((call) => {
        if (ctx.backend.isLearner()) call.emit('error', refusal(method))
        else serve(call)
      }) as (call: grpc.ServerDuplexStream<unknown, unknown>) => void
    }
  }
  return guarded
}
