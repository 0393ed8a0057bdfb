// The log reader on real nodes (live over the control channel, then from the files of the
// stopped node) and on data directories written by the node's own storage layer.

import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyStore } from '../../src/main/cluster/keys'
import {
  compareLogs,
  describeEntry,
  readLogPage,
  type LogSource,
} from '../../src/main/cluster/logs'
import { encodeCommand } from '../../src/main/kv/commandcodec'
import type { Command } from '../../src/main/kv/command'
import { NodeStorage } from '../../src/main/node/storage'
import type { Entry } from '../../src/main/raft'
import type { LogEntryView } from '../../src/shared/api'
import { removeWorkspace, startCluster, type TestCluster } from '../support/cluster'
import { allApplied, logSource } from '../support/logsource'

const enc = new TextEncoder()
const b = (s: string): Uint8Array => enc.encode(s)
const cmd = (c: Command): Uint8Array => encodeCommand(c)

/** Everything but the commit/applied marks, which legitimately differ between reads. */
const content = (e: LogEntryView): unknown => ({ ...e, committed: undefined, applied: undefined })

describe('reading a real node log', () => {
  let cluster: TestCluster
  let keys: KeyStore
  let written: { put: number; del: number }

  beforeAll(async () => {
    cluster = await startCluster()
    keys = new KeyStore(() => cluster.endpoints())
    await keys.put({ key: 'log/a', value: 'one' })
    await keys.put({ key: 'log/b', value: 'two', ttl: 30 })
    const put = await keys.put({ key: 'other/c', value: 'three' })
    const del = await keys.delete({ key: 'log/', prefix: true })
    await keys.put({ key: 'log/a', value: 'four', expectModRevision: 0 })
    written = { put: put.revision, del: del.revision }
    await allApplied(cluster)
  }, 60_000)

  afterAll(async () => {
    await keys?.close()
    await cluster?.close()
    if (cluster) await removeWorkspace(cluster.workspace)
  })

  it('reads the same entries live and from the stopped node files', async () => {
    const id = cluster.manager.nodes()[0]?.id ?? 1
    const live = await readLogPage(logSource(cluster, id), { node: id, limit: 5000 })
    expect(live.source).toBe('live')
    expect(live.next).toBeNull()
    expect(live.entries.length).toBe(live.lastIndex - live.firstIndex + 1)
    const kinds = new Set(live.entries.map((e) => e.kind))
    expect(kinds).toEqual(new Set(['confChange', 'empty', 'normal']))
    const summaries = live.entries.map((e) => e.summary)
    expect(summaries).toContain('put log/a = "one"')
    expect(summaries).toContain('delete prefix log/')
    expect(summaries.some((s) => /^addVoter \d+ \(peer 127\.0\.0\.1:\d+\)$/.test(s))).toBe(true)
    expect(summaries.some((s) => /^lease grant \d+ ttl=30$/.test(s))).toBe(true)
    expect(
      summaries.some((s) => s.startsWith('txn if mod(log/a) = 0 then put log/a = "four"')),
    ).toBe(true)
    const putC = live.entries.find((e) => e.summary.startsWith('put other/c'))
    expect(putC?.keys).toEqual(['other/c'])
    expect(putC?.command).toMatchObject({
      type: 'put',
      key: 'other/c',
      value: Buffer.from('three').toString('base64'),
    })
    expect(live.entries.every((e) => e.committed && e.applied)).toBe(true)

    await cluster.manager.stopNode(id)
    try {
      const disk = await readLogPage(logSource(cluster, id), { node: id, limit: 5000 })
      expect(disk.source).toBe('disk')
      expect(disk.entries.map(content)).toEqual(live.entries.map(content))
      expect(disk.lastIndex).toBe(live.lastIndex)
      expect(disk.snapshotIndex).toBe(live.snapshotIndex)
      expect(disk.commit).toBeGreaterThanOrEqual(live.lastIndex - 1)
    } finally {
      await cluster.manager.startNode(id)
    }
  })

  it('filters by kind, key, prefix, term and index range, and pages with next', async () => {
    const id = await cluster.leader()
    const src = (): LogSource => logSource(cluster, id)
    const all = (await readLogPage(src(), { node: id, limit: 5000 })).entries

    const empties = await readLogPage(src(), { node: id, kinds: ['empty'], limit: 5000 })
    expect(empties.entries.length).toBeGreaterThan(0)
    expect(empties.entries.every((e) => e.kind === 'empty')).toBe(true)

    // log/a is written by two puts, deleted by the prefix delete, and guarded by the txn.
    const exact = await readLogPage(src(), { node: id, key: 'log/a', limit: 5000 })
    expect(exact.entries.map((e) => e.summary.split(' ')[0])).toEqual(['put', 'delete', 'txn'])
    const prefix = await readLogPage(src(), { node: id, key: 'log/', prefix: true, limit: 5000 })
    expect(prefix.entries.length).toBe(4)
    const other = await readLogPage(src(), { node: id, key: 'other/', prefix: true })
    expect(other.entries.map((e) => e.summary)).toEqual(['put other/c = "three"'])
    expect(written.put).toBeLessThan(written.del)

    const term = all.at(-1)?.term ?? 0
    const byTerm = await readLogPage(src(), { node: id, term, limit: 5000 })
    expect(byTerm.entries.length).toBe(all.filter((e) => e.term === term).length)

    const window = await readLogPage(src(), { node: id, from: 3, to: 5 })
    expect(window.entries.map((e) => e.index)).toEqual([3, 4, 5])
    expect(window.next).toBeNull()

    const paged: number[] = []
    let from: number | undefined
    for (;;) {
      const page = await readLogPage(src(), { node: id, limit: 3, ...(from ? { from } : {}) })
      expect(page.entries.length).toBeLessThanOrEqual(3)
      paged.push(...page.entries.map((e) => e.index))
      if (page.next === null) break
      from = page.next
    }
    expect(paged).toEqual(all.map((e) => e.index))

    // A filtered page is full before the log ends; next resumes after its last entry.
    const first = await readLogPage(src(), { node: id, kinds: ['normal'], limit: 1 })
    const second = await readLogPage(src(), {
      node: id,
      kinds: ['normal'],
      limit: 1,
      from: first.next ?? 0,
    })
    expect(second.entries[0]?.index).toBeGreaterThan(first.entries[0]?.index ?? Infinity)

    await expect(readLogPage(src(), { node: id, limit: 0 })).rejects.toThrow(/limit/)
  })

  it('compares the nodes of a healthy cluster without divergence', async () => {
    const srcs = cluster.manager.nodes().map((n) => logSource(cluster, n.id))
    const cmp = await compareLogs(srcs, { limit: 5000 })
    expect(cmp.nodes).toEqual(srcs.map((s) => s.id))
    expect(cmp.rows.length).toBeGreaterThan(5)
    expect(cmp.rows.some((r) => r.diverges)).toBe(false)
    for (const r of cmp.rows) {
      expect(Object.values(r.terms).filter((t) => t !== null).length).toBeGreaterThan(0)
    }
    await expect(compareLogs(srcs, { nodes: [42] })).rejects.toThrow(/no node 42/)
  })
})

