// Supervision on real node processes: stop, kill, restart and crashes become views and events
// with the exit and the node's last lines; the workspace lock refuses a second manager, in this
// process or another, and a manager killed with SIGKILL leaves no node behind and no stuck lock.

import { spawn, type ChildProcess } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { ClusterService } from '../../src/main/cluster/service'
import { dataDirOf, readClusterFile } from '../../src/main/cluster/workspace'
import { CLI_ENTRY, eventually, TEST_TIMING } from '../support/cluster'
import { serviceScope } from '../support/service'

const { workspace, open, close } = serviceScope()
const children: ChildProcess[] = []
const strayPids: number[] = []

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  for (const pid of strayPids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
}, 60_000)

describe('supervision', { timeout: 120_000 }, () => {
  it('stops, kills, restarts, and reports a crash with its exit and last lines', async () => {
    const s = await open(await workspace())
    const st = await s.createCluster({ nodes: 3, timing: TEST_TIMING })
    expect(st.nodes.map((n) => n.process)).toEqual(['running', 'running', 'running'])
    expect(st.nodes.every((n) => n.pid !== null && n.member === 'voter')).toBe(true)

    const stopped = await s.stopNode(1)
    expect(stopped).toMatchObject({ process: 'stopped', pid: null, lastExit: { code: 0 } })
    expect(stopped.lastExit?.lastLines.some((l) => l.includes('node stopped'))).toBe(true)
    // On disk by the time the stop returns: an export or a reopen right after it agrees.
    expect((await readClusterFile(s.workspace))?.running).toEqual([2, 3])

    const started = await s.startNode(1)
    expect(started.process).toBe('running')
    expect(started.lastExit).toBeNull()

    const killed = await s.killNode(2)
    expect(killed).toMatchObject({ process: 'stopped', lastExit: { signal: 'SIGKILL' } })
    expect((await readClusterFile(s.workspace))?.running).toEqual([1, 3])

    const restarted = await s.restartNode(3)
    expect(restarted.process).toBe('running')
    expect(restarted.pid).not.toBe(st.nodes[2]?.pid)

    // A crash the manager did not ask for.
    const pid = restarted.pid ?? 0
    process.kill(pid, 'SIGKILL')
    const crash = await eventually(async () => {
      const e = (await s.events({ node: 3, kinds: ['nodeExited'] })).at(-1)
      if (e?.data.cause !== 'self') throw new Error('no crash event yet')
      return e
    })
    expect(crash.message).toMatch(/node 3 exited on its own/)
    expect(crash.data).toMatchObject({ signal: 'SIGKILL', code: null })
    expect((crash.data.lastLines as string[]).length).toBeGreaterThan(0)

    await expect(s.stopNode(8)).rejects.toThrow(/node 8 is not part of this cluster/)
    await expect(s.pauseNode(2)).rejects.toThrow(/node 2 is not running/)
    // Arguments are checked in process too, with the method and the field named.
    await expect(s.startNode(0)).rejects.toThrow(/raftlab\.startNode: argument 0/)
    await expect((s.killNode as (...a: unknown[]) => Promise<unknown>)('2')).rejects.toThrow(
      /raftlab\.killNode/,
    )
  })
})

describe('a node that lost its data', { timeout: 120_000 }, () => {
  it('is refused, not brought back as itself with an empty log', async () => {
    const s = await open(await workspace())
    await s.createCluster({ nodes: 3, timing: TEST_TIMING })
    // Marked once each node reports a term: from then on it holds state it must not lose.
    await eventually(async () => {
      const nodes = (await readClusterFile(s.workspace))?.nodes ?? []
      expect(nodes.map((n) => n.hasRun)).toEqual([true, true, true])
    })
    await s.stopNode(2)
    const dir = dataDirOf(s.workspace, 2)
    await rm(dir, { recursive: true, force: true })
    // With an empty log it could vote for a candidate missing acknowledged writes.
    await expect(s.startNode(2)).rejects.toThrow(
      `data directory ${dir} holds no Raft log, but node 2 has run before`,
    )
    expect((await s.status()).nodes.find((n) => n.id === 2)?.process).toBe('stopped')
    // Removed and replaced, as the message says, the cluster is whole again.
    await s.removeNode(2)
    const added = await s.addNode()
    expect(added.member).toBe('voter')
  })
})

