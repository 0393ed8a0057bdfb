// Logs and exports: log, export. Both also work without a running manager, from the nodes'
// files on disk.

import { mkdir, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  parseArgs,
  type ClusterApi,
  type ExportResult,
  type LogCompare,
  type LogCompareQuery,
  type LogPage,
  type LogQuery,
} from '../../../shared/api'
import { nodeIdArg, nodeListArg, UsageError } from '../args'
import { connectManager, lockHolder, NoManagerError } from '../connect'
import { diskLogSource, offlineStatus, requireClusterFile } from '../offline'
import { oneLine, print, printJson, printTable, warn } from '../output'
import { progressLine, withProgress } from '../progress'
import { EXIT_OK, type Command, type Context } from './types'

const ENTRY_KINDS = ['normal', 'confChange', 'empty'] as const

/** Runs on the manager when one runs, else on the files (said on stderr). */
async function onlineOrDisk<T>(
  ctx: Context,
  online: (api: ClusterApi) => Promise<T>,
  disk: () => Promise<T>,
): Promise<T> {
  const api = await connectManager(ctx.workspace)
  if (!api) {
    warn(`no cluster manager is running for ${ctx.workspace}: reading the nodes' files`)
    return disk()
  }
  try {
    return await online(api)
  } finally {
    api.close()
  }
}

function logQuery(ctx: Context): LogQuery {
  const f = ctx.flags
  const kinds = f.list('type')
  for (const k of kinds ?? []) {
    if (!(ENTRY_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`--type takes ${ENTRY_KINDS.join(', ')}, not "${k}"`)
    }
  }
  const key = f.string('key')
  const q: LogQuery = {
    node: nodeIdArg(ctx.args[0]),
    ...(f.has('from') ? { from: f.int('from', 0) } : {}),
    ...(f.has('to') ? { to: f.int('to', 0) } : {}),
    ...(f.has('limit') ? { limit: f.int('limit', 1, 5_000) } : {}),
    ...(f.has('term') ? { term: f.int('term', 0) } : {}),
    ...(kinds ? { kinds: kinds as LogQuery['kinds'] } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(f.bool('prefix') ? { prefix: true } : {}),
  }
  if (f.bool('prefix') && key === undefined) throw new UsageError('--prefix goes with --key')
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    throw new UsageError(`--from ${q.from} is after --to ${q.to}: no entry lies between them`)
  }
  return q
}

function printPage(p: LogPage): void {
  print(
    `node ${p.node} (${p.source}): entries ${p.firstIndex}..${p.lastIndex}, commit ${p.commit}, ` +
      `applied ${p.applied}, snapshot at ${p.snapshotIndex} (term ${p.snapshotTerm})`,
  )
  printTable(
    ['INDEX', 'TERM', 'TYPE', 'STATE', 'ENTRY'],
    p.entries.map((e) => [
      e.index,
      e.term,
      e.kind,
      e.applied ? 'applied' : e.committed ? 'committed' : 'uncommitted',
      oneLine(e.summary, 80),
    ]),
  )
  if (p.next !== null) warn(`more: --from ${p.next}`)
}

function printCompare(c: LogCompare): void {
  printTable(
    ['INDEX', ...c.nodes.map((n) => `NODE ${n}`), 'DIVERGES', 'ENTRY'],
    c.rows.map((r) => [
      r.index,
      ...c.nodes.map((n) => r.terms[String(n)] ?? null),
      r.diverges ? 'YES' : 'no',
      oneLine(r.summary, 60),
    ]),
  )
  print(
    `commit: ${c.nodes.map((n) => `${n}=${c.commit[String(n)] ?? '-'}`).join(' ')}; ` +
      `snapshot: ${c.nodes.map((n) => `${n}=${c.snapshotIndex[String(n)] ?? '-'}`).join(' ')}`,
  )
  if (c.next !== null) warn(`more: --from ${c.next}`)
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-')
}

async function defaultExportPath(workspace: string, name: string): Promise<string> {
  const dir = join(workspace, 'exports')
  await mkdir(dir, { recursive: true })
  return join(dir, name)
}

function printExport(ctx: Context, r: ExportResult): number {
  if (ctx.json) printJson(r)
  else print(`wrote ${r.path} (${r.bytes} bytes)`)
  return EXIT_OK
}

