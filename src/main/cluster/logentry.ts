// One Raft log entry as a person reads it: the KV command decoded into a sentence, the keys it
// writes, and the command as JSON. The log inspector, its filters and the exports all use this
// one description, so a key filter finds exactly the entries whose summaries name that key.

import type { ConfChange, Entry } from '../raft'
import type { Command } from '../kv/command'
import { decodeCommand } from '../kv/commandcodec'
import type { Compare, RequestOp } from '../kv/types'
import type { EntryKind, LogEntryView } from '../../shared/api'

/** A LogEntryView before the node's commit and applied marks are known. */
export type EntryDescription = Omit<LogEntryView, 'committed' | 'applied'>

/** The keys an entry writes: single keys, and [key, end) ranges of deletes (end empty: to the end). */
export interface WrittenRange {
  readonly key: Uint8Array
  /** undefined: the single key `key`. */
  readonly end?: Uint8Array
}

const SUMMARY_VALUE_CHARS = 40
const SUMMARY_OPS = 3
const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8Lenient = new TextDecoder('utf-8')

export function describeEntry(e: Entry): EntryDescription {
  const base = { index: e.index, term: e.term }
  if (e.type === 'confChange') {
    return { ...base, kind: 'confChange', ...describeConfChange(e.change) }
  }
  if (e.data.length === 0) {
    // §8 of the Raft paper: a new leader commits a blank entry of its own term.
    return { ...base, kind: 'empty', summary: 'no-op (new leader)', keys: [], command: null }
  }
  let cmd: Command
  try {
    cmd = decodeCommand(e.data)
  } catch (err) {
    return {
      ...base,
      kind: 'normal',
      summary: `undecodable command: ${(err as Error).message}`,
      keys: [],
      command: { error: (err as Error).message, data: Buffer.from(e.data).toString('base64') },
    }
  }
  return {
    ...base,
    kind: 'normal',
    summary: summarizeCommand(cmd),
    keys: [...new Set(writtenRanges(cmd).map((r) => keyText(r.key)))],
    command: toJson(cmd),
  }
}

export function entryKind(e: Entry): EntryKind {
  if (e.type === 'confChange') return 'confChange'
  return e.data.length === 0 ? 'empty' : 'normal'
}

function describeConfChange(c: ConfChange): Pick<EntryDescription, 'summary' | 'keys' | 'command'> {
  let address: Record<string, unknown> | undefined
  try {
    address = c.context ? (JSON.parse(c.context) as Record<string, unknown>) : undefined
  } catch {
    address = undefined
  }
  const peer = typeof address?.peer === 'string' ? ` (peer ${address.peer})` : ''
  return {
    summary: `${c.type} ${c.nodeId}${peer}`,
    keys: [],
    command: { type: c.type, nodeId: c.nodeId, ...(address ? { member: address } : {}) },
  }
}

/** What a command may write. Both branches of a Txn count: which one ran is not in the log. */
export function writtenRanges(cmd: Command | RequestOp): WrittenRange[] {
  switch (cmd.type) {
    case 'put':
      return [{ key: cmd.key }]
    case 'deleteRange':
      return cmd.rangeEnd && cmd.rangeEnd.length > 0
        ? [{ key: cmd.key, end: cmd.rangeEnd }]
        : [{ key: cmd.key }]
    case 'txn':
      return [...cmd.success, ...cmd.failure].flatMap(writtenRanges)
    default:
      return []
  }
}

/** Whether an entry writes `key` (or, with `prefix`, any key that starts with it). */
export function entryWrites(e: Entry, key: string, prefix: boolean): boolean {
  if (e.type !== 'normal' || e.data.length === 0) return false
  let cmd: Command
  try {
    cmd = decodeCommand(e.data)
  } catch {
    return false
  }
  const k = Buffer.from(key)
  const kEnd = prefix ? prefixEnd(k) : undefined
  return writtenRanges(cmd).some((r) => {
    const start = Buffer.from(r.key)
    if (r.end === undefined) {
      return prefix ? start.subarray(0, k.length).equals(k) : start.equals(k)
    }
    // A delete range [start, end) ("\0" end: no end) against the key, or the prefix's range.
    const end = r.end.length === 1 && r.end[0] === 0 ? undefined : Buffer.from(r.end)
    const lo = k
    const hi = kEnd
    const startsBeforeHi = hi === undefined || Buffer.compare(start, hi) < 0
    const endsAfterLo = end === undefined || Buffer.compare(end, lo) > 0
    return prefix ? startsBeforeHi && endsAfterLo : Buffer.compare(start, k) <= 0 && endsAfterLo
  })
}

