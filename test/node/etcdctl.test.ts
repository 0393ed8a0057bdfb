// etcdctl 3.4 (Debian's etcd-client) against a live 3-node RaftLab cluster, side by side with a
// real etcd: the same commands in the same order against both, and the same text back, once
// member ids, lease ids and timings are masked.

import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePorts } from '../../src/main/cluster/workspace'
import { formatInitialCluster } from '../../src/main/node/config'
import {
  NODE_ENTRY,
  removeWorkspace,
  startCluster,
  tempWorkspace,
  type TestCluster,
} from '../support/cluster'
import { etcdctl, startEtcd, type CtlResult, type RealEtcd } from '../support/etcd'

let cluster: TestCluster
let etcd: RealEtcd

beforeAll(async () => {
  ;[cluster, etcd] = await Promise.all([startCluster({ nodes: 3 }), startEtcd()])
}, 60_000)

afterAll(async () => {
  await cluster?.close()
  if (cluster) await removeWorkspace(cluster.workspace)
  await etcd?.close()
})

const raftlab = (): string => cluster.endpoints().join(',')

/** Ids, lease ids, endpoints and durations differ by nature; everything else must not. */
function mask(text: string): string {
  return text
    .replace(/\b[0-9a-f]{16}\b/g, '<id>')
    .replace(/lease [0-9a-f]+/g, 'lease <id>')
    .replace(/127\.0\.0\.1:\d+/g, '<endpoint>')
    .replace(/took = [\d.]+(ms|µs|s)/g, 'took = <t>')
    .replace(/remaining\(\d+s\)/g, 'remaining(<n>s)')
    .replace(/\{"level":.*\}\n?/g, '')
}

async function both(args: string[], input?: string): Promise<[CtlResult, CtlResult]> {
  const a = await etcdctl(raftlab(), args, input)
  const b = await etcdctl(etcd.endpoint, args, input)
  return [a, b]
}

async function same(args: string[], input?: string): Promise<string> {
  const [r, e] = await both(args, input)
  expect({ stdout: mask(r.stdout), stderr: mask(r.stderr), code: r.code }).toEqual({
    stdout: mask(e.stdout),
    stderr: mask(e.stderr),
    code: e.code,
  })
  return r.stdout
}

