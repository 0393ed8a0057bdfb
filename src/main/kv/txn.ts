// etcd's Txn: compares decide which branch runs, and the whole branch, nested txns included,
// is one write at one revision. As in etcd's applier, every compare on the chosen path is
// evaluated against the state before the txn, and every op on that path is checked before the
// first one runs, so a txn either applies completely or not at all.

import { compareBytes, EMPTY_BYTES, keyRange } from './bytes'
import { checkTxnRequest } from './check'
import { ErrCompacted, ErrFutureRev, type EtcdError } from './errors'
import { applyDeleteRange, applyPut, checkPut, rangeAt } from './kv'
import {
  beginWrite,
  endWrite,
  readRange,
  txnReadRevision,
  type Store,
  type WriteTxn,
} from './store'
import type { Compare, KeyValue, RequestOp, ResponseOp, TxnRequest, TxnResponse } from './types'

export function txn(store: Store, req: TxnRequest): TxnResponse | EtcdError {
  const bad = checkTxnRequest(req)
  if (bad !== undefined) return bad
  const path: boolean[] = []
  choosePath(store, req, path)
  // Puts are checked before ranges (etcd's order), each in path order.
  const badPut = checkPath(req, path, { next: 0 }, (op) =>
    op.type === 'put' ? checkPut(store, op) : undefined,
  )
  if (badPut !== undefined) return badPut
  const badRange = checkPath(req, path, { next: 0 }, (op) =>
    op.type === 'range' ? checkRangeRevision(store, op.revision ?? 0) : undefined,
  )
  if (badRange !== undefined) return badRange

  const tx = beginWrite(store)
  const response = applyBranch(tx, req, path, { next: 0 })
  const revision = endWrite(tx)
  return { ...response, header: { revision } }
}

/** Records, in pre-order, whether each txn on the chosen path takes its success branch. */
function choosePath(store: Store, req: TxnRequest, path: boolean[]): void {
  const succeeded = req.compare.every((c) => compareHolds(store, c))
  path.push(succeeded)
  for (const op of succeeded ? req.success : req.failure) {
    if (op.type === 'txn') choosePath(store, op, path)
  }
}

interface Cursor {
  next: number
}

function branchOf(req: TxnRequest, path: readonly boolean[], cursor: Cursor): readonly RequestOp[] {
  const succeeded = path[cursor.next++]
  if (succeeded === undefined) throw new Error('txn: path shorter than the nesting of the request')
  return succeeded ? req.success : req.failure
}

function checkPath(
  req: TxnRequest,
  path: readonly boolean[],
  cursor: Cursor,
  check: (op: RequestOp) => EtcdError | undefined,
): EtcdError | undefined {
  for (const op of branchOf(req, path, cursor)) {
    const bad = op.type === 'txn' ? checkPath(op, path, cursor, check) : check(op)
    if (bad !== undefined) return bad
  }
  return undefined
}

/** A range inside a txn reads at most the revision the txn started from. */
function checkRangeRevision(store: Store, revision: number): EtcdError | undefined {
  if (revision <= 0) return undefined
  if (revision > store.revision) return ErrFutureRev
  if (revision < store.compactRevision) return ErrCompacted
  return undefined
}

function applyBranch(
  tx: WriteTxn,
  req: TxnRequest,
  path: readonly boolean[],
  cursor: Cursor,
): TxnResponse {
  const succeeded = path[cursor.next] === true
  const responses = branchOf(req, path, cursor).map((op) => applyOp(tx, op, path, cursor))
  return { header: { revision: txnReadRevision(tx) }, succeeded, responses }
}

function applyOp(
  tx: WriteTxn,
  op: RequestOp,
  path: readonly boolean[],
  cursor: Cursor,
): ResponseOp {
  switch (op.type) {
    case 'range': {
      const response = rangeAt(tx.store, op, txnReadRevision(tx))
      if ('code' in response)
        throw new Error(`txn: range passed its check but failed: ${response.message}`)
      return { type: 'range', response }
    }
    case 'put':
      return { type: 'put', response: applyPut(tx, op) }
    case 'deleteRange':
      return { type: 'deleteRange', response: applyDeleteRange(tx, op) }
    case 'txn':
      return { type: 'txn', response: applyBranch(tx, op, path, cursor) }
  }
}

/** The state a missing key compares as (every number 0); VALUE never matches a missing key. */
const ABSENT: KeyValue = {
  key: EMPTY_BYTES,
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: EMPTY_BYTES,
  lease: 0,
}

/** Whether every key in the compare's range satisfies it, at the current revision. */
export function compareHolds(store: Store, c: Compare): boolean {
  const { kvs } = readRange(store, keyRange(c.key, c.rangeEnd), store.revision, 0, false)
  if (kvs.length === 0) {
    // gRPC cannot tell a missing value from an empty one, so etcd fails VALUE compares here.
    return c.target === 'VALUE' ? false : compareKv(c, ABSENT)
  }
  return kvs.every((kv) => compareKv(c, kv))
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let result: number
  switch (c.target) {
    case 'VERSION':
      result = Math.sign(kv.version - c.version)
      break
    case 'CREATE':
      result = Math.sign(kv.createRevision - c.createRevision)
      break
    case 'MOD':
      result = Math.sign(kv.modRevision - c.modRevision)
      break
    case 'VALUE':
      result = compareBytes(kv.value, c.value)
      break
    case 'LEASE':
      result = Math.sign(kv.lease - c.lease)
      break
  }
  switch (c.result) {
    case 'EQUAL':
      return result === 0
    case 'NOT_EQUAL':
      return result !== 0
    case 'GREATER':
      return result > 0
    case 'LESS':
      return result < 0
  }
}
