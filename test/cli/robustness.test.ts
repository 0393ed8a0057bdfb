// The `raftlab` command when things are wrong: flags no cluster could run with, a workspace
// that cannot be one, a cluster.json edited by hand, a lock whose owner is not what it seems.
// Each case runs the built command as a user does and checks the exit code and the message.

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { freePorts, newClusterFile, writeClusterFile } from '../../src/main/cluster/workspace'
import { background, cli, type Background } from './support'

const dirs: string[] = []
const servers: Server[] = []
const hosts: Background[] = []
const others: ChildProcess[] = []

/** A live process that is not a manager, or one that looks like `raftlab up` starting. */
function holder(kind: 'foreign' | 'starting'): number {
  const child =
    kind === 'foreign'
      ? spawn('sleep', ['60'], { stdio: 'ignore' })
      : spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'out/main/cli.js', 'up'], {
          stdio: 'ignore',
        })
  others.push(child)
  return child.pid ?? 0
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'raftlab-cli-robust-'))
  dirs.push(d)
  return d
}

function listen(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => {
      servers.push(s)
      resolve()
    })
  })
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
  for (const h of hosts.splice(0)) await h.stop()
  for (const c of others.splice(0)) c.kill('SIGKILL')
}, 30_000)

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('up --base-port', { timeout: 60_000 }, () => {
  it('refuses a range past 65535 as wrong usage, before writing anything', async () => {
    const ws = join(await tempDir(), 'ws')
    const r = await cli(['up', '--nodes', '3', '--base-port', '65535', '--workspace', ws])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      '--base-port 65535 gives 3 node(s) the ports 65535..65540, beyond 65535; the highest base port for 3 node(s) is 65530',
    )
    expect(existsSync(ws)).toBe(false)
  })

  it('refuses a range holding a port in use, naming it, and keeps no cluster.json', async () => {
    const ws = await tempDir()
    const [base = 0] = await freePorts(1)
    await listen(base + 1)
    const r = await cli(['up', '--nodes', '1', '--base-port', String(base), '--workspace', ws])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `raftlab: port ${base + 1} on 127.0.0.1 is in use, and base port ${base} gives 1 node(s) the ports ${base}..${base + 1}; choose another base port, or none for free ones\n`,
    )
    expect(existsSync(join(ws, 'cluster.json'))).toBe(false)
  })

  it('web takes --base-port and --tick-ms only with --nodes, and lists them in its help', async () => {
    const help = await cli(['web', '--help'])
    expect(help.stdout).toContain('--base-port P')
    const r = await cli(['web', '--base-port', '25000', '--workspace', await tempDir()])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('give --nodes N too')
  })
})

describe('up on a workspace that already holds a cluster', { timeout: 90_000 }, () => {
  it('says that --base-port and --tick-ms are ignored, and how to start over', async () => {
    const ws = await tempDir()
    await writeClusterFile(ws, await newClusterFile({ nodes: 1, timing: { tickMs: 40 } }))
    const up = await background(['up', '--base-port', '26000', '--tick-ms', '5', '--workspace', ws])
    hosts.push(up)
    expect(up.stderr()).toContain(
      `workspace ${ws} already holds a cluster of 1 node(s), whose ports and timing are in ${join(ws, 'cluster.json')}; --base-port, --tick-ms apply only to a new cluster and are ignored`,
    )
  })
})

describe('a first up that elects no leader', { timeout: 90_000 }, () => {
  it('does not keep the cluster it created, so the next up starts from its own flags', async () => {
    const ws = await tempDir()
    // 10 s ticks: the first election is 100 s away, well past up's 15 s.
    const r = await cli(['up', '--nodes', '1', '--tick-ms', '10000', '--workspace', ws])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `no leader was elected within 15 s; ${join(ws, 'events.ndjson')} says what the nodes did`,
    )
    expect(r.stderr).toContain('The new cluster was not kept')
    expect(existsSync(join(ws, 'cluster.json'))).toBe(false)
    expect(existsSync(join(ws, 'nodes'))).toBe(false)
  })
})

