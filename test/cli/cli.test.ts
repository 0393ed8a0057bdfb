// The `raftlab` command on real processes: `up` in the background owns a temporary workspace,
// and every other command reaches its cluster through the manager's API, as a user in a second
// terminal would. Ends with the manager stopped: read-only commands then work from the files,
// the others say that no manager runs.

import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  ClusterStatus,
  FaultsView,
  KeyDetail,
  KeyPage,
  KeyWriteResult,
  LogCompare,
  LogPage,
  NodeView,
  ExportResult,
} from '../../src/shared/api'
import { lockWorkspace } from '../../src/main/cluster/workspace'
import { eventually, TEST_TIMING } from '../support/cluster'
import { alive, background, cli, cliJson, type Background } from './support'

interface UpLine {
  readonly workspace: string
  readonly nodes: readonly { id: number; pid: number; client: string; peer: string }[]
}

let workspace: string
let up: Background | undefined
let upLine: UpLine
const pids: number[] = []

const ws = (...args: string[]): string[] => [...args, '--workspace', workspace]

async function status(): Promise<ClusterStatus> {
  return cliJson<ClusterStatus>(ws('status'))
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'raftlab-cli-'))
  up = await background(ws('up', '--nodes', '3', '--tick-ms', String(TEST_TIMING.tickMs), '--json'))
  upLine = JSON.parse(up.firstLine) as UpLine
  pids.push(...upLine.nodes.map((n) => n.pid))
}, 90_000)

afterAll(async () => {
  await up?.stop()
  // Whatever happened above, no node process outlives the test.
  for (const pid of pids) {
    if (alive(pid)) process.kill(pid, 'SIGKILL')
  }
  await rm(workspace, { recursive: true, force: true })
}, 30_000)