/** The first key after every key that starts with `p`; undefined when there is none. */
function prefixEnd(p: Buffer): Buffer | undefined {
  const end = Buffer.from(p)
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

export function summarizeCommand(cmd: Command | RequestOp): string {
  switch (cmd.type) {
    case 'put': {
      const lease = cmd.lease ? ` lease=${cmd.lease}` : ''
      const value = cmd.ignoreValue ? '(value kept)' : preview(cmd.value)
      return `put ${keyText(cmd.key)} = ${value}${lease}`
    }
    case 'deleteRange':
      return `delete ${describeRange(cmd.key, cmd.rangeEnd)}`
    case 'range':
      return `range ${describeRange(cmd.key, cmd.rangeEnd)}`
    case 'txn': {
      const cond =
        cmd.compare.length > 0 ? `if ${cmd.compare.map(describeCompare).join(' and ')} ` : ''
      const els = cmd.failure.length > 0 ? ` else ${describeOps(cmd.failure)}` : ''
      return `txn ${cond}then ${describeOps(cmd.success)}${els}`
    }
    case 'compact':
      return `compact revision ${cmd.revision}`
    case 'leaseGrant':
      return `lease grant ${cmd.id} ttl=${cmd.ttl}`
    case 'leaseRevoke':
      return `lease revoke ${cmd.id}`
    case 'leaseCheckpoint':
      return `lease checkpoint ${cmd.checkpoints.map((c) => `${c.id} ttl=${c.remainingTtl}`).join(', ')}`
  }
}

function describeOps(ops: readonly RequestOp[]): string {
  if (ops.length === 0) return 'nothing'
  const shown = ops.slice(0, SUMMARY_OPS).map(summarizeCommand).join('; ')
  return ops.length > SUMMARY_OPS ? `${shown}; … (${ops.length} ops)` : shown
}

function describeCompare(c: Compare): string {
  const op = { EQUAL: '=', GREATER: '>', LESS: '<', NOT_EQUAL: '!=' }[c.result]
  const target = c.target.toLowerCase()
  const key = describeRange(c.key, c.rangeEnd)
  const operand =
    c.target === 'VALUE'
      ? preview(c.value)
      : String(
          c.target === 'VERSION'
            ? c.version
            : c.target === 'CREATE'
              ? c.createRevision
              : c.target === 'MOD'
                ? c.modRevision
                : c.lease,
        )
  return `${target}(${key}) ${op} ${operand}`
}

function describeRange(key: Uint8Array, end: Uint8Array | undefined): string {
  if (!end || end.length === 0) return keyText(key)
  if (end.length === 1 && end[0] === 0) {
    return key.length === 1 && key[0] === 0 ? 'every key' : `every key from ${keyText(key)}`
  }
  const pEnd = prefixEnd(Buffer.from(key))
  if (pEnd && pEnd.equals(Buffer.from(end))) return `prefix ${keyText(key)}`
  return `[${keyText(key)}, ${keyText(end)})`
}

function keyText(b: Uint8Array): string {
  return utf8Lenient.decode(b)
}

/** A short, readable rendering of a value: quoted text, or its size when it is binary. */
function preview(v: Uint8Array): string {
  let text: string
  try {
    text = utf8.decode(v)
  } catch {
    return `<${v.length} bytes>`
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) return `<${v.length} bytes>`
  const cut = text.length > SUMMARY_VALUE_CHARS ? `${text.slice(0, SUMMARY_VALUE_CHARS)}…` : text
  return JSON.stringify(cut)
}

/** The command as JSON: keys as text (as the Keys view shows them), every other byte field base64. */
export function toJson(v: unknown, field = ''): unknown {
  if (v instanceof Uint8Array) {
    return field === 'key' || field === 'rangeEnd' ? keyText(v) : Buffer.from(v).toString('base64')
  }
  if (Array.isArray(v)) return v.map((x) => toJson(x))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x, k)
    return out
  }
  return v
}

/** An entry that crossed the control channel as JSON (see entryToJson in node/control.ts). */
export function entryFromJson(j: unknown, node: number): Entry {
  const o = j as Record<string, unknown> | null
  const bad = (why: string): Error =>
    new Error(
      `node ${node} sent a log entry that is not one (${why}): ${JSON.stringify(j)?.slice(0, 200)}`,
    )
  if (o === null || typeof o !== 'object') throw bad('not an object')
  const { index, term, type } = o
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) throw bad('index')
  if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0) throw bad('term')
  if (type === 'normal') {
    if (typeof o.data !== 'string') throw bad('data')
    return { type, index, term, data: new Uint8Array(Buffer.from(o.data, 'base64')) }
  }
  if (type === 'confChange') {
    const c = o.change as Record<string, unknown> | null
    if (
      c === null ||
      typeof c !== 'object' ||
      !['addVoter', 'addLearner', 'removeNode'].includes(c.type as string) ||
      typeof c.nodeId !== 'number'
    ) {
      throw bad('change')
    }
    return { type, index, term, change: c as unknown as ConfChange }
  }
  throw bad('type')
}