// The process's command line comes from /proc (Linux, as on CI): where there is none, the
// advice stays general.
describe('advice about the process that holds a workspace', { timeout: 60_000 }, () => {
  it('a lock whose pid now belongs to another program is called stale, not a manager to stop', async () => {
    const ws = await tempDir()
    const pid = holder('foreign')
    await writeFile(join(ws, 'manager.lock'), String(pid))
    const lock = join(ws, 'manager.lock')
    const put = await cli(['put', 'a', 'b', '--workspace', ws])
    expect(put.code).toBe(1)
    expect(put.stderr).toContain(
      `${lock} names process ${pid}, which is not a RaftLab manager (it runs \`sleep 60\`)`,
    )
    expect(put.stderr).toContain(`delete ${lock}, then run \`raftlab up --workspace ${ws}\``)
    const up = await cli(['up', '--workspace', ws])
    expect(up.code).toBe(1)
    expect(up.stderr).toContain(`which is not a RaftLab manager`)
    expect(up.stderr).not.toContain('stop it')
  })

  it('a manager.json whose pid now belongs to another program is ignored, never `kill PID`', async () => {
    const ws = await tempDir()
    const pid = holder('foreign')
    const [port] = await freePorts(1)
    await writeFile(join(ws, 'manager.json'), JSON.stringify({ pid, port, token: 't' }))
    const put = await cli(['put', 'a', 'b', '--workspace', ws])
    expect(put.code).toBe(1)
    expect(put.stderr).toContain(`no cluster manager is running for workspace ${ws}`)
    expect(put.stderr).not.toContain('kill')
  })

  it('a manager still starting is waited for, then said to be starting, not to be stopped', async () => {
    const ws = await tempDir()
    const pid = holder('starting')
    await writeFile(join(ws, 'manager.lock'), String(pid))
    const started = Date.now()
    const put = await cli(['put', 'a', 'b', '--workspace', ws])
    expect(Date.now() - started).toBeGreaterThan(9_000)
    expect(put.code).toBe(1)
    expect(put.stderr).toContain(
      `workspace ${ws} is held by a RaftLab manager (process ${pid}) that did not serve its API within 10 s: it is probably still starting its nodes`,
    )
    expect(put.stderr).not.toContain('stop it')
  })
})

describe('keys while the cluster has no leader', { timeout: 120_000 }, () => {
  it('get, ls and del say there is no leader, never that a circuit breaker is open', async () => {
    const ws = await tempDir()
    const up = await background([
      'up',
      '--nodes',
      '3',
      '--tick-ms',
      '40',
      '--json',
      '--workspace',
      ws,
    ])
    hosts.push(up)
    for (const id of ['2', '3']) expect((await cli(['kill', id, '--workspace', ws])).code).toBe(0)
    // Three failures in a row opened etcd3's breaker for every later call.
    for (const args of [
      ['get', 'k'],
      ['get', 'k'],
      ['ls'],
      ['get', 'k'],
      ['del', 'k'],
      ['get', 'k'],
    ]) {
      const r = await cli([...args, '--workspace', ws])
      expect({ args, code: r.code }).toEqual({ args, code: 1 })
      expect(r.stderr).toContain('no leader')
      expect(r.stderr).not.toContain('circuit breaker')
    }
  })
})

describe('a workspace that cannot be one', () => {
  it('a file in its place, or a manager.lock that is a directory, is said so plainly', async () => {
    const dir = await tempDir()
    const file = join(dir, 'a-file')
    await writeFile(file, '')
    for (const ws of [file, join(file, 'sub')]) {
      const r = await cli(['up', '--workspace', ws])
      expect({ ws, code: r.code }).toEqual({ ws, code: 1 })
      expect(r.stderr).toBe(`raftlab: workspace ${ws} is not a directory (a file is in the way)\n`)
    }
    const ws = join(dir, 'ws')
    await mkdir(join(ws, 'manager.lock'), { recursive: true })
    const r = await cli(['up', '--workspace', ws])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `cannot take the lock ${join(ws, 'manager.lock')}: it is not a file (a directory?), so no process owns it; remove it and try again`,
    )
  })
})
