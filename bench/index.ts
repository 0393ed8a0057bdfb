// `npm run bench`: the same workload, through the same client (the etcd3 package), against a
// 3-node RaftLab cluster and, where an `etcd` binary is on PATH, a 3-member etcd on loopback.
// Prints both columns and their ratio. Builds out/main first (npm run build).
//
//   npm run bench                  everything
//   npm run bench -- --quick       smaller counts, for a first look

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Etcd3, type IStatusResponse } from 'etcd3'
import { ClusterManager } from '../src/main/cluster/manager'
import { freePorts } from '../src/main/cluster/workspace'
import { percentile, retry, timed } from './util'

const ROOT = resolve(import.meta.dirname, '..')
/** How long after the last request "at rest" is measured. */
const REST_MS = 12_000
const QUICK = process.argv.includes('--quick')
const N = {
  sequentialPuts: QUICK ? 200 : 1000,
  throughputSeconds: QUICK ? 2 : 5,
  gets: QUICK ? 200 : 1000,
  rangeKeys: 20_000,
  rangeRuns: QUICK ? 5 : 20,
  memoryKeys: 100_000,
  /** One failover depends on two random election timeouts: several give a median and a max. */
  failovers: QUICK ? 1 : 5,
}

interface Target {
  readonly name: string
  endpoints(): string[]
  /** pids of the member processes */
  pids(): number[]
  /** Kills the leader with SIGKILL; returns the endpoints of the survivors. */
  killLeader(): Promise<string[]>
  /**
   * Starts the member killLeader killed and waits until it follows a leader again and has
   * applied what the cluster had committed: each failover starts from a whole, idle cluster.
   */
  restartKilled(): Promise<void>
  restartAll(): Promise<number>
  close(): Promise<void>
}

type Row = [
  label: string,
  raftlab: number | undefined,
  etcd: number | undefined,
  unit: string,
  better: 'lower' | 'higher',
]

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

function clientOf(t: Target): Etcd3 {
  return new Etcd3({ hosts: t.endpoints().map((e) => `http://${e}`), dialTimeout: 3000 })
}

type Log = (key: string, value: number) => void

/**
 * Runs every phase: latency, throughput, reads, range and failover on one cluster, then memory
 * and restart on a fresh one, so that "with 100,000 keys" holds exactly those keys.
 */
async function measure(make: () => Promise<Target>): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  let name = ''
  const log: Log = (k, v) => {
    out[k] = v
    process.stderr.write(`  ${name}: ${k} = ${v.toFixed(2)}\n`)
  }
  for (const phase of [measureRequests, measureMemory]) {
    const t = await make()
    name = t.name
    try {
      await phase(t, log)
    } finally {
      await t.close()
    }
  }
  return out
}

