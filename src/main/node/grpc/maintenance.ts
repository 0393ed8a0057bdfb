// etcd's Maintenance and Auth services, as far as a RaftLab node has them: status, hashes
// and leadership transfer are real; alarms never fire (no space quota), defragmentation has
// nothing to do (the store lives in memory), and there is no authentication.

import * as grpc from '@grpc/grpc-js'
import { ErrCompacted, ErrFutureRev, hash } from '../../kv'
import { ErrNoLeader } from '../errors'
import { header, onLeader, unary, type ApiContext } from './context'
import { serviceDefinition } from './proto'
import { check, ErrAuthNotEnabled, etcdFailure, toStatus, unimplemented } from './status'
import { int64, uint64, uint64String, type Long } from './wire'

interface WireHashKVRequest {
  readonly revision?: Long
}

interface WireMoveLeaderRequest {
  readonly targetID?: Long
}

export function maintenanceService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx

  return {
    Alarm: unary(ctx, 'Alarm', async () => ({ header: header(ctx), alarms: [] })),

    Status: unary(ctx, 'Status', async () => {
      const status = backend.status()
      // etcd's Status tells a member without a leader by its errors (etcdctl's ERRORS column).
      const errors = status.leader === 0 ? [...status.errors, ErrNoLeader.message] : status.errors
      return {
        header: header(ctx),
        version: status.version,
        dbSize: status.dbSize,
        leader: uint64String(status.leader),
        raftIndex: status.raftIndex,
        raftTerm: status.raftTerm,
        raftAppliedIndex: status.raftAppliedIndex,
        errors: [...errors],
        dbSizeInUse: status.dbSize,
        isLearner: status.isLearner,
      }
    }),

    Defragment: unary(ctx, 'Defragment', async () => ({ header: header(ctx) })),

    Hash: unary(ctx, 'Hash', async () => {
      const store = backend.store
      return { header: header(ctx, store.revision), hash: hash(store) }
    }),

    HashKV: unary(ctx, 'HashKV', async (req: WireHashKVRequest) => {
      const store = backend.store
      const revision = int64(req.revision, 'revision')
      // etcd's HashByRev: a revision at or below the compaction is gone (unlike a read at
      // it), even when it is the current one.
      if (revision > 0 && revision <= store.compactRevision) throw etcdFailure(ErrCompacted)
      if (revision !== 0 && revision !== store.revision) {
        if (revision > store.revision) throw etcdFailure(ErrFutureRev)
        throw unimplemented(
          `HashKV at a past revision (${revision}) is not supported: ` +
            `RaftLab hashes the current state (revision ${store.revision}); ask for revision 0`,
        )
      }
      return {
        header: header(ctx, store.revision),
        hash: hash(store),
        compact_revision: store.compactRevision,
      }
    }),

    Snapshot: (call: grpc.ServerWritableStream<object, object>) => {
      const failure = unimplemented(
        'Snapshot is not supported: export the cluster from RaftLab (a debug bundle holds a ' +
          'KV dump) instead of streaming a bbolt database',
      )
      call.emit('error', toStatus(failure, 'Snapshot', ctx.log))
    },

    MoveLeader: unary(ctx, 'MoveLeader', (req: WireMoveLeaderRequest, call) => {
      const target = uint64(req.targetID, 'targetID')
      return onLeader(ctx, 'Maintenance', 'MoveLeader', call, async () => {
        check(await backend.moveLeader(target))
        return { header: header(ctx) }
      })
    }),

    Downgrade: unary(ctx, 'Downgrade', async () => {
      throw unimplemented('Downgrade is not supported: RaftLab nodes have one storage version')
    }),
  }
}

/** Auth is never enabled: what etcd answers with auth off, where that is an answer at all. */
export function authService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const unsupported: grpc.UntypedServiceImplementation = {}
  for (const method of Object.keys(serviceDefinition('Auth'))) {
    unsupported[method] = unary(ctx, method, async () => {
      throw unimplemented(`${method} is not supported: RaftLab clusters run without authentication`)
    })
  }
  return {
    ...unsupported,
    AuthStatus: unary(ctx, 'AuthStatus', async () => ({
      header: header(ctx),
      enabled: false,
      authRevision: 0,
    })),
    // Disabling what is already off succeeds in etcd too.
    AuthDisable: unary(ctx, 'AuthDisable', async () => ({ header: header(ctx) })),
    Authenticate: unary(ctx, 'Authenticate', async () => {
      throw etcdFailure(ErrAuthNotEnabled)
    }),
  }
}