export const logCommands: readonly Command[] = [
  {
    name: 'log',
    summary: "read a node's log, or compare the logs of several nodes",
    usage:
      'NODE [--from I] [--to I] [--limit N] [--key K [--prefix]] [--term T] [--type normal,confChange,empty]\n' +
      '       raftlab log --compare [NODES] [--from I] [--limit N]',
    details:
      'A running node is read over its control channel, a stopped one from its files.\n' +
      '--compare shows the nodes side by side (NODES such as 1,2,3; default all) and marks divergence.',
    flags: {
      from: 'int',
      to: 'int',
      limit: 'int',
      key: 'string',
      prefix: 'bool',
      term: 'int',
      type: 'string',
      compare: 'bool',
    },
    run: async (ctx) => {
      if (ctx.flags.bool('compare')) {
        if (ctx.args.length > 1)
          throw new UsageError('raftlab log --compare takes one list of NODES, such as 1,2,3')
        const nodes = ctx.args[0] !== undefined ? nodeListArg(ctx.args[0]) : undefined
        const q: LogCompareQuery = {
          ...(nodes ? { nodes } : {}),
          ...(ctx.flags.has('from') ? { from: ctx.flags.int('from', 0) } : {}),
          ...(ctx.flags.has('limit') ? { limit: ctx.flags.int('limit', 1, 5_000) } : {}),
        }
        const [query] = parseArgs('compareLogs', [q])
        const c = await onlineOrDisk(
          ctx,
          (api) => api.compareLogs(query),
          async () => {
            const file = await requireClusterFile(ctx.workspace)
            const ids = query.nodes ?? file.nodes.map((n) => n.id)
            const { compareLogs } = await import('../../cluster/logs')
            return compareLogs(
              ids.map((id) => diskLogSource(ctx.workspace, file, id)),
              query,
            )
          },
        )
        if (ctx.json) printJson(c)
        else printCompare(c)
        return EXIT_OK
      }
      if (ctx.args.length > 1)
        throw new UsageError('raftlab log takes one NODE (or --compare NODES)')
      const [q] = parseArgs('readLog', [logQuery(ctx)])
      const page = await onlineOrDisk(
        ctx,
        (api) => api.readLog(q),
        async () => {
          const file = await requireClusterFile(ctx.workspace)
          const { readLogPage } = await import('../../cluster/logs')
          return readLogPage(diskLogSource(ctx.workspace, file, q.node), q)
        },
      )
      if (ctx.json) printJson(page)
      else printPage(page)
      return EXIT_OK
    },
  },
  {
    name: 'export',
    summary: 'write a debug bundle, one node log (ndjson/csv), or the keys (JSON)',
    usage:
      '[--out FILE]\n' +
      '       raftlab export --node N --format ndjson|csv [--out FILE]\n' +
      '       raftlab export --keys [--prefix P] [--out FILE]',
    details:
      'The bundle holds cluster.json, every node log as NDJSON, the node process logs, events,\n' +
      'a KV dump and a status snapshot; default FILE: <workspace>/exports/<timestamp>.\n' +
      'Without a running manager the bundle and node logs come from the files on disk (no KV dump).\n' +
      '--keys prints the dump on stdout unless --out is given; `raftlab import` reads it back.',
    flags: { out: 'string', node: 'string', format: 'string', keys: 'bool', prefix: 'string' },
    run: async (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab export takes only flags')
      const outFlag = ctx.flags.string('out')
      // The manager may run in another directory: a relative path means this shell's.
      const out = outFlag !== undefined ? resolve(outFlag) : undefined
      // Missing parent directories are created; a directory in the file's place is a mistake.
      if (out !== undefined && (await stat(out).catch(() => undefined))?.isDirectory()) {
        throw new UsageError(
          `--out ${out} is a directory; give the path of a file to write (in it, or anywhere)`,
        )
      }
      const nodeFlag = ctx.flags.string('node')
      const format = ctx.flags.string('format')
      if (ctx.flags.bool('keys')) {
        if (nodeFlag !== undefined || format !== undefined) {
          throw new UsageError('--keys does not go with --node or --format')
        }
        const prefix = ctx.flags.string('prefix')
        const api = await connectManager(ctx.workspace)
        if (!api) {
          throw new NoManagerError(ctx.workspace, 'export --keys', await lockHolder(ctx.workspace))
        }
        try {
          const dump = await api.exportKeys(prefix !== undefined ? { prefix } : {})
          const text = JSON.stringify(dump, null, 2) + '\n'
          if (out === undefined) {
            process.stdout.write(text)
            return EXIT_OK
          }
          await writeFile(out, text)
          return printExport(ctx, { path: out, bytes: Buffer.byteLength(text) })
        } finally {
          api.close()
        }
      }
      if (ctx.flags.has('prefix')) throw new UsageError('--prefix goes with --keys')
      if (nodeFlag !== undefined || format !== undefined) {
        const node = nodeIdArg(nodeFlag, '--node')
        if (format !== 'ndjson' && format !== 'csv') {
          throw new UsageError(`--format must be ndjson or csv${format ? `, not "${format}"` : ''}`)
        }
        const [q] = parseArgs('exportNodeLog', [{ node, format, ...(out ? { path: out } : {}) }])
        const r = await onlineOrDisk(
          ctx,
          (api) => api.exportNodeLog(q),
          async () => {
            const file = await requireClusterFile(ctx.workspace)
            const path =
              q.path ??
              (await defaultExportPath(ctx.workspace, `node-${node}-log-${stamp()}.${format}`))
            const { exportNodeLog } = await import('../../cluster/export')
            return exportNodeLog(diskLogSource(ctx.workspace, file, node), format, path)
          },
        )
        return printExport(ctx, r)
      }
      const r = await onlineOrDisk(
        ctx,
        (api) => withProgress(api, () => api.exportBundle(out ? { path: out } : {})),
        async () => {
          const file = await requireClusterFile(ctx.workspace)
          const { writeBundle } = await import('../../cluster/export')
          const line = progressLine()
          try {
            return await writeBundle(
              {
                workspace: ctx.workspace,
                sources: file.nodes.map((n) => diskLogSource(ctx.workspace, file, n.id)),
                status: await offlineStatus(ctx.workspace),
                keys: null,
                ...(out ? { path: out } : {}),
              },
              (p) => line.update(p),
            )
          } finally {
            line.done()
          }
        },
      )
      return printExport(ctx, r)
    },
  },
]
