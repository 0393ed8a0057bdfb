// The debug bundle and the single-log exports from a real cluster, unpacked and read back.

import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csvRow, exportNodeLog, writeBundle } from '../../src/main/cluster/export'
import { KeyStore } from '../../src/main/cluster/keys'
import type { LogSource } from '../../src/main/cluster/logs'
import type { ClusterStatus, KeyDump, LogEntryView, Progress } from '../../src/shared/api'
import { removeWorkspace, startCluster, type TestCluster } from '../support/cluster'
import { allApplied, logSource } from '../support/logsource'

const run = promisify(execFile)
let cluster: TestCluster
let keys: KeyStore
let out: string
const TRICKY = 'say "hi", then\nleave'

const source = (id: number): LogSource => logSource(cluster, id)

/** A status as the service would report it; the bundle only stores it. */
function status(): ClusterStatus {
  return {
    workspace: cluster.workspace,
    exists: true,
    name: cluster.manager.clusterFile.name,
    nodes: [],
    leader: cluster.manager.leader() ?? null,
    term: 0,
    faults: { partitions: [], links: [], paused: [] },
    timing: {
      tickMs: 40,
      electionTicks: 10,
      heartbeatTicks: 2,
      snapshotCount: 10_000,
      slowMotion: 1,
    },
    pendingChange: null,
  }
}

