// The etcd v3 wire format, loaded from the proto files the `etcd3` package ships, with the
// options etcd3 itself loads them with: the server then speaks exactly the dialect of the
// clients the cluster manager uses, and a request decoded here can be re-sent to the leader
// as it is.

import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * keepCase: field names as in rpc.proto (`range_end`, `create_revision`). longs: String, so an
 * int64 or uint64 never loses bits on the way in (cluster and member IDs use all 64). enums:
 * String, so unknown enum numbers stay numbers and can be refused. defaults: every scalar is
 * present. oneofs: a oneof's member name is readable (`request` of a RequestOp).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth'

/**
 * Resolved through the package rather than a path relative to this file, which would differ
 * between the sources (vitest, tsx) and the bundle in out/main.
 */
export function etcdProtoDir(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('etcd3/package.json')), 'proto')
}

let loaded: protoLoader.PackageDefinition | undefined

export function etcdPackageDefinition(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync(join(etcdProtoDir(), 'rpc.proto'), LOADER_OPTIONS)
  return loaded
}

export function serviceDefinition(service: ServiceName): grpc.ServiceDefinition {
  const definition = etcdPackageDefinition()[`etcdserverpb.${service}`]
  if (definition === undefined || 'format' in definition || 'type' in definition) {
    throw new Error(`rpc.proto of the etcd3 package has no service etcdserverpb.${service}`)
  }
  return definition as grpc.ServiceDefinition
}

export function methodDefinition(
  service: ServiceName,
  method: string,
): grpc.MethodDefinition<object, object> {
  const definition = serviceDefinition(service)[method]
  if (definition === undefined) {
    throw new Error(
      `rpc.proto of the etcd3 package has no method etcdserverpb.${service}/${method}`,
    )
  }
  return definition as grpc.MethodDefinition<object, object>
}
