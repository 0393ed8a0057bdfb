// The log entry format of a Command. Binary, because a 100,000-key import is 100,000 entries:
//
//   u8 format version (1)   u8 command type   body
//
// Types and bodies (int: signed varint, uint: varint, bytes: uint length + bytes, flags: u8):
//   1 put          key:bytes value:bytes lease:int flags(1 prevKv, 2 ignoreValue, 4 ignoreLease)
//   2 deleteRange  key:bytes rangeEnd:bytes flags(1 prevKv)
//   3 txn          uint n, n × compare; uint n, n × op (success); uint n, n × op (failure)
//   4 compact      revision:int flags(1 physical)
//   5 leaseGrant   id:int ttl:int
//   6 leaseRevoke  id:int
//   7 leaseCheckpoint  uint n, n × (id:int remainingTtl:int)
// A txn op is u8 kind (1 range, 2 put, 3 deleteRange, 4 txn) and that request's body; a range
// body is key rangeEnd limit:int revision:int sortOrder:u8 sortTarget:u8
// flags(1 serializable, 2 keysOnly, 4 countOnly) minMod maxMod minCreate maxCreate (ints).
// A compare is target:u8 result:u8 key rangeEnd and the target's operand (int, or bytes for
// VALUE). Enum numbers are rpc.proto's. An absent rangeEnd is encoded empty.
//
// Decoding returns every optional field filled in with its default, and throws an Error that
// names the field and byte offset for anything malformed, including trailing bytes.