describe('raftlab with a running manager', () => {
  it('up prints one JSON line with every node, and writes a private manager.json', async () => {
    expect(upLine.workspace).toBe(workspace)
    expect(upLine.nodes.map((n) => n.id)).toEqual([1, 2, 3])
    for (const n of upLine.nodes) {
      expect(n.pid).toBeGreaterThan(0)
      expect(alive(n.pid)).toBe(true)
      expect(n.client).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(n.peer).toMatch(/^127\.0\.0\.1:\d+$/)
    }
    const info = await stat(join(workspace, 'manager.json'))
    expect(info.mode & 0o777).toBe(0o600)
    const m = JSON.parse(await readFile(join(workspace, 'manager.json'), 'utf8')) as {
      pid: number
      port: number
      token: string
    }
    expect(m.pid).toBe(up?.child.pid)
    expect(m.token.length).toBeGreaterThanOrEqual(32)
  })

  it('status --json is one JSON document with the nodes up started', async () => {
    const r = await cli(ws('status', '--json'))
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout) as ClusterStatus
    expect(s.exists).toBe(true)
    expect(s.workspace).toBe(workspace)
    expect(s.nodes.map((n) => n.pid)).toEqual(pids)
    expect(s.nodes.every((n) => n.process === 'running')).toBe(true)
    expect(s.leader).not.toBeNull()
    // The readable form is a table with one row per node.
    const table = await cli(ws('status'))
    expect(table).toMatchObject({ code: 0, stderr: '' })
    expect(table.stdout).toMatch(/ID\s+NAME\s+PROCESS\s+PID\s+ROLE/)
    for (const pid of pids) expect(table.stdout).toContain(String(pid))
  })

  it('put, get, ls and del act on the cluster', async () => {
    const put = await cliJson<KeyWriteResult>(ws('put', '/cli/a', 'hello world'))
    expect(put.ok).toBe(true)
    await cliJson<KeyWriteResult>(ws('put', '/cli/b', '2'))
    const got = await cliJson<KeyDetail>(ws('get', '/cli/a'))
    expect(Buffer.from(got.kv?.value ?? '', 'base64').toString()).toBe('hello world')
    expect(got.kv?.modRevision).toBe(put.revision)
    const plain = await cli(ws('get', '/cli/a'))
    expect(plain.stdout).toBe('hello world\n')

    const page = await cliJson<KeyPage>(ws('ls', '/cli/'))
    expect(page.keys.map((k) => k.key)).toEqual(['/cli/a', '/cli/b'])
    expect(page.count).toBe(2)
    const first = await cliJson<KeyPage>(ws('ls', '/cli/', '--limit', '1'))
    expect(first.keys.map((k) => k.key)).toEqual(['/cli/a'])
    expect(first.cursor).not.toBeNull()

    // A stale compare-and-swap is refused: exit code 1, the current key in the answer.
    const stale = await cli(
      ws('put', '/cli/a', 'x', '--if-rev', String(put.revision - 1), '--json'),
    )
    expect(stale.code).toBe(1)
    expect((JSON.parse(stale.stdout) as KeyWriteResult).ok).toBe(false)
    const fresh = await cliJson<KeyWriteResult>(
      ws('put', '/cli/a', 'y', '--if-rev', String(put.revision)),
    )
    expect(fresh.ok).toBe(true)

    const del = await cliJson<KeyWriteResult & { deleted: number }>(ws('del', '/cli/', '--prefix'))
    expect(del.deleted).toBe(2)
    const missing = await cli(ws('get', '/cli/a'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('not found')
  })

  it('kill and restart a node', async () => {
    const killed = await cliJson<NodeView>(ws('kill', '3'))
    expect(killed.process).toBe('stopped')
    expect(alive(pids[2] ?? 0)).toBe(false)
    const restarted = await cliJson<NodeView>(ws('restart', '3'))
    expect(restarted.process).toBe('running')
    expect(restarted.pid).not.toBeNull()
    pids.push(restarted.pid ?? 0)
    await eventually(async () => {
      const s = await status()
      expect(s.nodes.find((n) => n.id === 3)?.raft?.leader).toBe(s.leader)
    }, 20_000)
  })

  it('partition cuts the leader off, the majority elects another, heal makes it whole', async () => {
    const before = await status()
    const old = before.leader ?? 0
    expect(old).toBeGreaterThan(0)
    const others = [1, 2, 3].filter((id) => id !== old)
    const faults = await cliJson<FaultsView>(ws('partition', String(old), others.join(',')))
    expect(faults.partitions.map((g) => [...g].sort())).toEqual(
      expect.arrayContaining([[old], others]),
    )
    await eventually(async () => {
      const s = await status()
      expect(s.leader).not.toBeNull()
      expect(s.leader).not.toBe(old)
    }, 20_000)
    const healed = await cliJson<FaultsView>(ws('heal'))
    expect(healed.partitions).toEqual([])
    await eventually(async () => {
      const s = await status()
      const leader = s.leader
      expect(leader).not.toBeNull()
      expect(s.nodes.every((n) => n.raft?.leader === leader)).toBe(true)
    }, 20_000)
  })

  it("log shows a node's entries, filtered, and compares the nodes", async () => {
    await cliJson<KeyWriteResult>(ws('put', '/log/k', 'v'))
    const page = await eventually(async () => {
      const p = await cliJson<LogPage>(ws('log', '2', '--key', '/log/k'))
      expect(p.entries.length).toBeGreaterThan(0)
      return p
    })
    expect(page.node).toBe(2)
    expect(page.source).toBe('live')
    expect(page.entries.every((e) => e.keys.includes('/log/k'))).toBe(true)
    const conf = await cliJson<LogPage>(ws('log', '1', '--type', 'confChange', '--limit', '50'))
    expect(conf.entries.length).toBeGreaterThanOrEqual(3)
    expect(conf.entries.every((e) => e.kind === 'confChange')).toBe(true)
    const cmp = await cliJson<LogCompare>(ws('log', '--compare', '1,2,3', '--limit', '500'))
    expect(cmp.nodes).toEqual([1, 2, 3])
    expect(cmp.rows.length).toBeGreaterThan(0)
  })

  it('export writes a bundle and one node log', async () => {
    const bundle = await cliJson<ExportResult>(ws('export', '--out', join(workspace, 'b.tar')))
    expect(bundle.path).toBe(join(workspace, 'b.tar'))
    expect(bundle.bytes).toBeGreaterThan(0)
    expect((await stat(bundle.path)).size).toBe(bundle.bytes)
    const out = join(workspace, 'node1.ndjson')
    const log = await cliJson<ExportResult>(
      ws('export', '--node', '1', '--format', 'ndjson', '--out', out),
    )
    expect(log.path).toBe(out)
    const lines = (await readFile(out, 'utf8')).trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(() => lines.map((l) => JSON.parse(l) as unknown)).not.toThrow()
  })

  it('a second up on the same workspace is refused', async () => {
    const r = await cli(ws('up', '--json'))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/in use by another RaftLab manager/)
  })
})

