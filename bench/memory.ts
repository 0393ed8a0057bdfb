// `npx tsx bench/memory.ts`: the memory part of `npm run bench` on its own, quicker to repeat:
// 100,000 puts through the etcd3 client into a 3-node RaftLab cluster (and a 3-member etcd when
// `etcd` is on PATH), then each member's resident set size. Builds out/main if it is missing.
//
//   npx tsx bench/memory.ts                 both
//   npx tsx bench/memory.ts --keys 50000    fewer keys
//   npx tsx bench/memory.ts --no-etcd       RaftLab only
//   npx tsx bench/memory.ts --batch 250     250 puts in flight instead of 1000 (a busy machine)
//   npx tsx bench/memory.ts --settle 2      measure 2 s after the last put (default 12 s)
//
// Node flags reach the forked nodes through the environment, e.g.
//   NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=128" npx tsx bench/memory.ts

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Etcd3 } from 'etcd3'
import { ClusterManager } from '../src/main/cluster/manager'
import { freePorts } from '../src/main/cluster/workspace'
import { arg, retry } from './util'

const ROOT = resolve(import.meta.dirname, '..')
const KEYS = Number(arg('keys') ?? 100_000)
/** Puts in flight at once: `npm run bench` uses 1000; fewer is kinder to a busy machine. */
const BATCH = Number(arg('batch') ?? 1000)
/** Seconds after the last put at which resident memory is measured. */
const SETTLE_S = Number(arg('settle') ?? 12)

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024
}

async function load(endpoints: string[], pids: () => number[]): Promise<number[]> {
  const c = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`), dialTimeout: 3000 })
  await retry(() => c.put('warmup').value('x').exec())
  const t0 = performance.now()
  for (let i = 0; i < KEYS; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, KEYS - i) }, (_, j) =>
        retry(
          () =>
            c
              .put(`mem/${i + j}`)
              .value('v'.repeat(100))
              .exec(),
          180_000,
        ),
      ),
    )
  }
  process.stderr.write(`  ${KEYS} puts in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  c.close()
  // Right after a burst and once settled: a node gives memory back when it goes idle.
  await new Promise((r) => setTimeout(r, 2000))
  const early = await Promise.all(pids().map(rssMb))
  process.stderr.write(`  2 s after the last put: ${early.map((m) => m.toFixed(0)).join(' ')} MB\n`)
  await new Promise((r) => setTimeout(r, Math.max(0, SETTLE_S - 2) * 1000))
  return Promise.all(pids().map(rssMb))
}

async function raftlab(): Promise<number[]> {
  const entry = join(ROOT, 'out/main/node.js')
  if (!existsSync(entry)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
  const workspace = await mkdtemp(join(tmpdir(), 'raftlab-bench-mem-'))
  const manager = await ClusterManager.open({ workspace, nodeEntry: entry }, { nodes: 3 })
  try {
    await manager.startAll()
    await manager.waitForLeader()
    const pids = (): number[] => manager.nodes().flatMap((n) => (n.pid ? [n.pid] : []))
    process.stderr.write(
      `  at rest: ${(await Promise.all(pids().map(rssMb))).map((m) => m.toFixed(0)).join(' ')} MB\n`,
    )
    return await load(
      manager.nodes().map((n) => n.client),
      pids,
    )
  } finally {
    await manager.close()
    await rm(workspace, { recursive: true, force: true })
  }
}

async function etcd(bin: string): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-bench-mem-etcd-'))
  const ports = await freePorts(6)
  const members = [0, 1, 2].map((i) => ({
    name: `e${i}`,
    client: `127.0.0.1:${ports[2 * i]}`,
    peer: `127.0.0.1:${ports[2 * i + 1]}`,
  }))
  const initial = members.map((m) => `${m.name}=http://${m.peer}`).join(',')
  const procs: ChildProcess[] = members.map((m) =>
    spawn(
      bin,
      [
        ...['--name', m.name, '--data-dir', join(dir, m.name)],
        ...['--listen-client-urls', `http://${m.client}`],
        ...['--advertise-client-urls', `http://${m.client}`],
        ...['--listen-peer-urls', `http://${m.peer}`],
        ...['--initial-advertise-peer-urls', `http://${m.peer}`],
        ...['--initial-cluster', initial, '--log-level', 'error'],
      ],
      { stdio: 'ignore' },
    ),
  )
  try {
    return await load(
      members.map((m) => m.client),
      () => procs.flatMap((p) => (p.pid !== undefined && p.exitCode === null ? [p.pid] : [])),
    )
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

function which(bin: string): string | undefined {
  try {
    return execFileSync('which', [bin], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

const show = (mb: number[]): string => mb.map((m) => m.toFixed(0).padStart(5)).join('')
const rl = await raftlab()
console.log(
  `resident MB per node with ${KEYS} keys   RaftLab ${show(rl)}   max ${Math.max(...rl).toFixed(0)}`,
)
const bin = process.argv.includes('--no-etcd') ? undefined : which('etcd')
if (bin) {
  const et = await etcd(bin)
  console.log(
    `resident MB per member with ${KEYS} keys  etcd    ${show(et)}   max ${Math.max(...et).toFixed(0)}`,
  )
}
process.exit(0)
