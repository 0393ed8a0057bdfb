// The etcd v3 gRPC server of a node: the six services of rpc.proto over one EtcdBackend.

import * as grpc from '@grpc/grpc-js'
import { MAX_REQUEST_BYTES } from '../../kv'
import type { EtcdBackend } from '../backend'
import { silentLogger, type Logger } from '../logger'
import { clusterService } from './cluster'
import type { ApiContext } from './context'
import { createLeaderClients, DEFAULT_FORWARD_TIMEOUT_MS } from './forward'
import { kvService } from './kv'
import { leaseService } from './lease'
import { refuseOnLearner } from './learner'
import { authService, maintenanceService } from './maintenance'
import { serviceDefinition, type ServiceName } from './proto'
import { DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS, watchService } from './watch'

/**
 * etcd's grpcOverheadBytes: the server takes messages up to --max-request-bytes plus this, so
 * that a request just under the limit is refused by the limit's own error, not by gRPC's.
 */
const GRPC_OVERHEAD_BYTES = 512 * 1024

/** How long close() lets calls in flight finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 1_000

export interface EtcdServerOptions {
  /** Address to listen on, e.g. "127.0.0.1" (an IPv6 address without brackets). */
  readonly host: string
  /** 0 picks a free port; the chosen one is in the result. */
  readonly port: number
  readonly log?: Logger
  /** How often an idle watch with progress_notify hears the current revision. */
  readonly progressNotifyIntervalMs?: number
  /** The longest a request forwarded to the leader may take without a client deadline. */
  readonly forwardTimeoutMs?: number
}

export interface EtcdServer {
  readonly port: number
  /** Ends open streams, lets unary calls finish briefly, then stops listening. Idempotent. */
  close(): Promise<void>
}

export async function startEtcdServer(
  backend: EtcdBackend,
  opts: EtcdServerOptions,
): Promise<EtcdServer> {
  const log = opts.log ?? silentLogger
  const streams = new Set<() => void>()
  const leader = createLeaderClients({
    memberId: () => backend.header().memberId,
    leaderAddress: () => backend.leaderClientAddress(),
    timeoutMs: opts.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS,
    log,
  })
  const ctx: ApiContext = {
    backend,
    log,
    leader,
    progressNotifyIntervalMs: opts.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
    track(end) {
      streams.add(end)
      return () => {
        streams.delete(end)
      }
    },
  }

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES + GRPC_OVERHEAD_BYTES,
    // Channelz keeps per-call statistics for a debugging service we do not serve: CPU on
    // every call (about 5% of a busy node's).
    'grpc.enable_channelz': 0,
  })
  const services: Record<ServiceName, grpc.UntypedServiceImplementation> = {
    KV: kvService(ctx),
    Watch: watchService(ctx),
    Lease: leaseService(ctx),
    Cluster: clusterService(ctx),
    Maintenance: maintenanceService(ctx),
    Auth: authService(ctx),
  }
  for (const name of Object.keys(services) as ServiceName[]) {
    server.addService(serviceDefinition(name), refuseOnLearner(ctx, name, services[name]))
  }

  const hostPort = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) {
        reject(
          new Error(
            `etcd API: cannot listen on ${hostPort}: ${err.message}` +
              ' (is another node or etcd using the port? pick another client port)',
          ),
        )
      } else {
        resolve(bound)
      }
    })
  })
  log('info', 'etcd API listening', { host: opts.host, port })

  const shutdown = async (): Promise<void> => {
    for (const end of [...streams]) end()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown()
        resolve()
      }, SHUTDOWN_GRACE_MS)
      server.tryShutdown(() => {
        clearTimeout(timer)
        resolve()
      })
    })
    leader.close()
    log('info', 'etcd API stopped', { host: opts.host, port })
  }
  let closing: Promise<void> | undefined
  return {
    port,
    close: () => (closing ??= shutdown()),
  }
}