describe('raftlab usage errors', () => {
  it('exit with code 2 and say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [ws('put'), /needs a KEY/],
      [ws('kill', 'abc'), /NODE must be a node id/],
      [ws('kill'), /missing NODE/],
      [ws('ls', '--bogus'), /has no option --bogus/],
      [ws('partition'), /needs at least one GROUP/],
      [ws('log', '1', '--type', 'weird'), /--type takes/],
      [ws('log', '1', '--limit', 'many'), /--limit needs a whole number/],
      [ws('export', '--node', '1', '--format', 'xml'), /--format must be ndjson or csv/],
      [ws('export', '--out', tmpdir()), /--out .* is a directory/],
      [ws('log', '1', '--from', '10', '--to', '5'), /--from 10 is after --to 5/],
      [ws('timing', '--tick-ms', '0'), /--tick-ms must be between 1 and 10000, not 0/],
      [
        ws('timing', '--election-ticks', '3', '--heartbeat-ticks', '3'),
        /--election-ticks 3 must be greater than --heartbeat-ticks 3/,
      ],
      [ws('events', '--kind', 'bogus'), /no event kind "bogus"; kinds: /],
      [
        ws('events', '--node', '99'),
        /--node 99: no such node in this cluster or its history \(nodes: 1, 2, 3\)/,
      ],
      [ws('partition', '1,,2'), /GROUP "1,,2" has an empty item/],
      [[], /usage: raftlab/],
    ]
    for (const [args, message] of cases) {
      const r = await cli(args)
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr + r.stdout).toMatch(message)
    }
    const json = await cli(ws('kill', 'abc', '--json'))
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 2 })
  })

  it('--help explains each command and exits 0', async () => {
    for (const name of ['put', 'log', 'partition', 'export', 'up', 'web']) {
      const r = await cli([name, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`usage: raftlab ${name}`)
    }
    const all = await cli(['--help'])
    expect(all.code).toBe(0)
    for (const name of ['status', 'put', 'kill', 'partition', 'heal', 'log', 'export', 'chaos']) {
      expect(all.stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
    }
  })
})

describe('raftlab without a manager', () => {
  it('after up stops: nodes are gone, manager.json is removed, reads work from disk', async () => {
    expect(await up?.stop()).toBe(0)
    up = undefined
    await eventually(async () => {
      expect(pids.filter(alive)).toEqual([])
    })
    expect(existsSync(join(workspace, 'manager.json'))).toBe(false)

    const s = await cli(ws('status', '--json'))
    expect(s.code).toBe(0)
    const offline = JSON.parse(s.stdout) as ClusterStatus
    expect(offline.exists).toBe(true)
    expect(offline.nodes.map((n) => [n.id, n.process])).toEqual([
      [1, 'stopped'],
      [2, 'stopped'],
      [3, 'stopped'],
    ])
    expect(s.stderr).toContain('no cluster manager is running')

    const page = await cliJson<LogPage>(ws('log', '1', '--key', '/log/k'))
    expect(page.source).toBe('disk')
    expect(page.entries.length).toBeGreaterThan(0)
    const bundle = await cliJson<ExportResult>(ws('export', '--out', join(workspace, 'off.tar')))
    expect((await stat(bundle.path)).size).toBe(bundle.bytes)

    for (const args of [ws('put', 'a', 'b'), ws('kill', '1'), ws('heal'), ws('ls')]) {
      const r = await cli(args)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`no cluster manager is running for workspace ${workspace}`)
      expect(r.stderr).toContain('raftlab up')
    }
  })

  it('an empty workspace has no cluster: status says so, log fails clearly', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'raftlab-cli-empty-'))
    try {
      const s = await cli(['status', '--json', '--workspace', empty])
      expect(s.code).toBe(0)
      expect((JSON.parse(s.stdout) as ClusterStatus).exists).toBe(false)
      const log = await cli(['log', '1', '--workspace', empty])
      expect(log.code).toBe(1)
      expect(log.stderr).toMatch(/holds no cluster/)
      // A process that holds the lock but serves no API is named, not mistaken for none.
      const unlock = await lockWorkspace(empty)
      try {
        const put = await cli(['put', 'a', 'b', '--workspace', empty])
        expect(put.code).toBe(1)
        expect(put.stderr).toContain(`held by process ${process.pid}`)
      } finally {
        await unlock()
      }
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })
})