async function measureRequests(t: Target, log: Log): Promise<void> {
  const c = clientOf(t)
  await retry(() => c.put('warmup').value('x').exec())

  const seq: number[] = []
  for (let i = 0; i < N.sequentialPuts; i++)
    seq.push(await timed(() => c.put(`seq/${i}`).value('v'.repeat(100)).exec()))
  log('putP50', percentile(seq, 50))
  log('putP99', percentile(seq, 99))

  for (const clients of [16, 64, 256]) {
    const pool = Array.from({ length: Math.min(clients, 16) }, () => clientOf(t))
    let ops = 0
    let errors = 0
    const until = performance.now() + N.throughputSeconds * 1000
    await Promise.all(
      Array.from({ length: clients }, async (_, w) => {
        const cl = pool[w % pool.length] as Etcd3
        let i = 0
        while (performance.now() < until) {
          try {
            await cl
              .put(`tp/${w}/${i++ % 100}`)
              .value('v'.repeat(100))
              .exec()
            ops++
          } catch {
            // A client retries what failed (a leader change, a timeout); count it.
            errors++
          }
        }
      }),
    )
    for (const p of pool) p.close()
    log(`throughput${clients}`, ops / N.throughputSeconds)
    log(`errors${clients}`, errors)
  }

  const gets: number[] = []
  for (let i = 0; i < N.gets; i++)
    gets.push(await timed(() => c.get(`seq/${i % N.sequentialPuts}`).string()))
  log('getP50', percentile(gets, 50))
  log('getP99', percentile(gets, 99))

  for (let i = 0; i < N.rangeKeys; i += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, j) =>
        c
          .put(`range/${String(i + j).padStart(6, '0')}`)
          .value('v'.repeat(50))
          .exec(),
      ),
    )
  }
  const ranges: number[] = []
  for (let i = 0; i < N.rangeRuns; i++) {
    ranges.push(
      await timed(async () => {
        const keys = await c.getAll().prefix('range/').keys()
        if (keys.length !== N.rangeKeys)
          throw new Error(`prefix range returned ${keys.length} keys`)
      }),
    )
  }
  log('rangeP50', percentile(ranges, 50))

  // At rest: a node gives memory back once it has been quiet for a while (src/main/node/idle.ts).
  await new Promise((r) => setTimeout(r, REST_MS))
  const idle = await Promise.all(t.pids().map(rssMb))
  log('rssIdleMaxMb', Math.max(...idle))

  const failovers: number[] = []
  for (let i = 0; i < N.failovers; i++) {
    if (i > 0) await t.restartKilled()
    const t0 = performance.now()
    const survivors = await t.killLeader()
    const survivor = new Etcd3({ hosts: survivors.map((e) => `http://${e}`), dialTimeout: 3000 })
    await retry(() => survivor.put(`failover/${i}`).value('x').exec(), 30_000)
    failovers.push(performance.now() - t0)
    survivor.close()
  }
  process.stderr.write(
    `  ${t.name}: failover runs (ms) = ${failovers.map((f) => f.toFixed(0)).join(', ')}\n`,
  )
  log('failoverMs', percentile(failovers, 50))
  log('failoverMaxMs', Math.max(...failovers))
  c.close()
}

async function measureMemory(t: Target, log: Log): Promise<void> {
  const c2 = clientOf(t)
  await retry(() => c2.put('after-failover').value('x').exec())
  // A put that fails (an election under the load) is made again, so every key is there; the
  // failures are reported, since a cluster that elects under load is worth knowing about.
  let failed = 0
  for (let i = 0; i < N.memoryKeys; i += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, j) =>
        retry(() =>
          c2
            .put(`mem/${i + j}`)
            .value('v'.repeat(100))
            .exec()
            .catch((e: unknown) => {
              failed++
              throw e
            }),
        ),
      ),
    )
  }
  log('errorsLoad100k', failed)
  await new Promise((r) => setTimeout(r, 2000))
  const loaded = await Promise.all(t.pids().map(rssMb))
  log('rss100kMaxMb', Math.max(...loaded))
  await new Promise((r) => setTimeout(r, REST_MS - 2000))
  const rested = await Promise.all(t.pids().map(rssMb))
  log('rss100kRestMaxMb', Math.max(...rested))
  c2.close()

  log('restart100kMs', await t.restartAll())
}