import type { Command } from './command'
import { MAX_TXN_OPS } from './check'
import {
  createReader,
  createWriter,
  decodeError,
  readBytes,
  readCount,
  readFlags,
  readInt,
  readU8,
  writeBytes,
  writeInt,
  writeU8,
  writeUint,
  written,
  type Reader,
  type Writer,
} from './codec'
import { EMPTY_BYTES } from './bytes'
import type {
  Compare,
  CompareResult,
  CompareTarget,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from './types'

export const COMMAND_FORMAT_VERSION = 1

const COMMAND_TYPES = [
  'put',
  'deleteRange',
  'txn',
  'compact',
  'leaseGrant',
  'leaseRevoke',
  'leaseCheckpoint',
] as const
const OP_TYPES = ['range', 'put', 'deleteRange', 'txn'] as const
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']
const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']
const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND']
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']

/**
 * Deeper than etcd's op budget lets any valid txn go (each level spends at least one of the
 * 128 ops); it only stops garbage from recursing until the stack overflows.
 */
const MAX_TXN_DEPTH = MAX_TXN_OPS + 1

const PUT_PREV_KV = 1
const PUT_IGNORE_VALUE = 2
const PUT_IGNORE_LEASE = 4
const DELETE_PREV_KV = 1
const RANGE_SERIALIZABLE = 1
const RANGE_KEYS_ONLY = 2
const RANGE_COUNT_ONLY = 4
const COMPACT_PHYSICAL = 1

function indexOf<T>(table: readonly T[], value: T, field: string): number {
  const i = table.indexOf(value)
  if (i < 0) throw new Error(`cannot encode ${field}: unknown value ${String(value)}`)
  return i
}

function flag(on: boolean | undefined, bit: number): number {
  return on === true ? bit : 0
}

export function encodeCommand(cmd: Command): Uint8Array {
  const w = createWriter(64 + ('value' in cmd ? cmd.value.length : 0))
  writeU8(w, COMMAND_FORMAT_VERSION)
  writeU8(w, indexOf(COMMAND_TYPES, cmd.type, 'command type') + 1)
  switch (cmd.type) {
    case 'put':
    case 'deleteRange':
    case 'txn':
      writeOpBody(w, cmd, 0)
      break
    case 'compact':
      writeInt(w, cmd.revision, 'compact.revision')
      writeU8(w, flag(cmd.physical, COMPACT_PHYSICAL))
      break
    case 'leaseGrant':
      writeInt(w, cmd.id, 'leaseGrant.id')
      writeInt(w, cmd.ttl, 'leaseGrant.ttl')
      break
    case 'leaseRevoke':
      writeInt(w, cmd.id, 'leaseRevoke.id')
      break
    case 'leaseCheckpoint':
      writeUint(w, cmd.checkpoints.length, 'leaseCheckpoint.checkpoints')
      for (const checkpoint of cmd.checkpoints) {
        writeInt(w, checkpoint.id, 'leaseCheckpoint.id')
        writeInt(w, checkpoint.remainingTtl, 'leaseCheckpoint.remainingTtl')
      }
      break
  }
  return written(w)
}

function writeOpBody(w: Writer, op: RequestOp, depth: number): void {
  switch (op.type) {
    case 'range':
      writeRange(w, op)
      break
    case 'put':
      writeBytes(w, op.key)
      writeBytes(w, op.value)
      writeInt(w, op.lease ?? 0, 'put.lease')
      writeU8(
        w,
        flag(op.prevKv, PUT_PREV_KV) |
          flag(op.ignoreValue, PUT_IGNORE_VALUE) |
          flag(op.ignoreLease, PUT_IGNORE_LEASE),
      )
      break
    case 'deleteRange':
      writeBytes(w, op.key)
      writeBytes(w, op.rangeEnd ?? EMPTY_BYTES)
      writeU8(w, flag(op.prevKv, DELETE_PREV_KV))
      break
    case 'txn':
      if (depth >= MAX_TXN_DEPTH)
        throw new Error(`cannot encode txn: nested deeper than ${MAX_TXN_DEPTH}`)
      writeTxn(w, op, depth)
      break
  }
}

function writeRange(w: Writer, req: RangeRequest): void {
  writeBytes(w, req.key)
  writeBytes(w, req.rangeEnd ?? EMPTY_BYTES)
  writeInt(w, req.limit ?? 0, 'range.limit')
  writeInt(w, req.revision ?? 0, 'range.revision')
  writeU8(w, indexOf(SORT_ORDERS, req.sortOrder ?? 'NONE', 'range.sortOrder'))
  writeU8(w, indexOf(SORT_TARGETS, req.sortTarget ?? 'KEY', 'range.sortTarget'))
  writeU8(
    w,
    flag(req.serializable, RANGE_SERIALIZABLE) |
      flag(req.keysOnly, RANGE_KEYS_ONLY) |
      flag(req.countOnly, RANGE_COUNT_ONLY),
  )
  writeInt(w, req.minModRevision ?? 0, 'range.minModRevision')
  writeInt(w, req.maxModRevision ?? 0, 'range.maxModRevision')
  writeInt(w, req.minCreateRevision ?? 0, 'range.minCreateRevision')
  writeInt(w, req.maxCreateRevision ?? 0, 'range.maxCreateRevision')
}

function writeTxn(w: Writer, req: TxnRequest, depth: number): void {
  writeUint(w, req.compare.length, 'txn.compare')
  for (const c of req.compare) writeCompare(w, c)
  for (const branch of [req.success, req.failure]) {
    writeUint(w, branch.length, 'txn ops')
    for (const op of branch) {
      writeU8(w, indexOf(OP_TYPES, op.type, 'txn op type') + 1)
      writeOpBody(w, op, depth + 1)
    }
  }
}

function writeCompare(w: Writer, c: Compare): void {
  writeU8(w, indexOf(COMPARE_TARGETS, c.target, 'compare.target'))
  writeU8(w, indexOf(COMPARE_RESULTS, c.result, 'compare.result'))
  writeBytes(w, c.key)
  writeBytes(w, c.rangeEnd ?? EMPTY_BYTES)
  switch (c.target) {
    case 'VERSION':
      writeInt(w, c.version, 'compare.version')
      break
    case 'CREATE':
      writeInt(w, c.createRevision, 'compare.createRevision')
      break
    case 'MOD':
      writeInt(w, c.modRevision, 'compare.modRevision')
      break
    case 'VALUE':
      writeBytes(w, c.value)
      break
    case 'LEASE':
      writeInt(w, c.lease, 'compare.lease')
      break
  }
}

export function decodeCommand(bytes: Uint8Array): Command {
  const r = createReader(bytes, 'command')
  if (bytes.length === 0) throw new Error('command: empty entry data (no format version byte)')
  const version = readU8(r, 'format version')
  if (version !== COMMAND_FORMAT_VERSION) {
    throw new Error(
      `command: unsupported format version ${version} (this build reads version ${COMMAND_FORMAT_VERSION})`,
    )
  }
  const typeAt = r.pos
  const tag = readU8(r, 'command type')
  const type = COMMAND_TYPES[tag - 1]
  if (type === undefined)
    throw decodeError(r, `unknown command type ${tag}`, 'command type', typeAt)
  const cmd = readCommandBody(r, type)
  if (r.pos !== r.end) {
    throw decodeError(r, `${r.end - r.pos} trailing bytes after a complete ${type} command`, 'end')
  }
  return cmd
}

function readCommandBody(r: Reader, type: Command['type']): Command {
  switch (type) {
    case 'put':
    case 'deleteRange':
    case 'txn':
      return readOpBody(r, type, 0) as Command
    case 'compact':
      return {
        type,
        revision: readInt(r, 'compact.revision'),
        physical: readFlags(r, COMPACT_PHYSICAL, 'compact flags') !== 0,
      }
    case 'leaseGrant':
      return { type, id: readInt(r, 'leaseGrant.id'), ttl: readInt(r, 'leaseGrant.ttl') }
    case 'leaseRevoke':
      return { type, id: readInt(r, 'leaseRevoke.id') }
    case 'leaseCheckpoint': {
      const n = readCount(r, 'leaseCheckpoint.checkpoints')
      const checkpoints = []
      for (let i = 0; i < n; i++) {
        checkpoints.push({
          id: readInt(r, `leaseCheckpoint.checkpoints[${i}].id`),
          remainingTtl: readInt(r, `leaseCheckpoint.checkpoints[${i}].remainingTtl`),
        })
      }
      return { type, checkpoints }
    }
  }
}

function readOpBody(r: Reader, type: RequestOp['type'], depth: number): RequestOp {
  switch (type) {
    case 'range':
      return { type, ...readRange(r) }
    case 'put': {
      const key = readBytes(r, 'put.key')
      const value = readBytes(r, 'put.value')
      const lease = readInt(r, 'put.lease')
      const flags = readFlags(r, PUT_PREV_KV | PUT_IGNORE_VALUE | PUT_IGNORE_LEASE, 'put flags')
      return {
        type,
        key,
        value,
        lease,
        prevKv: (flags & PUT_PREV_KV) !== 0,
        ignoreValue: (flags & PUT_IGNORE_VALUE) !== 0,
        ignoreLease: (flags & PUT_IGNORE_LEASE) !== 0,
      }
    }
    case 'deleteRange':
      return {
        type,
        key: readBytes(r, 'deleteRange.key'),
        rangeEnd: readBytes(r, 'deleteRange.rangeEnd'),
        prevKv: readFlags(r, DELETE_PREV_KV, 'deleteRange flags') !== 0,
      }
    case 'txn':
      if (depth >= MAX_TXN_DEPTH) {
        throw decodeError(r, `txn nested deeper than ${MAX_TXN_DEPTH}`, 'txn')
      }
      return { type, ...readTxn(r, depth) }
  }
}

function readRange(r: Reader): RangeRequest {
  const key = readBytes(r, 'range.key')
  const rangeEnd = readBytes(r, 'range.rangeEnd')
  const limit = readInt(r, 'range.limit')
  const revision = readInt(r, 'range.revision')
  const sortOrder = readEnum(r, SORT_ORDERS, 'range.sortOrder')
  const sortTarget = readEnum(r, SORT_TARGETS, 'range.sortTarget')
  const flags = readFlags(r, RANGE_SERIALIZABLE | RANGE_KEYS_ONLY | RANGE_COUNT_ONLY, 'range flags')
  return {
    key,
    rangeEnd,
    limit,
    revision,
    sortOrder,
    sortTarget,
    serializable: (flags & RANGE_SERIALIZABLE) !== 0,
    keysOnly: (flags & RANGE_KEYS_ONLY) !== 0,
    countOnly: (flags & RANGE_COUNT_ONLY) !== 0,
    minModRevision: readInt(r, 'range.minModRevision'),
    maxModRevision: readInt(r, 'range.maxModRevision'),
    minCreateRevision: readInt(r, 'range.minCreateRevision'),
    maxCreateRevision: readInt(r, 'range.maxCreateRevision'),
  }
}

function readEnum<T>(r: Reader, table: readonly T[], field: string): T {
  const at = r.pos
  const n = readU8(r, field)
  const value = table[n]
  if (value === undefined) throw decodeError(r, `unknown enum value ${n}`, field, at)
  return value
}

function readTxn(r: Reader, depth: number): TxnRequest {
  const compare: Compare[] = []
  const nCompare = readCount(r, 'txn.compare count')
  for (let i = 0; i < nCompare; i++) compare.push(readCompare(r))
  const success = readOps(r, 'success', depth)
  const failure = readOps(r, 'failure', depth)
  return { compare, success, failure }
}

function readOps(r: Reader, branch: 'success' | 'failure', depth: number): RequestOp[] {
  const ops: RequestOp[] = []
  const n = readCount(r, `txn.${branch} count`)
  for (let i = 0; i < n; i++) {
    const field = `txn.${branch}[${i}] op type`
    const at = r.pos
    const tag = readU8(r, field)
    const type = OP_TYPES[tag - 1]
    if (type === undefined) throw decodeError(r, `unknown op type ${tag}`, field, at)
    ops.push(readOpBody(r, type, depth + 1))
  }
  return ops
}

function readCompare(r: Reader): Compare {
  const target = readEnum(r, COMPARE_TARGETS, 'compare.target')
  const result = readEnum(r, COMPARE_RESULTS, 'compare.result')
  const key = readBytes(r, 'compare.key')
  const rangeEnd = readBytes(r, 'compare.rangeEnd')
  switch (target) {
    case 'VERSION':
      return { target, result, key, rangeEnd, version: readInt(r, 'compare.version') }
    case 'CREATE':
      return { target, result, key, rangeEnd, createRevision: readInt(r, 'compare.createRevision') }
    case 'MOD':
      return { target, result, key, rangeEnd, modRevision: readInt(r, 'compare.modRevision') }
    case 'VALUE':
      return { target, result, key, rangeEnd, value: readBytes(r, 'compare.value') }
    case 'LEASE':
      return { target, result, key, rangeEnd, lease: readInt(r, 'compare.lease') }
  }
}
