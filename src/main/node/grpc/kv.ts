// etcd's KV service. Reads are served from this node's applied store, after a read barrier
// unless the client asked for a serializable read (etcd's two read paths); writes go through
// the log on the leader (see context.ts).

import type * as grpc from '@grpc/grpc-js'
import { range, txn } from '../../kv'
import { headerOf, unary, write, type ApiContext } from './context'
import { check, unwrap } from './status'
import { UNSAFE } from './unsafe'
import {
  deleteRangeRequest,
  deleteRangeResponse,
  int64,
  isReadOnlyTxn,
  isSerializableTxn,
  putRequest,
  putResponse,
  rangeRequest,
  rangeResponse,
  txnRequest,
  txnResponse,
  type Long,
  type WireDeleteRangeRequest,
  type WirePutRequest,
  type WireRangeRequest,
  type WireTxnRequest,
} from './wire'

interface WireCompactionRequest {
  readonly revision?: Long
  readonly physical?: boolean
}

export function kvService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx
  const hdr = headerOf(ctx)
  // Test-only (unsafe.ts): whether this node ever led, for the stale-read mode.
  let led = false

  return {
    Range: unary(ctx, 'Range', async (req: WireRangeRequest) => {
      const request = rangeRequest(req)
      led ||= backend.isLeader()
      const stale = UNSAFE === 'stale-read' && led
      if (!request.serializable && !stale) check(await backend.readBarrier())
      return rangeResponse(unwrap(range(backend.store, request)), hdr)
    }),

    Put: unary(ctx, 'Put', (req: WirePutRequest, call) =>
      write(ctx, call, { type: 'put', ...putRequest(req) }, (r) => putResponse(r, hdr)),
    ),

    DeleteRange: unary(ctx, 'DeleteRange', (req: WireDeleteRangeRequest, call) =>
      write(ctx, call, { type: 'deleteRange', ...deleteRangeRequest(req) }, (r) =>
        deleteRangeResponse(r, hdr),
      ),
    ),

    Txn: unary(ctx, 'Txn', async (req: WireTxnRequest, call) => {
      const request = txnRequest(req)
      if (isReadOnlyTxn(req)) {
        if (!isSerializableTxn(req)) check(await backend.readBarrier())
        // A txn without puts or deletes changes nothing (kv's txn bumps the revision only
        // when something changed), so like a Range it runs on the applied store directly.
        return txnResponse(unwrap(txn(backend.store, request)), hdr)
      }
      return write(ctx, call, { type: 'txn', ...request }, (r) => txnResponse(r, hdr))
    }),

    Compact: unary(ctx, 'Compact', (req: WireCompactionRequest, call) => {
      const cmd = {
        type: 'compact',
        revision: int64(req.revision, 'revision'),
        physical: req.physical === true,
      } as const
      return write(ctx, call, cmd, (r) => ({ header: hdr(r.header.revision) }))
    }),
  }
}