async function raftlabTarget(): Promise<Target> {
  const entry = join(ROOT, 'out/main/node.js')
  if (!existsSync(entry)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
  const workspace = await mkdtemp(join(tmpdir(), 'raftlab-bench-'))
  const manager = await ClusterManager.open({ workspace, nodeEntry: entry }, { nodes: 3 })
  await manager.startAll()
  await manager.waitForLeader()
  let killed: number | undefined
  const t: Target = {
    name: 'raftlab',
    endpoints: () => manager.nodes().map((n) => n.client),
    pids: () => manager.nodes().flatMap((n) => (n.pid ? [n.pid] : [])),
    killLeader: async () => {
      const l = await manager.waitForLeader()
      killed = l
      await manager.killNode(l)
      return manager
        .nodes()
        .filter((n) => n.id !== l)
        .map((n) => n.client)
    },
    restartKilled: async () => {
      if (killed === undefined) return
      const id = killed
      killed = undefined
      await manager.startNode(id)
      await retry(async () => {
        const states = manager.nodes().map((n) => n.state)
        const mine = states.find((x) => x?.id === id)
        const leader = states.find((x) => x !== undefined && x.id === mine?.leader)
        if (!mine || !leader) throw new Error(`node ${id} has no leader yet`)
        if (mine.applied < leader.commit) throw new Error(`node ${id} is catching up`)
      }, 30_000)
    },
    restartAll: async () => {
      await new Promise((r) => setTimeout(r, 3500))
      for (const n of manager.nodes()) await manager.stopNode(n.id)
      const t0 = performance.now()
      await manager.startAll()
      await manager.waitForLeader(60_000)
      const c = clientOf(t)
      await retry(() => c.get('mem/99999').string())
      c.close()
      return performance.now() - t0
    },
    close: async () => {
      await manager.close()
      await rm(workspace, { recursive: true, force: true })
    },
  }
  return t
}

function which(bin: string): string | undefined {
  try {
    return execFileSync('which', [bin], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

async function etcdTarget(bin: string): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-bench-etcd-'))
  const ports = await freePorts(6)
  const members = [0, 1, 2].map((i) => ({
    name: `e${i}`,
    client: `127.0.0.1:${ports[2 * i]}`,
    peer: `127.0.0.1:${ports[2 * i + 1]}`,
  }))
  const initial = members.map((m) => `${m.name}=http://${m.peer}`).join(',')
  const procs = new Map<string, ChildProcess>()
  const startMember = (m: (typeof members)[number], state: 'new' | 'existing'): void => {
    const p = spawn(
      bin,
      [
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        `http://${m.client}`,
        '--advertise-client-urls',
        `http://${m.client}`,
        '--listen-peer-urls',
        `http://${m.peer}`,
        '--initial-advertise-peer-urls',
        `http://${m.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        state,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    )
    procs.set(m.name, p)
  }
  for (const m of members) startMember(m, 'new')
  const c = new Etcd3({ hosts: members.map((m) => `http://${m.client}`) })
  await retry(() => c.put('ready').value('x').exec())
  /** Maintenance.Status of one member, through a client of that member alone. */
  const statusOf = async (client: string): Promise<IStatusResponse> => {
    const one = new Etcd3({ hosts: `http://${client}` })
    try {
      return await one.maintenance.status()
    } finally {
      one.close()
    }
  }
  const leaderName = async (): Promise<string> => {
    for (const m of members) {
      try {
        const s = await statusOf(m.client)
        if (s.leader === s.header.member_id) return m.name
      } catch {
        // not reachable: not the leader we can kill
      }
    }
    throw new Error('no etcd leader')
  }
  c.close()
  let killed: (typeof members)[number] | undefined
  const t: Target = {
    name: 'etcd',
    endpoints: () => members.map((m) => m.client),
    pids: () => [...procs.values()].flatMap((p) => (p.exitCode === null && p.pid ? [p.pid] : [])),
    killLeader: async () => {
      const name = await leaderName()
      const p = procs.get(name)
      killed = members.find((m) => m.name === name)
      p?.kill('SIGKILL')
      if (p && p.exitCode === null) await new Promise((r) => p.once('exit', r))
      return members.filter((x) => x.name !== name).map((x) => x.client)
    },
    restartKilled: async () => {
      if (killed === undefined) return
      const m = killed
      killed = undefined
      startMember(m, 'existing')
      const other = members.find((x) => x.name !== m.name) as (typeof members)[number]
      await retry(async () => {
        const s = await statusOf(m.client)
        if (s.leader === '0') throw new Error(`${m.name} has no leader yet`)
        const committed = Number((await statusOf(other.client)).raftIndex)
        if (Number(s.raftAppliedIndex) < committed) throw new Error(`${m.name} is catching up`)
      }, 30_000)
    },
    restartAll: async () => {
      await new Promise((r) => setTimeout(r, 3500))
      await Promise.all(
        [...procs.values()].map(
          (p) =>
            new Promise((r) =>
              p.exitCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGTERM')),
            ),
        ),
      )
      const t0 = performance.now()
      for (const m of members) startMember(m, 'existing')
      const c2 = clientOf(t)
      await retry(() => c2.get('mem/99999').string(), 60_000)
      c2.close()
      return performance.now() - t0
    },
    close: async () => {
      for (const p of procs.values()) p.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    },
  }
  return t
}

async function main(): Promise<void> {
  const results: Record<string, Record<string, number>> = {}
  results.raftlab = await measure(raftlabTarget)
  const etcdBin = which('etcd')
  if (etcdBin) {
    results.etcd = await measure(() => etcdTarget(etcdBin))
  } else {
    process.stderr.write('no etcd on PATH (apt-get install etcd-server): RaftLab column only\n')
  }
  const r = results.raftlab ?? {}
  const e = results.etcd ?? {}
  const rows: Row[] = [
    ['sequential put p50', r.putP50, e.putP50, 'ms', 'lower'],
    ['sequential put p99', r.putP99, e.putP99, 'ms', 'lower'],
    ['put throughput, 16 clients', r.throughput16, e.throughput16, 'ops/s', 'higher'],
    ['put throughput, 64 clients', r.throughput64, e.throughput64, 'ops/s', 'higher'],
    ['put throughput, 256 clients', r.throughput256, e.throughput256, 'ops/s', 'higher'],
    ['linearizable get p50', r.getP50, e.getP50, 'ms', 'lower'],
    ['linearizable get p99', r.getP99, e.getP99, 'ms', 'lower'],
    [`prefix range over ${N.rangeKeys} keys p50`, r.rangeP50, e.rangeP50, 'ms', 'lower'],
    ['leader failover (SIGKILL → next write), median', r.failoverMs, e.failoverMs, 'ms', 'lower'],
    ['leader failover, slowest of the runs', r.failoverMaxMs, e.failoverMaxMs, 'ms', 'lower'],
    [
      `resident per node at rest, ${N.rangeKeys} keys (max)`,
      r.rssIdleMaxMb,
      e.rssIdleMaxMb,
      'MB',
      'lower',
    ],
    [
      `resident per node, ${N.memoryKeys} keys, 2 s after (max)`,
      r.rss100kMaxMb,
      e.rss100kMaxMb,
      'MB',
      'lower',
    ],
    [
      `resident per node, ${N.memoryKeys} keys, at rest (max)`,
      r.rss100kRestMaxMb,
      e.rss100kRestMaxMb,
      'MB',
      'lower',
    ],
    [`restart with ${N.memoryKeys} keys`, r.restart100kMs, e.restart100kMs, 'ms', 'lower'],
    [
      `failed puts while loading ${N.memoryKeys} keys`,
      r.errorsLoad100k,
      e.errorsLoad100k,
      'puts',
      'lower',
    ],
  ]
  const fmt = (v: number | undefined): string =>
    v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2)
  console.log(
    `\n${'metric'.padEnd(46)} ${'RaftLab'.padStart(10)} ${'etcd'.padStart(10)}  unit    RaftLab/etcd`,
  )
  for (const [label, a, b, unit] of rows) {
    const ratio = a !== undefined && b !== undefined && b !== 0 ? (a / b).toFixed(2) : '-'
    console.log(
      `${label.padEnd(46)} ${fmt(a).padStart(10)} ${fmt(b).padStart(10)}  ${unit.padEnd(6)}  ${ratio}`,
    )
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  },
)