describe('etcdctl against RaftLab answers as it does against etcd', () => {
  it('put, get, get --prefix, --keys-only and --rev', async () => {
    expect(await same(['put', 'foo', 'bar'])).toBe('OK\n')
    await same(['put', 'foo2', 'baz'])
    expect(await same(['get', 'foo'])).toBe('foo\nbar\n')
    await same(['get', '--prefix', 'foo'])
    await same(['get', '--prefix', 'foo', '--keys-only'])
    await same(['put', 'foo', 'bar2'])
    expect(await same(['get', 'foo', '--rev=2'])).toBe('foo\nbar\n')
    await same(['get', 'foo', '--rev=999'])
    await same(['get', '', '--prefix', '--limit=1'])
  })

  it('del and del --prefix print the number deleted', async () => {
    await same(['put', 'd/1', 'x'])
    await same(['put', 'd/2', 'y'])
    expect(await same(['del', 'd/1'])).toBe('1\n')
    await same(['put', 'd/3', 'z'])
    expect(await same(['del', '--prefix', 'd/'])).toBe('2\n')
    expect(await same(['del', 'nothing-here'])).toBe('0\n')
  })

  it('txn with compares and both branches', async () => {
    await same(['put', 'tx', '1'])
    const succeed = 'value("tx") = "1"\n\nput tx 2\nget tx\n\nput tx failed\n\n'
    expect(await same(['txn'], succeed)).toMatch(/^SUCCESS\n/)
    const fail = 'value("tx") = "1"\n\nput tx 3\n\nget tx\n\n'
    expect(await same(['txn'], fail)).toMatch(/^FAILURE\n/)
  })

  it('lease grant, put --lease, timetolive, revoke', async () => {
    const [r, e] = await both(['lease', 'grant', '100'])
    expect(mask(r.stdout)).toBe(mask(e.stdout))
    const idOf = (out: string): string => /lease ([0-9a-f]+) granted/.exec(out)?.[1] ?? ''
    const rid = idOf(r.stdout)
    const eid = idOf(e.stdout)
    expect(rid).not.toBe('')
    const pair = async (args: (id: string) => string[]): Promise<void> => {
      const a = await etcdctl(raftlab(), args(rid))
      const b = await etcdctl(etcd.endpoint, args(eid))
      expect(mask(a.stdout + a.stderr)).toBe(mask(b.stdout + b.stderr))
    }
    await pair((id) => ['put', 'leased', 'v', `--lease=${id}`])
    await pair((id) => ['lease', 'timetolive', id])
    await pair((id) => ['lease', 'timetolive', id, '--keys'])
    await pair((id) => ['lease', 'revoke', id])
    await same(['get', 'leased'])
    await pair((id) => ['lease', 'timetolive', id])
  })

  it('compaction, and reading below it is refused with etcd’s error', async () => {
    const [r, e] = await both(['put', 'c', 'x', '-w', 'json'])
    const revOf = (out: string): number =>
      (JSON.parse(out) as { header: { revision: number } }).header.revision
    expect(revOf(r.stdout)).toBe(revOf(e.stdout))
    expect(await same(['compaction', String(revOf(r.stdout))])).toMatch(
      /^compacted revision \d+\n$/,
    )
    const [rr] = await both(['get', 'foo', '--rev=2'])
    expect(rr.stderr).toContain('etcdserver: mvcc: required revision has been compacted')
    await same(['get', 'foo', '--rev=2'])
  })

  it('endpoint health reports every member healthy, in etcd’s words', async () => {
    const r = await etcdctl(raftlab(), ['endpoint', 'health'])
    const e = await etcdctl(etcd.endpoint, ['endpoint', 'health'])
    // etcdctl 3.4 prints health results on stderr.
    const lines = mask(r.stdout + r.stderr)
      .trim()
      .split('\n')
    expect(lines).toHaveLength(3)
    expect(r.code).toBe(0)
    for (const line of lines) expect(line).toBe(mask(e.stdout + e.stderr).trim())
  })

  it('member list and endpoint status --cluster -w table show the three members and one leader', async () => {
    const members = await etcdctl(raftlab(), ['member', 'list'])
    const rows = members.stdout.trim().split('\n')
    expect(rows).toHaveLength(3)
    for (const row of rows)
      expect(row).toMatch(
        /^[0-9a-f]+, started, node-\d, http:\/\/127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, false$/,
      )
    const status = await etcdctl(raftlab(), ['endpoint', 'status', '--cluster', '-w', 'table'])
    expect(status.code).toBe(0)
    const table = status.stdout.split('\n').filter((l) => /^\| \S+:\d+ /.test(l))
    expect(table).toHaveLength(3)
    const isLeader = table.map((l) => (l.split('|')[5] ?? '').trim())
    expect(isLeader.filter((v) => v === 'true')).toHaveLength(1)
    const header = status.stdout.split('\n')[1] ?? ''
    const etcdStatus = await etcdctl(etcd.endpoint, [
      'endpoint',
      'status',
      '--cluster',
      '-w',
      'table',
    ])
    const columns = (line: string): string[] => line.split('|').map((c) => c.trim())
    expect(columns(header)).toEqual(columns(etcdStatus.stdout.split('\n')[1] ?? ''))
  })

  it('move-leader hands leadership to the named member', async () => {
    const leader = await cluster.leader()
    const target = cluster.manager.nodes().find((n) => n.id !== leader)
    if (!target) throw new Error('no follower')
    const leaderNode = cluster.manager.nodes().find((n) => n.id === leader)
    const r = await etcdctl(leaderNode?.client ?? '', ['move-leader', target.id.toString(16)])
    expect(r.stdout).toMatch(/^Leadership transferred from [0-9a-f]+ to [0-9a-f]+\n$/)
    await expect.poll(() => cluster.manager.leader(), { timeout: 5000 }).toBe(target.id)
  })

  it('watch on one node sees a put made through another', async () => {
    const [a, b] = cluster.manager.nodes()
    if (!a || !b) throw new Error('need two nodes')
    const child = spawn('etcdctl', ['--endpoints', a.client, 'watch', 'w/key'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    })
    try {
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      // The watch is registered once etcdctl has connected; retry the put until it is seen.
      await expect
        .poll(
          async () => {
            await etcdctl(b.client, ['put', 'w/key', 'seen'])
            return out
          },
          { timeout: 10_000, interval: 300 },
        )
        .toContain('PUT\nw/key\nseen\n')
    } finally {
      child.kill('SIGKILL')
    }
  })
})

