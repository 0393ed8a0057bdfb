// The documents of a node's three NeDB datafiles, how Raft's values become documents and back,
// and the checks that every document read from disk passes before the node trusts it.

import type { ConfChange, ConfState, Entry, HardState, SnapshotMeta } from '../../raft'
import { DocProblem, type DocSchema } from './datafile'

export const LOG_FILE = 'log.db'
export const STATE_FILE = 'state.db'
export const SNAPSHOT_FILE = 'snapshot.db'

/** One log entry. `_id` is the Raft index: NeDB's only index, so range removal is cheap. */
export type LogDoc =
  | { readonly _id: number; readonly term: number; readonly type: 'normal'; readonly data: string }
  | {
      readonly _id: number
      readonly term: number
      readonly type: 'confChange'
      readonly change: ConfChange
    }

export const STATE_ID = 'hardState'

export interface StateDoc extends HardState {
  readonly _id: typeof STATE_ID
  readonly confState: ConfState
}

export const SNAPSHOT_ID = 'snapshot'

/** Where the current snapshot's body is and how to tell it is intact. */
export interface SnapshotRecord {
  readonly meta: SnapshotMeta
  /** A file name in the data directory: snap-<term>-<index>.bin. */
  readonly file: string
  readonly size: number
  readonly crc32: number
}

export interface SnapshotDoc {
  readonly _id: typeof SNAPSHOT_ID
  readonly index: number
  readonly term: number
  readonly confState: ConfState
  readonly file: string
  readonly size: number
  readonly crc32: number
}

/** The hard state and the membership last persisted, as state.db holds them. */
export interface PersistedState {
  readonly hardState: HardState
  readonly confState: ConfState
}

export function snapshotFileName(meta: Pick<SnapshotMeta, 'term' | 'index'>): string {
  return `snap-${meta.term}-${meta.index}.bin`
}

export function entryToDoc(e: Entry): LogDoc {
  if (e.type === 'normal') {
    return {
      _id: e.index,
      term: e.term,
      type: 'normal',
      data: Buffer.from(e.data).toString('base64'),
    }
  }
  // A copy without an undefined context: NeDB would write it as a missing field anyway.
  const { type, nodeId, context } = e.change
  const change: ConfChange = context === undefined ? { type, nodeId } : { type, nodeId, context }
  return { _id: e.index, term: e.term, type: 'confChange', change }
}

export function stateToDoc(s: PersistedState): StateDoc {
  const { term, vote, commit } = s.hardState
  const confState = { voters: [...s.confState.voters], learners: [...s.confState.learners] }
  return { _id: STATE_ID, term, vote, commit, confState }
}

export function snapshotToDoc(r: SnapshotRecord): SnapshotDoc {
  const { index, term, confState } = r.meta
  return {
    _id: SNAPSHOT_ID,
    index,
    term,
    confState: { voters: [...confState.voters], learners: [...confState.learners] },
    file: r.file,
    size: r.size,
    crc32: r.crc32,
  }
}

export const logSchema: DocSchema<Entry> = {
  checkId(id) {
    if (isInteger(id) && id >= 1) return
    throw new DocProblem(
      id === 0
        ? '_id is 0, which is no Raft index (NeDB would even skip this document without a word)'
        : `_id ${show(id)} is not a Raft index (a positive integer)`,
    )
  },
  decode(doc) {
    const index = doc._id as number
    const term = integer(doc, 'term', 1)
    if (doc.type === 'normal') {
      const data = doc.data
      if (typeof data !== 'string' || !BASE64.test(data)) {
        throw new DocProblem(`entry ${index}: "data" must be base64, got ${show(data)}`)
      }
      return { type: 'normal', index, term, data: new Uint8Array(Buffer.from(data, 'base64')) }
    }
    if (doc.type === 'confChange') {
      return { type: 'confChange', index, term, change: confChange(doc.change, index) }
    }
    throw new DocProblem(
      `entry ${index}: "type" must be "normal" or "confChange", got ${show(doc.type)}`,
    )
  },
}

export const stateSchema: DocSchema<PersistedState> = {
  checkId(id) {
    if (id !== STATE_ID) throw new DocProblem(`_id ${show(id)} is not "${STATE_ID}"`)
  },
  decode(doc) {
    return {
      hardState: {
        term: integer(doc, 'term', 0),
        vote: integer(doc, 'vote', 0),
        commit: integer(doc, 'commit', 0),
      },
      confState: confState(doc.confState, 'confState'),
    }
  },
}

export const snapshotSchema: DocSchema<SnapshotRecord> = {
  checkId(id) {
    if (id !== SNAPSHOT_ID) throw new DocProblem(`_id ${show(id)} is not "${SNAPSHOT_ID}"`)
  },
  decode(doc) {
    const meta = {
      index: integer(doc, 'index', 1),
      term: integer(doc, 'term', 1),
      confState: confState(doc.confState, 'confState'),
    }
    const file = snapshotFileName(meta)
    if (doc.file !== file) {
      throw new DocProblem(
        `"file" must be "${file}" for that index and term, got ${show(doc.file)}`,
      )
    }
    const crc32 = integer(doc, 'crc32', 0)
    if (crc32 > 0xffffffff) throw new DocProblem(`"crc32" ${crc32} does not fit in 32 bits`)
    return { meta, file, size: integer(doc, 'size', 0), crc32 }
  },
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const CHANGE_TYPES: readonly string[] = ['addVoter', 'addLearner', 'removeNode']

function confChange(raw: unknown, index: number): ConfChange {
  if (!isRecord(raw)) throw new DocProblem(`entry ${index}: "change" must be an object`)
  const type = raw.type
  if (typeof type !== 'string' || !CHANGE_TYPES.includes(type)) {
    throw new DocProblem(
      `entry ${index}: "change.type" must be one of ${CHANGE_TYPES.join(', ')}, got ${show(type)}`,
    )
  }
  const nodeId = raw.nodeId
  if (!isInteger(nodeId) || nodeId < 1) {
    throw new DocProblem(`entry ${index}: "change.nodeId" must be a positive integer`)
  }
  const context = raw.context
  if (context !== undefined && typeof context !== 'string') {
    throw new DocProblem(`entry ${index}: "change.context" must be a string`)
  }
  const t = type as ConfChange['type']
  return context === undefined ? { type: t, nodeId } : { type: t, nodeId, context }
}

function confState(raw: unknown, field: string): ConfState {
  if (!isRecord(raw)) throw new DocProblem(`"${field}" must be an object with voters and learners`)
  const ids = (key: 'voters' | 'learners'): number[] => {
    const list = raw[key]
    if (!Array.isArray(list) || !list.every((id) => isInteger(id) && id >= 1)) {
      throw new DocProblem(`"${field}.${key}" must be a list of node ids, got ${show(list)}`)
    }
    return list as number[]
  }
  return { voters: ids('voters'), learners: ids('learners') }
}

function integer(doc: Readonly<Record<string, unknown>>, field: string, min: number): number {
  const v = doc[field]
  if (v === undefined) throw new DocProblem(`missing "${field}"`)
  if (!isInteger(v) || v < min) {
    throw new DocProblem(`"${field}" must be an integer of at least ${min}, got ${show(v)}`)
  }
  return v
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}