describe('reading data directories written by the storage layer', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftlab-logs-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function writeNode(name: string, entries: Entry[], commit: number): Promise<string> {
    const d = join(dir, name)
    const s = await NodeStorage.open(d, { create: true, log: () => {} })
    const term = entries.at(-1)?.term ?? 0
    await s.save({ entries, hardState: { term, vote: 0, commit } })
    await s.close()
    return d
  }

  const normal = (index: number, term: number, c: Command | null): Entry => ({
    type: 'normal',
    index,
    term,
    data: c ? cmd(c) : new Uint8Array(0),
  })

  it('finds where two logs diverge', async () => {
    const common: Entry[] = [
      { type: 'confChange', index: 1, term: 1, change: { type: 'addVoter', nodeId: 1 } },
      normal(2, 1, null),
      normal(3, 1, { type: 'put', key: b('x'), value: b('1') }),
    ]
    // Node 1 led term 2 but was cut off; node 2's term-3 leader overwrote index 4 on a majority.
    const one = await writeNode(
      'one',
      [...common, normal(4, 2, { type: 'put', key: b('x'), value: b('lost') })],
      3,
    )
    const two = await writeNode(
      'two',
      [...common, normal(4, 3, null), normal(5, 3, { type: 'deleteRange', key: b('x') })],
      5,
    )
    const srcs: LogSource[] = [
      { id: 1, dataDir: one, state: undefined, live: null },
      { id: 2, dataDir: two, state: undefined, live: null },
    ]
    const cmp = await compareLogs(srcs, {})
    expect(cmp.rows.map((r) => [r.index, r.terms['1'], r.terms['2'], r.diverges])).toEqual([
      [1, 1, 1, false],
      [2, 1, 1, false],
      [3, 1, 1, false],
      [4, 2, 3, true],
      [5, null, 3, false],
    ])
    expect(cmp.rows[3]?.summary).toBe('put x = "lost"')
    expect(cmp.commit).toEqual({ '1': 3, '2': 5 })
    expect(cmp.snapshotIndex).toEqual({ '1': 0, '2': 0 })
    expect(cmp.next).toBeNull()

    const paged = await compareLogs(srcs, { from: 2, limit: 2 })
    expect(paged.rows.map((r) => r.index)).toEqual([2, 3])
    expect(paged.next).toBe(4)

    const page = await readLogPage(srcs[0] as LogSource, { node: 1 })
    expect(page.source).toBe('disk')
    expect(page.entries.map((e) => [e.index, e.committed, e.applied])).toEqual([
      [1, true, true],
      [2, true, true],
      [3, true, true],
      [4, false, false],
    ])
  })

  it('names the file and line of a corrupt log', async () => {
    const d = await writeNode('corrupt', [normal(1, 1, null), normal(2, 1, null)], 2)
    const path = join(d, 'log.db')
    const lines = (await readFile(path, 'utf8')).split('\n')
    lines.splice(1, 0, '{"_id": 7, "term": garbage')
    await writeFile(path, lines.join('\n'))
    await appendFile(path, '')
    const src: LogSource = { id: 9, dataDir: d, state: undefined, live: null }
    await expect(readLogPage(src, { node: 9 })).rejects.toThrow(
      new RegExp(`node 9: .*${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2`),
    )
  })

  it('reads an empty data directory as an empty log', async () => {
    const page = await readLogPage(
      { id: 3, dataDir: join(dir, 'never'), state: undefined, live: null },
      { node: 3 },
    )
    expect(page).toMatchObject({
      entries: [],
      firstIndex: 1,
      lastIndex: 0,
      next: null,
      source: 'disk',
    })
  })
})

