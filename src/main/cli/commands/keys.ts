// Keys: put, get, del, ls, import.

import { readFile } from 'node:fs/promises'
import type { KeyDump, KeyView } from '../../../shared/api'
import { UsageError } from '../args'
import { displayValue, oneLine, print, printJson, printTable, warn } from '../output'
import { withProgress } from '../progress'
import { EXIT_FAILED, EXIT_OK, onManager, type Command } from './types'

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

function meta(kv: KeyView): string {
  const lease = kv.lease ? `, lease ${kv.lease}` : ''
  return `created at revision ${kv.createRevision}, modified at ${kv.modRevision}, version ${kv.version}, ${kv.size} bytes${lease}`
}

function needKey(key: string | undefined, command: string): string {
  if (key === undefined || key === '') throw new UsageError(`raftlab ${command} needs a KEY`)
  return key
}

export const keyCommands: readonly Command[] = [
  {
    name: 'put',
    summary: 'write a key',
    usage: 'KEY [VALUE] [--ttl S] [--if-rev R] [--base64]',
    details: [
      'Without VALUE the value is read from stdin.',
      '--ttl S      attach the key to a new lease of S seconds',
      '--if-rev R   write only if the key is still at mod revision R (0: only if it is absent);',
      '             exit code 1 when it is not',
      '--base64     VALUE is base64 of raw bytes',
    ].join('\n'),
    flags: { ttl: 'int', 'if-rev': 'int', base64: 'bool' },
    run: async (ctx) => {
      const key = needKey(ctx.args[0], 'put')
      if (ctx.args.length > 2) {
        throw new UsageError('raftlab put takes KEY and VALUE; quote a value with spaces')
      }
      const ttl = ctx.flags.int('ttl', 1, 1_000_000)
      const ifRev = ctx.flags.int('if-rev', 0)
      let value = ctx.args[1]
      let base64 = ctx.flags.bool('base64')
      if (value === undefined) {
        if (process.stdin.isTTY) throw new UsageError('raftlab put needs a VALUE (or one on stdin)')
        value = (await readStdin()).toString('base64')
        base64 = true
      }
      const input = {
        key,
        value,
        ...(base64 ? { base64 } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(ifRev !== undefined ? { expectModRevision: ifRev } : {}),
      }
      return onManager(ctx, async (api) => {
        const r = await api.putKey(input)
        if (ctx.json) printJson(r)
        else if (r.ok) print(`OK, revision ${r.revision}`)
        if (!r.ok) {
          const now = r.current
            ? `its mod revision is now ${r.current.modRevision}`
            : 'it does not exist'
          warn(`not written: ${key} changed (${now})`)
          return EXIT_FAILED
        }
        return EXIT_OK
      })
    },
  },
  {
    name: 'get',
    summary: 'read a key, with its metadata and earlier values',
    usage: 'KEY [--history]',
    details: 'Exit code 1 when the key does not exist.',
    flags: { history: 'bool' },
    run: (ctx) => {
      const key = needKey(ctx.args[0], 'get')
      if (ctx.args.length > 1) throw new UsageError('raftlab get takes one KEY')
      return onManager(ctx, async (api) => {
        const d = await api.getKey(key)
        if (ctx.json) printJson(d)
        if (!d.kv) {
          warn(`${key} not found (revision ${d.revision})`)
          return EXIT_FAILED
        }
        if (!ctx.json) {
          print(displayValue(d.kv.value))
          warn(`${key}: ${meta(d.kv)}`)
          if (ctx.flags.bool('history')) {
            printTable(
              ['MOD', 'VERSION', 'VALUE'],
              d.history.map((h) => [
                h.modRevision,
                h.version,
                h.value === null ? '(deleted)' : oneLine(displayValue(h.value), 60),
              ]),
            )
          }
        }
        return EXIT_OK
      })
    },
  },
  {
    name: 'del',
    summary: 'delete a key, or every key under a prefix',
    usage: 'KEY [--prefix] [--if-rev R]',
    details: 'Exit code 1 when --if-rev finds the key changed.',
    flags: { prefix: 'bool', 'if-rev': 'int' },
    run: (ctx) => {
      const key = needKey(ctx.args[0], 'del')
      if (ctx.args.length > 1) throw new UsageError('raftlab del takes one KEY')
      const ifRev = ctx.flags.int('if-rev', 1)
      return onManager(ctx, async (api) => {
        const r = await api.deleteKey({
          key,
          ...(ctx.flags.bool('prefix') ? { prefix: true } : {}),
          ...(ifRev !== undefined ? { expectModRevision: ifRev } : {}),
        })
        if (ctx.json) printJson(r)
        else if (r.ok)
          print(`deleted ${r.deleted} key${r.deleted === 1 ? '' : 's'}, revision ${r.revision}`)
        if (!r.ok) {
          warn(`not deleted: ${key} changed`)
          return EXIT_FAILED
        }
        return EXIT_OK
      })
    },
  },
  {
    name: 'ls',
    summary: 'list keys by prefix, a page at a time',
    usage: '[PREFIX] [--limit N] [--after KEY] [--keys-only]',
    details: '--after takes the cursor the previous page printed.',
    flags: { limit: 'int', after: 'string', 'keys-only': 'bool' },
    run: (ctx) => {
      if (ctx.args.length > 1) throw new UsageError('raftlab ls takes one PREFIX')
      const prefix = ctx.args[0]
      const limit = ctx.flags.int('limit', 1, 10_000)
      const after = ctx.flags.string('after')
      const keysOnly = ctx.flags.bool('keys-only')
      return onManager(ctx, async (api) => {
        const page = await api.listKeys({
          ...(prefix !== undefined ? { prefix } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(after !== undefined ? { after } : {}),
          ...(keysOnly ? { keysOnly } : {}),
        })
        if (ctx.json) {
          printJson(page)
          return EXIT_OK
        }
        if (keysOnly) page.keys.forEach((k) => print(k.key))
        else {
          printTable(
            ['KEY', 'SIZE', 'MOD', 'VERSION', 'LEASE', 'VALUE'],
            page.keys.map((k) => [
              k.key,
              k.size,
              k.modRevision,
              k.version,
              k.lease || null,
              oneLine(displayValue(k.value), 50),
            ]),
          )
        }
        const more =
          page.cursor !== null ? `; next page: --after ${JSON.stringify(page.cursor)}` : ''
        warn(`${page.keys.length} of ${page.count} key(s) at revision ${page.revision}${more}`)
        return EXIT_OK
      })
    },
  },
  {
    name: 'import',
    summary: 'write the keys of a JSON dump ({"keys": [{"key", "value", "base64"?}]})',
    usage: 'FILE',
    details: 'FILE - reads the dump from stdin. `raftlab export --keys` writes such a dump.',
    flags: {},
    run: async (ctx) => {
      const file = ctx.args[0]
      if (file === undefined || ctx.args.length > 1)
        throw new UsageError('raftlab import needs one FILE')
      const text =
        file === '-' ? (await readStdin()).toString('utf8') : await readFile(file, 'utf8')
      let dump: KeyDump
      try {
        dump = JSON.parse(text) as KeyDump
      } catch (e) {
        throw new Error(`${file} is not JSON: ${(e as Error).message}`)
      }
      return onManager(ctx, async (api) => {
        const r = await withProgress(api, () => api.importKeys(dump))
        if (ctx.json) printJson(r)
        else print(`imported ${r.keys} key(s), revision ${r.revision}`)
        return EXIT_OK
      })
    },
  },
]
