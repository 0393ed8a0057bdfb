// What the replicated log carries, and how a node applies it. Applying is deterministic: the
// same commands at the same indexes leave every node in the same state, which is the whole
// point of the log. Reads are not commands (they go through ReadIndex), and neither are lease
// keep-alives (they only move the leader's deadlines, see lease.ts).

import {
  checkDeleteRangeRequest,
  checkPutRequest,
  checkTxnRequest,
  MAX_REQUEST_BYTES,
} from './check'
import { ErrRequestTooLarge, type EtcdError } from './errors'
import { compact, deleteRange, put } from './kv'
import { leaseCheckpoint, leaseGrant, leaseRevoke } from './lease'
import type { Store } from './store'
import { txn } from './txn'
import { encodeCommand } from './commandcodec'
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeOp,
  DeleteRangeResponse,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  PutOp,
  PutResponse,
  TxnOp,
  TxnResponse,
} from './types'

export interface CompactCommand extends CompactionRequest {
  readonly type: 'compact'
}
export interface LeaseGrantCommand extends LeaseGrantRequest {
  readonly type: 'leaseGrant'
}
export interface LeaseRevokeCommand extends LeaseRevokeRequest {
  readonly type: 'leaseRevoke'
}
export interface LeaseCheckpointCommand extends LeaseCheckpointRequest {
  readonly type: 'leaseCheckpoint'
}

export type Command =
  | PutOp
  | DeleteRangeOp
  | TxnOp
  | CompactCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand
  | LeaseCheckpointCommand

interface ResponseByType {
  readonly put: PutResponse
  readonly deleteRange: DeleteRangeResponse
  readonly txn: TxnResponse
  readonly compact: CompactionResponse
  readonly leaseGrant: LeaseGrantResponse
  readonly leaseRevoke: LeaseRevokeResponse
  readonly leaseCheckpoint: LeaseCheckpointResponse
}

/** The response a command of type C produces when it succeeds. */
export type CommandResponse<C extends Command = Command> = ResponseByType[C['type']]

/** The checks that need only the command: a leader makes them before proposing. */
export function checkCommand(cmd: Command): EtcdError | undefined {
  switch (cmd.type) {
    case 'put':
      return checkPutRequest(cmd)
    case 'deleteRange':
      return checkDeleteRangeRequest(cmd)
    case 'txn':
      return checkTxnRequest(cmd)
    case 'compact':
    case 'leaseGrant':
    case 'leaseRevoke':
    case 'leaseCheckpoint':
      return undefined
  }
}

/**
 * A command checked and encoded for Propose, or the error to answer the client with. Like
 * etcd, the size limit applies to the encoded entry, not to the client's gRPC message.
 *
 * Remembered per command object: the API layer encodes a write to check its size before it
 * decides where to send it, and the leader's propose encodes the same object again.
 */
export function encodeProposal(cmd: Command): Uint8Array | EtcdError {
  const known = encoded.get(cmd)
  if (known !== undefined) return known
  const bad = checkCommand(cmd)
  const data = bad === undefined ? encodeCommand(cmd) : undefined
  const answer =
    bad ?? (data !== undefined && data.length <= MAX_REQUEST_BYTES ? data : ErrRequestTooLarge)
  encoded.set(cmd, answer)
  return answer
}

const encoded = new WeakMap<Command, Uint8Array | EtcdError>()

/**
 * Applies the command of the log entry at `index`. Returns its response, or the etcd error it
 * ends with (the entry still counts as applied: every node fails it the same way), or
 * undefined if `index` was already applied, as happens when a restarted node replays its log
 * over a snapshot. `now` is this node's clock in ms, used only by a primary lessor to start
 * the deadline of a lease it grants.
 */
export function applyCommand<C extends Command>(
  store: Store,
  cmd: C,
  index: number,
  now: number,
): CommandResponse<C> | EtcdError | undefined {
  if (index <= store.appliedIndex) return undefined
  store.appliedIndex = index
  return execute(store, cmd, now) as CommandResponse<C> | EtcdError
}

/** Records that the entry at `index` carried no command (a leader's no-op, a conf change). */
export function markApplied(store: Store, index: number): void {
  if (index > store.appliedIndex) store.appliedIndex = index
}

function execute(store: Store, cmd: Command, now: number): CommandResponse | EtcdError {
  switch (cmd.type) {
    case 'put':
      return put(store, cmd)
    case 'deleteRange':
      return deleteRange(store, cmd)
    case 'txn':
      return txn(store, cmd)
    case 'compact':
      return compact(store, cmd)
    case 'leaseGrant':
      return leaseGrant(store, cmd, now)
    case 'leaseRevoke':
      return leaseRevoke(store, cmd)
    case 'leaseCheckpoint':
      return leaseCheckpoint(store, cmd)
  }
}