describe('describeEntry', () => {
  it('decodes commands into summaries, written keys and JSON', () => {
    const txn = describeEntry(
      normalEntry({
        type: 'txn',
        compare: [{ target: 'VERSION', result: 'GREATER', key: b('a'), version: 2 }],
        success: [
          { type: 'put', key: b('a'), value: new Uint8Array([0, 1, 2]) },
          { type: 'deleteRange', key: b('p/'), rangeEnd: b('p0') },
        ],
        failure: [{ type: 'range', key: b('a') }],
      }),
    )
    expect(txn.summary).toBe(
      'txn if version(a) > 2 then put a = <3 bytes>; delete prefix p/ else range a',
    )
    expect(txn.keys).toEqual(['a', 'p/'])
    expect(describeEntry(normalEntry({ type: 'leaseRevoke', id: 5 })).summary).toBe(
      'lease revoke 5',
    )
    expect(describeEntry(normalEntry({ type: 'compact', revision: 9 })).summary).toBe(
      'compact revision 9',
    )
    const junk = describeEntry({ type: 'normal', index: 1, term: 1, data: new Uint8Array([9, 9]) })
    expect(junk.summary).toMatch(/^undecodable command: /)
    expect(
      describeEntry({
        type: 'confChange',
        index: 1,
        term: 1,
        change: { type: 'removeNode', nodeId: 3 },
      }).summary,
    ).toBe('removeNode 3')
  })
})

function normalEntry(c: Command): Entry {
  return { type: 'normal', index: 1, term: 1, data: cmd(c) }
}
