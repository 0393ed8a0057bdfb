// Exports for debugging: the bundle (one .tar.gz holding everything a person needs to see what
// a cluster did) and one node's log alone as NDJSON or CSV. A bundle is still written when a
// node's log cannot be read: the error goes into the archive in its place, since a damaged
// node is exactly when someone needs the bundle.

import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { ClusterStatus, ExportResult, KeyDump, LogEntryView, Progress } from '../../shared/api'
import { openLog, pageOf, type LogSource, type OpenLog } from './logs'
import { TarGzWriter } from './tar'

const PAGE = 5000
/** The node's own files worth a look: its structured log, the process's output, rotations. */
const NODE_FILES = /^(node|process)\.log(\.\d+)?$/

export interface BundleInput {
  readonly workspace: string
  readonly sources: readonly LogSource[]
  readonly status: ClusterStatus
  readonly keys: KeyDump | null
  /** Where to write; default: exports/raftlab-bundle-<time>.tar.gz in the workspace. */
  readonly path?: string
}

/** What manifest.json says about each node's log in the bundle (filled in as it is written). */
interface NodeManifest {
  id: number
  source?: 'live' | 'disk'
  firstIndex?: number
  lastIndex?: number
  snapshotIndex?: number
  commit?: number
  applied?: number
  entries?: number
  error?: string
  files: string[]
}

export async function writeBundle(
  input: BundleInput,
  progress?: (p: Progress) => void,
): Promise<ExportResult> {
  const created = new Date()
  const stamp = created.toISOString().replace(/[:.]/g, '-')
  const path = input.path ?? join(input.workspace, 'exports', `raftlab-bundle-${stamp}.tar.gz`)
  await mkdir(dirname(path), { recursive: true })
  const root = `raftlab-bundle-${stamp}`

  // Every node's own files are listed first, so the total is known before the first report.
  const nodeFiles = await Promise.all(
    input.sources.map(async (s) => ({ src: s, files: await listNodeFiles(s.dataDir) })),
  )
  const total = 5 + nodeFiles.reduce((n, f) => n + 1 + f.files.length, 0)
  let done = 0
  const added = (name: string): void => {
    done++
    progress?.({ task: 'export', done, total, message: `added ${name}` })
  }
  progress?.({ task: 'export', done: 0, total, message: `writing ${path}` })

  const tar = await TarGzWriter.create(path)
  const put = async (name: string, data: Uint8Array | string): Promise<void> => {
    await tar.add(`${root}/${name}`, data)
    added(name)
  }
  try {
    const clusterJson = await readOptional(join(input.workspace, 'cluster.json'))
    if (clusterJson) await put('cluster.json', clusterJson)
    else added('cluster.json (none)')
    const events = await readOptional(join(input.workspace, 'events.ndjson'))
    if (events) await put('events.ndjson', events)
    else added('events.ndjson (none)')
    await put('status.json', json(input.status))
    if (input.keys) await put('keys.json', json(input.keys))
    else added('keys.json (no leader to read keys from)')

    const nodes: NodeManifest[] = []
    for (const { src, files } of nodeFiles) {
      const dir = `nodes/node-${src.id}`
      const entry: NodeManifest = { id: src.id, files: [] }
      try {
        const log = await openLog(src)
        const lines: string[] = []
        for await (const e of entries(log)) lines.push(JSON.stringify(e))
        await put(`${dir}/log.ndjson`, lines.length ? `${lines.join('\n')}\n` : '')
        Object.assign(entry, marks(log))
        entry.entries = lines.length
        entry.files.push('log.ndjson')
      } catch (e) {
        const error = (e as Error).message
        await put(`${dir}/log-error.txt`, `${error}\n`)
        entry.error = error
        entry.files.push('log-error.txt')
      }
      for (const f of files) {
        const data = await readOptional(join(src.dataDir, f))
        if (data === undefined) {
          added(`${dir}/${f} (gone)`)
          continue
        }
        await put(`${dir}/${f}`, data)
        entry.files.push(f)
      }
      nodes.push(entry)
    }
    await put(
      'manifest.json',
      json({
        format: 'raftlab-bundle/1',
        created: created.toISOString(),
        workspace: input.workspace,
        cluster: input.status.name,
        keys: input.keys ? input.keys.keys.length : null,
        nodes,
      }),
    )
    const bytes = await tar.close()
    return { path, bytes }
  } catch (e) {
    await tar.abort()
    throw e
  }
}

/** One node's whole log as NDJSON (one LogEntryView a line) or CSV (one row an entry). */
export async function exportNodeLog(
  src: LogSource,
  format: 'ndjson' | 'csv',
  path: string,
): Promise<ExportResult> {
  const log = await openLog(src)
  await mkdir(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.partial-${process.pid}`)
  const out = createWriteStream(tmp)
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, 'drain')
  }
  try {
    await once(out, 'open')
    if (format === 'csv') await write(csvRow(CSV_COLUMNS))
    for await (const e of entries(log)) {
      await write(format === 'csv' ? csvRow(csvFields(e)) : `${JSON.stringify(e)}\n`)
    }
    out.end()
    await once(out, 'close')
    await rename(tmp, path)
  } catch (e) {
    out.destroy()
    await rm(tmp, { force: true })
    throw e
  }
  return { path, bytes: (await stat(path)).size }
}

async function* entries(log: OpenLog): AsyncGenerator<LogEntryView> {
  let from: number | null = log.firstIndex
  while (from !== null) {
    const page = await pageOf(log, { node: log.node, from, limit: PAGE })
    yield* page.entries
    from = page.next
  }
}

function marks(log: OpenLog): Partial<NodeManifest> {
  return {
    source: log.source,
    firstIndex: log.firstIndex,
    lastIndex: log.lastIndex,
    snapshotIndex: log.snapshotIndex,
    commit: log.commit,
    applied: log.applied,
  }
}

const CSV_COLUMNS = ['index', 'term', 'kind', 'committed', 'applied', 'summary', 'keys', 'command']

function csvFields(e: LogEntryView): string[] {
  return [
    String(e.index),
    String(e.term),
    e.kind,
    String(e.committed),
    String(e.applied),
    e.summary,
    e.keys.join(' '),
    e.command === null ? '' : JSON.stringify(e.command),
  ]
}

/** RFC 4180: a field with a comma, quote or line break is quoted, and its quotes doubled. */
export function csvRow(fields: readonly string[]): string {
  return `${fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')}\r\n`
}

async function listNodeFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => NODE_FILES.test(f)).sort()
  } catch {
    return []
  }
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`cannot read ${path} for the export: ${(e as Error).message}`)
  }
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`
}
