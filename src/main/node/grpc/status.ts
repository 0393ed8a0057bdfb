// How a call fails: every refusal is thrown as a GrpcFailure carrying the gRPC status code and
// the exact text to send, so handlers read straight through and one place turns what they
// throw into a status. etcd's errors keep etcd's texts: clientv3, etcdctl and the etcd3
// package recognise an error by its message.

import * as grpc from '@grpc/grpc-js'
import { GRPC_STATUS, isEtcdError, type EtcdError } from '../../kv'
import type { Logger } from '../logger'

export class GrpcFailure extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details)
    this.name = 'GrpcFailure'
  }
}

function grpcCode(err: EtcdError): grpc.status {
  return (
    (GRPC_STATUS as Readonly<Record<string, number | undefined>>)[err.code] ?? grpc.status.UNKNOWN
  )
}

export function etcdFailure(err: EtcdError): GrpcFailure {
  return new GrpcFailure(grpcCode(err), err.message)
}

/** The response, or the etcd error it is thrown as. */
export function unwrap<T>(result: T | EtcdError): T {
  if (isEtcdError(result)) throw etcdFailure(result)
  return result
}

/** Throws the barrier's error, if the read cannot be served. */
export function check(err: EtcdError | undefined): void {
  if (err !== undefined) throw etcdFailure(err)
}

export function unimplemented(what: string): GrpcFailure {
  return new GrpcFailure(grpc.status.UNIMPLEMENTED, `raftlab: ${what}`)
}

export function invalidArgument(what: string): GrpcFailure {
  return new GrpcFailure(grpc.status.INVALID_ARGUMENT, `raftlab: ${what}`)
}

/**
 * The status a call ends with when its handler threw. Anything that is not a deliberate
 * refusal is a bug in this server: it becomes INTERNAL with its message and is logged, and the
 * process carries on serving.
 */
export function toStatus(err: unknown, method: string, log: Logger): grpc.StatusObject {
  const metadata = new grpc.Metadata()
  if (err instanceof GrpcFailure) return { code: err.code, details: err.details, metadata }
  if (isEtcdError(err)) return { code: grpcCode(err), details: err.message, metadata }
  const message = err instanceof Error ? err.message : String(err)
  log('error', `etcd API: ${method} failed unexpectedly`, {
    method,
    error: err instanceof Error ? (err.stack ?? message) : message,
  })
  return {
    code: grpc.status.INTERNAL,
    details: `raftlab: internal error in ${method}: ${message}`,
    metadata,
  }
}

/** etcd texts the API layer answers itself (the others come from kv/ and node/errors.ts). */
export const ErrMemberBadURLs: EtcdError = Object.freeze({
  code: 'InvalidArgument',
  message: 'etcdserver: given member URLs are invalid',
})
export const ErrAuthNotEnabled: EtcdError = Object.freeze({
  code: 'FailedPrecondition',
  message: 'etcdserver: authentication is not enabled',
})