/** A stand-in for out/main/node.js that never reports ready, and ignores the stop request. */
const NEVER_READY = "process.on('message', () => {})\nsetInterval(() => {}, 60_000)\n"

/** Opens a service whose nodes run `script` instead of a real node; closed by the caller. */
async function openWithEntry(script: string): Promise<ClusterService> {
  const w = await workspace()
  const entry = join(w, 'stand-in-node.mjs')
  await writeFile(entry, script)
  return ClusterService.open({ workspace: w, nodeEntry: entry, host: 'cli' })
}

describe('a start cut short', { timeout: 60_000 }, () => {
  it('by the user’s Stop all leaves the nodes stopped, and Start all does not fail', async () => {
    const s = await openWithEntry(NEVER_READY)
    try {
      await s.createCluster({ nodes: 3, start: false })
      const starting = s.startAll()
      // Stop all once every process is forked and still starting.
      await eventually(async () => {
        const st = await s.status()
        if (!st.nodes.every((n) => n.process === 'starting' && n.pid !== null)) {
          throw new Error(`not all forked: ${st.nodes.map((n) => n.process).join(', ')}`)
        }
      })
      await s.stopAll()
      const st = await starting
      expect(st.nodes.map((n) => n.process)).toEqual(['stopped', 'stopped', 'stopped'])

      // One node's start, then its stop: the start answers with the stopped node.
      const one = s.startNode(2)
      await eventually(async () => {
        if ((await s.status()).nodes[1]?.pid === null) throw new Error('node 2 not forked yet')
      })
      await s.stopNode(2)
      await expect(one).resolves.toMatchObject({ id: 2, process: 'stopped' })
    } finally {
      await s.close()
    }
  })

  it('by the node’s own exit is a failure that ends on the exit, not on a dangling colon', async () => {
    const s = await openWithEntry('process.exit(3)\n')
    try {
      await s.createCluster({ nodes: 1, start: false })
      await expect(s.startNode(1)).rejects.toThrow(
        /^node 1 exited before it was ready \(code 3, signal null\)$/,
      )
    } finally {
      await s.close()
    }
  })
})

describe('the workspace lock', { timeout: 120_000 }, () => {
  it('refuses a second manager in the same process until the first closes', async () => {
    const w = await workspace()
    const first = await open(w)
    await expect(open(w)).rejects.toThrow(/in use by another RaftLab manager/)
    await close(first)
    const again = await open(w)
    expect((await again.status()).exists).toBe(false)
  })

  it('takes over a lock whose owner is dead', async () => {
    const w = await workspace()
    const dead = spawn(process.execPath, ['-e', '0'])
    const pid = dead.pid ?? 0
    await new Promise((r) => dead.once('exit', r))
    await writeFile(join(w, 'manager.lock'), String(pid))
    const s = await open(w)
    expect((await s.status()).workspace).toBe(w)
  })

  it('a manager killed with SIGKILL leaves no node running; the next one restarts them', async () => {
    const w = await workspace()
    const cli = spawn(
      process.execPath,
      [CLI_ENTRY, 'up', '--workspace', w, '--json', '--nodes', '3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(cli)
    let stderr = ''
    cli.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: cli.stdout as NodeJS.ReadableStream })
      rl.once('line', resolve)
      cli.once('exit', (code) => reject(new Error(`raftlab up exited (${code}): ${stderr}`)))
    })
    const up = JSON.parse(line) as { nodes: { id: number; pid: number }[] }
    const pids = up.nodes.map((n) => n.pid)
    strayPids.push(...pids)
    expect(pids).toHaveLength(3)
    expect(pids.every(alive)).toBe(true)

    // While it runs, the workspace is its own.
    await expect(open(w)).rejects.toThrow(
      new RegExp(`in use by another RaftLab manager \\(pid ${cli.pid}\\)`),
    )

    cli.kill('SIGKILL')
    await eventually(async () => {
      expect(pids.filter(alive)).toEqual([])
    }, 15_000)

    // The dead manager's lock is taken over, and the nodes that ran come back.
    const s = await open(w)
    const st = await s.status()
    expect(st.nodes.map((n) => n.process)).toEqual(['running', 'running', 'running'])
    expect((await readClusterFile(w))?.running).toEqual([1, 2, 3])
    await eventually(async () => {
      expect((await s.status()).leader).not.toBeNull()
    }, 15_000)
  })
})
