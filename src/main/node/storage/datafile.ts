// The one reader of NeDB's datafile format, used before NeDB loads a file and by the offline log
// reader alike. We read the files ourselves because NeDB is lenient where a Raft log must not be:
// below its corruptAlertThreshold it silently skips lines it cannot parse, it silently skips
// documents whose _id is falsy (an index of 0), and it rewrites the file on every load, so a
// hole it made would become permanent.
//
// The format (@seald-io/nedb lib/persistence.js): one JSON document per line, appended in order.
// A later line with the same _id supersedes an earlier one; `{"$$deleted":true,"_id":…}` removes
// the document; empty lines are skipped. NeDB splits lines not only at \n but at every Unicode
// line break (\r, \v, \f, U+0085, U+2028, U+2029), so such a character inside a line is damage
// too. If `file` is missing NeDB loads `file~`, the output of a compaction interrupted just
// before its rename.

import fsp from 'node:fs/promises'
import { isErrno } from './durable'

/** A line of a datafile that cannot be trusted; the node must not start on it. */
export class DatafileError extends Error {
  override readonly name = 'DatafileError'

  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(
      `${file} line ${line}: ${problem}. The node will not start on a damaged datafile, since ` +
        'that could silently drop acknowledged log entries: restore its data directory from a ' +
        'backup, or remove the node from the cluster and add it back with an empty data directory.',
    )
  }
}

/** What is wrong with a document; readDatafile adds the file and the line. */
export class DocProblem extends Error {}

/** How one datafile's documents are checked and decoded. */
export interface DocSchema<T> {
  /** Throws DocProblem unless `id` is an _id this file may hold (for documents and tombstones). */
  checkId(id: unknown): void
  /** Decodes a document whose _id passed checkId, or throws DocProblem. */
  decode(doc: Readonly<Record<string, unknown>>): T
}

export interface DatafileLine<T> {
  /** 1-based line of the file the document was read from. */
  readonly line: number
  readonly value: T
}

/** An incomplete last line: what a crash in the middle of an append leaves. */
export interface TornLine {
  readonly line: number
  /** Byte offset at which the torn line starts; the good part of the file ends here. */
  readonly offset: number
  readonly bytes: number
  readonly reason: string
}

export interface Datafile<T> {
  /** The path that was read: the datafile, or NeDB's `~` copy when only that exists. */
  readonly path: string
  readonly exists: boolean
  /** What NeDB would load: the last version of each document not deleted since, by String(_id). */
  readonly docs: ReadonlyMap<string, DatafileLine<T>>
  readonly torn?: TornLine
}

const NEWLINE = 0x0a
const EXCERPT_CHARS = 40
/** Every character but \n at which NeDB's line splitter (lib/byline.js) also cuts. */
const NEDB_LINE_BREAKS = /[\r\v\f\u0085\u2028\u2029]/
const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8Lenient = new TextDecoder('utf-8')

/** The file NeDB would load for `path`, or undefined for a new, empty datafile. */
export async function datafileToRead(path: string): Promise<string | undefined> {
  for (const candidate of [path, `${path}~`]) {
    try {
      await fsp.access(candidate)
      return candidate
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e
    }
  }
  return undefined
}

/** Reads a datafile without modifying it. Throws DatafileError for anything but a torn last line. */
export async function readDatafile<T>(path: string, schema: DocSchema<T>): Promise<Datafile<T>> {
  const source = await datafileToRead(path)
  if (source === undefined) return { path, exists: false, docs: new Map() }
  const bytes = await fsp.readFile(source)
  const lines = splitLines(bytes)
  const docs = new Map<string, DatafileLine<T>>()
  let torn: TornLine | undefined
  const last = lines.findLast((l) => l.end > l.start)
  for (const l of lines) {
    if (l.end === l.start) continue
    const parsed = parseLine(bytes.subarray(l.start, l.end))
    if (l === last && (!l.terminated || !parsed.ok)) {
      const reason = parsed.ok ? 'a complete document without its newline' : parsed.problem
      torn = { line: l.line, offset: l.start, bytes: bytes.length - l.start, reason }
      break
    }
    if (!parsed.ok) throw new DatafileError(source, l.line, parsed.problem)
    try {
      applyDocument(docs, parsed.doc, l.line, schema)
    } catch (e) {
      if (e instanceof DocProblem) throw new DatafileError(source, l.line, e.message)
      throw e
    }
  }
  return { path: source, exists: true, docs, ...(torn ? { torn } : {}) }
}

function applyDocument<T>(
  docs: Map<string, DatafileLine<T>>,
  doc: Readonly<Record<string, unknown>>,
  line: number,
  schema: DocSchema<T>,
): void {
  let tombstone = false
  for (const [key, value] of Object.entries(doc)) {
    if (!key.startsWith('$')) continue
    if (key === '$$deleted' && value === true) tombstone = true
    else if (key === '$$indexCreated' || key === '$$indexRemoved') {
      throw new DocProblem(`defines a secondary index (${key}), which RaftLab never creates`)
    } else throw new DocProblem(`has the field "${key}", which is neither NeDB's nor RaftLab's`)
  }
  schema.checkId(doc._id)
  // NeDB keys its documents by String(_id) (lib/persistence.js), and so do we.
  const key = String(doc._id)
  if (tombstone) docs.delete(key)
  else docs.set(key, { line, value: schema.decode(doc) })
}

type ParsedLine =
  | { readonly ok: true; readonly doc: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly problem: string }

/** The one parser of a datafile line: open-time validation and the offline reader share it. */
export function parseLine(bytes: Uint8Array): ParsedLine {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return { ok: false, problem: `not valid UTF-8 (${excerpt(utf8Lenient.decode(bytes))})` }
  }
  const lineBreak = NEDB_LINE_BREAKS.exec(text)
  if (lineBreak) {
    const code = lineBreak[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')
    return {
      ok: false,
      problem: `contains U+${code} at column ${lineBreak.index + 1}, which NeDB reads as a line break`,
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, problem: `not valid JSON (${excerpt(text)})` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: `not a JSON object (${excerpt(text)})` }
  }
  return { ok: true, doc: value as Record<string, unknown> }
}

function excerpt(text: string): string {
  const cut = text.length > EXCERPT_CHARS
  return JSON.stringify(cut ? text.slice(0, EXCERPT_CHARS) : text) + (cut ? '…' : '')
}

interface LineSpan {
  readonly line: number
  readonly start: number
  /** Exclusive, before the newline. */
  readonly end: number
  readonly terminated: boolean
}

function splitLines(bytes: Uint8Array): LineSpan[] {
  const lines: LineSpan[] = []
  let start = 0
  while (start < bytes.length) {
    const nl = bytes.indexOf(NEWLINE, start)
    const end = nl === -1 ? bytes.length : nl
    lines.push({ line: lines.length + 1, start, end, terminated: nl !== -1 })
    start = end + 1
  }
  return lines
}

/**
 * Serialization hook for NeDB: JSON.stringify leaves U+0085, U+2028 and U+2029 raw inside
 * strings, and NeDB's loader would split the line there. Escaping them is still the same JSON.
 */
export function escapeNeDbLineBreaks(line: string): string {
  return line.replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