// etcd's answers in states the shared cluster above must not be put in: a learner that stays
// one, a member that is down, a survivor without quorum. One cluster, taken through them in
// order.
describe('etcdctl in a degraded RaftLab cluster answers as etcd does', () => {
  let c: TestCluster
  let learner: { id: number; client: string }

  beforeAll(async () => {
    c = await startCluster({ nodes: 3 })
    // A learner that is never promoted: what `member add --learner` and a started node make.
    const m = c.manager
    const leader = await c.leader()
    const taken = m.clusterFile.nodes.flatMap((n) =>
      [n.client, n.peer].map((a) => Number(a.split(':').at(-1))),
    )
    const [clientPort, peerPort] = await freePorts(2, taken)
    const peer = `127.0.0.1:${peerPort}`
    const added = await c.client(leader).cluster.memberAdd({
      peerURLs: [`http://${peer}`],
      isLearner: true,
    })
    learner = { id: Number(added.member.ID), client: `127.0.0.1:${clientPort}` }
    const spec = { id: learner.id, name: `node-${learner.id}`, peer, client: learner.client }
    await m.update((f) => ({ ...f, nodes: [...f.nodes, { ...spec, join: true }] }))
    await m.announceAddresses()
    await m.startNode(learner.id)
    await etcdctl(m.nodes().find((n) => n.id === leader)?.client ?? '', ['put', 'lk', 'v'])
    // Caught up: its own store has the put.
    const deadline = Date.now() + 10_000
    while ((await etcdctl(learner.client, ['get', 'lk', '--consistency=s'])).stdout !== 'lk\nv\n') {
      if (Date.now() > deadline) throw new Error('the learner did not catch up within 10 s')
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 60_000)

  afterAll(async () => {
    await c?.close()
    if (c) await removeWorkspace(c.workspace)
  })

  const client = (id: number): string => c.manager.nodes().find((n) => n.id === id)?.client ?? ''
  const lastLine = (r: CtlResult): string => r.stderr.trim().split('\n').at(-1) ?? ''

  it('a learner refuses writes, linearizable reads and compaction, and serves the rest', async () => {
    const refused = 'Error: etcdserver: rpc not supported for learner'
    const put = await etcdctl(learner.client, ['put', 'lk', 'from-learner'])
    expect([lastLine(put), put.code]).toEqual([refused, 1])
    const compaction = await etcdctl(learner.client, ['compaction', '2'])
    expect([lastLine(compaction), compaction.code]).toEqual([refused, 1])
    const get = await etcdctl(learner.client, ['get', 'lk'])
    expect([lastLine(get), get.code]).toEqual([refused, 1])
    // Nothing reached the log: the value stands and nothing was compacted.
    const leader = await c.leader()
    expect((await etcdctl(client(leader), ['get', 'lk', '--rev=1'])).code).toBe(0)
    expect((await etcdctl(client(leader), ['get', 'lk'])).stdout).toBe('lk\nv\n')
    expect((await etcdctl(learner.client, ['get', 'lk', '--consistency=s'])).stdout).toBe('lk\nv\n')
    const status = await etcdctl(learner.client, ['endpoint', 'status', '-w', 'json'])
    expect(JSON.parse(status.stdout)).toMatchObject([{ Status: { isLearner: true } }])
  }, 60_000)

  it('move-leader to a member that is down: etcd’s leader transfer timeout, soon', async () => {
    const leader = await c.leader()
    const victim = c.manager.nodes().find((n) => n.id !== leader && n.id !== learner.id)
    if (!victim) throw new Error('no follower')
    await c.manager.killNode(victim.id)
    const started = Date.now()
    const r = await etcdctl(client(leader), ['move-leader', victim.id.toString(16)])
    expect(lastLine(r)).toBe(
      'Error: rpc error: code = Unknown desc = etcdserver: request timed out, leader transfer took too long',
    )
    expect(r.code).toBe(1)
    // Within a few election timeouts (400-800 ms here), well before etcdctl gives up.
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('endpoint status of a voter without quorum reports "etcdserver: no leader"', async () => {
    const leader = await c.leader()
    const voters = c.manager
      .nodes()
      .filter((n) => n.running && n.id !== learner.id)
      .map((n) => n.id)
    const survivor = voters.find((id) => id !== leader) ?? leader
    for (const id of voters) if (id !== survivor) await c.manager.killNode(id)
    await expect
      .poll(
        async () => {
          const r = await etcdctl(client(survivor), ['endpoint', 'status', '-w', 'json'])
          return (JSON.parse(r.stdout || '[{}]') as { Status?: { errors?: string[] } }[])[0]?.Status
            ?.errors
        },
        { timeout: 10_000, interval: 300 },
      )
      .toEqual(['etcdserver: no leader'])
    const simple = await etcdctl(client(survivor), ['endpoint', 'status'])
    expect(simple.stdout).toMatch(/, etcdserver: no leader\n$/)
  })
})

describe('a member added with etcdctl member add', () => {
  let c: TestCluster
  const children: ChildProcess[] = []
  let dir = ''

  beforeAll(async () => {
    c = await startCluster({ nodes: 3 })
    dir = await tempWorkspace()
  }, 60_000)

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await c?.close()
    if (c) await removeWorkspace(c.workspace)
    if (dir) await removeWorkspace(dir)
  })

  it('is listed "unstarted" without a name until its node runs, then by its name and client URL', async () => {
    const leader = await c.leader()
    const endpoint = c.manager.nodes().find((n) => n.id === leader)?.client ?? ''
    const taken = c.manager.clusterFile.nodes.flatMap((n) =>
      [n.client, n.peer].map((a) => Number(a.split(':').at(-1))),
    )
    const [clientPort, peerPort] = await freePorts(2, taken)
    const peerURL = `http://127.0.0.1:${peerPort}`
    const added = await etcdctl(endpoint, [
      'member',
      'add',
      'lrn',
      `--peer-urls=${peerURL}`,
      '--learner',
    ])
    expect(added.code).toBe(0)
    const id = Number.parseInt(/Member\s+([0-9a-f]+) added/.exec(added.stdout)?.[1] ?? '', 16)
    const line = async (at: string): Promise<string> =>
      (await etcdctl(at, ['member', 'list'])).stdout
        .split('\n')
        .find((l) => l.startsWith(`${id.toString(16)},`)) ?? ''
    // As etcd lists a member that has not started: no name, no client URL.
    expect(await line(endpoint)).toBe(`${id.toString(16)}, unstarted, , ${peerURL}, , true`)

    // Started by hand, as etcd's docs have it after `member add`.
    const client = `127.0.0.1:${clientPort}`
    const child = spawn(
      process.execPath,
      [
        NODE_ENTRY,
        ...['--id', String(id), '--name', 'lrn', '--data-dir', join(dir, 'lrn'), '--join'],
        ...['--peer-addr', `127.0.0.1:${peerPort}`, '--client-addr', client],
        ...['--cluster-name', c.manager.clusterFile.name],
        ...['--initial-cluster', formatInitialCluster(c.manager.addresses())],
      ],
      { stdio: 'ignore' },
    )
    children.push(child)
    // Every member learns its name and client URL from it (etcd's members publish theirs).
    for (const n of c.manager.nodes()) {
      await expect
        .poll(() => line(n.client), { timeout: 15_000, interval: 300 })
        .toBe(`${id.toString(16)}, started, lrn, ${peerURL}, ${client}, true`)
    }

    // A peer URL RaftLab cannot honour is refused rather than stored as something else.
    const https = await etcdctl(endpoint, ['member', 'add', 'x', '--peer-urls=https://127.0.0.1:9'])
    expect(https.stderr).toContain('RaftLab peers talk plain TCP without TLS')
    expect(https.code).toBe(1)
  }, 60_000)
})
