// The checks etcd's gRPC layer makes before a request is proposed: they depend only on the
// request, so a bad request is refused without costing a log entry. applyCommand repeats them,
// since a log may hold entries written by anyone who can reach a peer port.

import { binaryString, inKeyRange, keyRange, type KeyRange } from './bytes'
import {
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrInvalidSortOption,
  ErrKeyNotFound,
  ErrLeaseProvided,
  ErrTooManyOps,
  ErrValueProvided,
  type EtcdError,
} from './errors'
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from './types'

/** etcd's default --max-request-bytes: the largest encoded command the cluster accepts. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024

/** etcd's default --max-txn-ops: the most compares or ops in either branch of one txn. */
export const MAX_TXN_OPS = 128

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND']
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']

export function checkRangeRequest(req: RangeRequest): EtcdError | undefined {
  if (req.key.length === 0) return ErrEmptyKey
  if (req.sortOrder !== undefined && !SORT_ORDERS.includes(req.sortOrder)) {
    return ErrInvalidSortOption
  }
  if (req.sortTarget !== undefined && !SORT_TARGETS.includes(req.sortTarget)) {
    return ErrInvalidSortOption
  }
  return undefined
}

export function checkPutRequest(req: PutRequest): EtcdError | undefined {
  if (req.key.length === 0) return ErrEmptyKey
  if (req.ignoreValue === true && req.value.length !== 0) return ErrValueProvided
  if (req.ignoreLease === true && (req.lease ?? 0) !== 0) return ErrLeaseProvided
  return undefined
}

export function checkDeleteRangeRequest(req: DeleteRangeRequest): EtcdError | undefined {
  return req.key.length === 0 ? ErrEmptyKey : undefined
}

export function checkTxnRequest(
  req: TxnRequest,
  maxTxnOps: number = MAX_TXN_OPS,
): EtcdError | undefined {
  // Size first, so the interval check below never sees a huge request.
  const bad = checkTxnOps(req, maxTxnOps)
  if (bad !== undefined) return bad
  const success = checkIntervals(req.success)
  if (!('puts' in success)) return success
  const failure = checkIntervals(req.failure)
  return 'puts' in failure ? undefined : failure
}

function checkTxnOps(req: TxnRequest, maxTxnOps: number): EtcdError | undefined {
  const opc = Math.max(req.compare.length, req.success.length, req.failure.length)
  if (opc > maxTxnOps) return ErrTooManyOps
  for (const c of req.compare) if (c.key.length === 0) return ErrEmptyKey
  // A nested txn shares the budget of its parent, so nesting cannot multiply it.
  for (const op of req.success) {
    const bad = checkRequestOp(op, maxTxnOps - opc)
    if (bad !== undefined) return bad
  }
  for (const op of req.failure) {
    const bad = checkRequestOp(op, maxTxnOps - opc)
    if (bad !== undefined) return bad
  }
  return undefined
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): EtcdError | undefined {
  switch (op.type) {
    case 'range':
      return checkRangeRequest(op)
    case 'put':
      return checkPutRequest(op)
    case 'deleteRange':
      return checkDeleteRangeRequest(op)
    case 'txn':
      return checkTxnOps(op, maxTxnOps)
    default:
      // What etcd answers for an empty RequestOp.
      return ErrKeyNotFound
  }
}

interface Writes {
  /** Keys put, by their binary string. */
  readonly puts: Map<string, Uint8Array>
  readonly dels: KeyRange[]
}

function deletes(dels: readonly KeyRange[], key: Uint8Array): boolean {
  return dels.some((range) => inKeyRange(range, key))
}

/**
 * etcd's rule for one branch of a txn: no key may be written twice, whether by two puts or by
 * a put and a delete, at any nesting depth, because the order of two writes to one key within
 * one revision would be invisible to watchers. Two deletes may overlap, and the two branches
 * of one nested txn may put the same key (only one of them runs).
 *
 * Unlike etcd (whose interval tree reads "\0" as an ordinary end), a delete with rangeEnd "\0"
 * covers every key from `key` on, which is what it deletes.
 */
function checkIntervals(ops: readonly RequestOp[]): Writes | EtcdError {
  const dels: KeyRange[] = []
  for (const op of ops) if (op.type === 'deleteRange') dels.push(keyRange(op.key, op.rangeEnd))

  const puts = new Map<string, Uint8Array>()
  for (const op of ops) {
    if (op.type !== 'txn') continue
    const then = checkIntervals(op.success)
    if (!('puts' in then)) return then
    const otherwise = checkIntervals(op.failure)
    if (!('puts' in otherwise)) return otherwise
    for (const [s, key] of then.puts) {
      if (puts.has(s) || deletes(dels, key)) return ErrDuplicateKey
      puts.set(s, key)
    }
    for (const [s, key] of otherwise.puts) {
      if (puts.has(s) && !then.puts.has(s)) return ErrDuplicateKey
      if (deletes(dels, key)) return ErrDuplicateKey
      puts.set(s, key)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }

  for (const op of ops) {
    if (op.type !== 'put') continue
    const s = binaryString(op.key)
    if (puts.has(s) || deletes(dels, op.key)) return ErrDuplicateKey
    puts.set(s, op.key)
  }
  return { puts, dels }
}