/** RFC 4180 reader, for checking what the writer quoted. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += c
  }
  return rows
}

beforeAll(async () => {
  cluster = await startCluster()
  keys = new KeyStore(() => cluster.endpoints())
  out = await mkdtemp(join(tmpdir(), 'raftlab-export-'))
  await keys.put({ key: 'exp/a', value: 'alpha' })
  await keys.put({ key: 'exp/tricky', value: TRICKY })
  await allApplied(cluster)
}, 60_000)

afterAll(async () => {
  await keys?.close()
  await cluster?.close()
  if (cluster) await removeWorkspace(cluster.workspace)
  if (out) await rm(out, { recursive: true, force: true })
})

describe('writeBundle', () => {
  it('archives cluster.json, events, status, keys and every node log and log files', async () => {
    const ids = cluster.manager.nodes().map((n) => n.id)
    const stopped = ids[2] as number
    await cluster.manager.stopNode(stopped) // one node read from disk, the others live
    await writeFile(
      join(cluster.workspace, 'events.ndjson'),
      `${JSON.stringify({ seq: 1, kind: 'clusterCreated' })}\n`,
    )
    try {
      const dump: KeyDump = await keys.exportKeys()
      const progress: Progress[] = []
      const path = join(out, 'bundle.tar.gz')
      const r = await writeBundle(
        {
          workspace: cluster.workspace,
          sources: ids.map(source),
          status: status(),
          keys: dump,
          path,
        },
        (p) => progress.push(p),
      )
      expect(r.path).toBe(path)
      expect(r.bytes).toBe((await readFile(path)).length)
      const last = progress.at(-1)
      expect(last?.done).toBe(last?.total)
      expect(progress.every((p) => p.task === 'export')).toBe(true)

      const x = join(out, 'x')
      await mkdir(x)
      await run('tar', ['-xzf', path, '-C', x])
      const [root] = await readdir(x)
      expect(root).toMatch(/^raftlab-bundle-/)
      const at = (...p: string[]): string => join(x, root as string, ...p)
      const text = (...p: string[]): Promise<string> => readFile(at(...p), 'utf8')

      expect(JSON.parse(await text('cluster.json'))).toEqual(cluster.manager.clusterFile)
      expect(await text('events.ndjson')).toContain('clusterCreated')
      expect(JSON.parse(await text('status.json')).name).toBe(cluster.manager.clusterFile.name)
      expect(JSON.parse(await text('keys.json')).keys).toContainEqual({
        key: 'exp/tricky',
        value: TRICKY,
      })

      const manifest = JSON.parse(await text('manifest.json'))
      expect(manifest.nodes.map((n: { id: number }) => n.id)).toEqual(ids)
      for (const id of ids) {
        const lines = (await text('nodes', `node-${id}`, 'log.ndjson')).trim().split('\n')
        const entries = lines.map((l) => JSON.parse(l) as LogEntryView)
        expect(entries.map((e) => e.index)).toEqual(
          entries.map((_, i) => (entries[0]?.index ?? 0) + i),
        )
        expect(entries.some((e) => e.summary === 'put exp/a = "alpha"')).toBe(true)
        const node = manifest.nodes.find((n: { id: number }) => n.id === id)
        expect(node.source).toBe(id === stopped ? 'disk' : 'live')
        expect(node.entries).toBe(entries.length)
        expect(node.files).toEqual(
          expect.arrayContaining(['log.ndjson', 'node.log', 'process.log']),
        )
        expect((await text('nodes', `node-${id}`, 'node.log')).length).toBeGreaterThan(0)
      }
    } finally {
      await cluster.manager.startNode(stopped)
    }
  })

  it('still writes a bundle when a node log is damaged, with the error in its place', async () => {
    const broken = join(out, 'broken-node')
    await mkdir(broken)
    await writeFile(
      join(broken, 'log.db'),
      '{"_id":1,"term":1,"type":"normal","data":""}\nnot json\n{"_id":3}\n',
    )
    await writeFile(join(broken, 'node.log'), 'last words\n')
    const path = join(out, 'damaged.tar.gz')
    await writeBundle({
      workspace: join(out, 'no-workspace'),
      sources: [{ id: 7, dataDir: broken, state: undefined, live: null }],
      status: status(),
      keys: null,
      path,
    })
    const x = join(out, 'damaged')
    await mkdir(x)
    await run('tar', ['-xzf', path, '-C', x])
    const [root] = await readdir(x)
    const nodeDir = join(x, root as string, 'nodes', 'node-7')
    expect((await readdir(nodeDir)).sort()).toEqual(['log-error.txt', 'node.log'])
    expect(await readFile(join(nodeDir, 'log-error.txt'), 'utf8')).toMatch(/log\.db line 2/)
    const manifest = JSON.parse(await readFile(join(x, root as string, 'manifest.json'), 'utf8'))
    expect(manifest.nodes[0].error).toMatch(/line 2/)
    expect(manifest.keys).toBeNull()
  })

  it('writes to exports/ in the workspace by default', async () => {
    const r = await writeBundle({ workspace: out, sources: [], status: status(), keys: null })
    expect(r.path.startsWith(join(out, 'exports', 'raftlab-bundle-'))).toBe(true)
    expect(r.path.endsWith('.tar.gz')).toBe(true)
    expect(r.bytes).toBeGreaterThan(0)
  })
})

describe('exportNodeLog', () => {
  it('writes one node log as NDJSON and as properly quoted CSV that agree', async () => {
    const id = await cluster.leader()
    const nd = await exportNodeLog(source(id), 'ndjson', join(out, 'node.ndjson'))
    const entries = (await readFile(nd.path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogEntryView)
    expect(nd.bytes).toBeGreaterThan(0)
    expect(entries.some((e) => e.keys.includes('exp/tricky'))).toBe(true)

    const csv = await exportNodeLog(source(id), 'csv', join(out, 'node.csv'))
    const rows = parseCsv(await readFile(csv.path, 'utf8'))
    expect(rows[0]).toEqual([
      'index',
      'term',
      'kind',
      'committed',
      'applied',
      'summary',
      'keys',
      'command',
    ])
    const body = rows.slice(1)
    // The live log may have grown between the two exports (a leader's heartbeat adds nothing,
    // but a lease checkpoint could); the shared part must agree field for field.
    for (const [n, e] of entries.entries()) {
      const row = body[n]
      if (!row) break
      expect(row.slice(0, 7)).toEqual([
        String(e.index),
        String(e.term),
        e.kind,
        String(e.committed),
        String(e.applied),
        e.summary,
        e.keys.join(' '),
      ])
      expect(row[7] === '' ? null : JSON.parse(row[7] as string)).toEqual(e.command)
    }
    const tricky = body.find((r) => r[6] === 'exp/tricky')
    expect(JSON.parse(tricky?.[7] ?? '{}').value).toBe(Buffer.from(TRICKY).toString('base64'))
  })

  it('quotes fields with commas, quotes and line breaks', () => {
    expect(csvRow(['a', 'b,c', 'say "hi"', 'x\ny', ''])).toBe('a,"b,c","say ""hi""","x\ny",\r\n')
  })
})
