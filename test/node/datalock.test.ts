// One node process per data directory: a second one waits for the first to exit, refuses to
// start while it keeps running, and takes over a lock its crashed owner left behind.

import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { freePorts } from '../../src/main/cluster/workspace'
import { eventually, NODE_ENTRY, removeWorkspace, tempWorkspace } from '../support/cluster'

const children: ChildProcess[] = []
const dirs: string[] = []

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})

afterAll(async () => {
  for (const d of dirs) await removeWorkspace(d)
})

interface Started {
  readonly child: ChildProcess
  readonly client: string
  /** Resolves with the exit code and everything written to stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>
}

/** A standalone single-node cluster on `dataDir`, on ports of its own. */
async function startNode(dataDir: string): Promise<Started> {
  const [clientPort, peerPort] = await freePorts(2)
  const client = `127.0.0.1:${clientPort}`
  const child = spawn(
    process.execPath,
    [
      NODE_ENTRY,
      ...['--id', '1', '--data-dir', dataDir, '--client-addr', client],
      ...['--peer-addr', `127.0.0.1:${peerPort}`],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  )
  return { child, client, exited }
}

/** Resolves once something accepts connections on `addr`: the node serves its API. */
async function serving(addr: string): Promise<void> {
  const [host, port] = addr.split(':')
  await eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(Number(port), host, () => {
          s.destroy()
          resolve()
        })
        s.once('error', reject)
      }),
    15_000,
  )
}

async function put(client: string, key: string, value: string): Promise<void> {
  await serving(client)
  const c = new Etcd3({ hosts: `http://${client}`, dialTimeout: 2000 })
  try {
    await eventually(() => c.put(key).value(value).exec(), 15_000)
  } finally {
    c.close()
  }
}

async function get(client: string, key: string): Promise<string | null> {
  await serving(client)
  const c = new Etcd3({ hosts: `http://${client}`, dialTimeout: 2000 })
  try {
    return await eventually(() => c.get(key).string(), 15_000)
  } finally {
    c.close()
  }
}

describe('the data directory lock', { timeout: 60_000 }, () => {
  it('a second node on a data directory in use waits, and refuses to start if it stays in use', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    const first = await startNode(dir)
    await put(first.client, 'mine', 'first')
    expect(Number(await readFile(join(dir, 'node.lock'), 'utf8'))).toBe(first.child.pid)

    const second = await startNode(dir)
    const { code, stderr } = await second.exited
    expect(code).toBe(1)
    expect(stderr).toContain(
      `data directory ${dir} is in use by another node process (pid ${first.child.pid})`,
    )
    // The first one never noticed.
    expect(await get(first.client, 'mine')).toBe('first')
    const log = await readFile(join(dir, 'node.log'), 'utf8')
    expect(log).toContain('waiting for the process that holds this data directory to exit')
  })

  it('a node started while its predecessor shuts down takes over once it has exited', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    const first = await startNode(dir)
    await put(first.client, 'kept', 'yes')
    const second = await startNode(dir)
    await eventually(async () => {
      const log = await readFile(join(dir, 'node.log'), 'utf8')
      expect(log).toContain('waiting for the process that holds this data directory to exit')
    })
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    expect(await get(second.client, 'kept')).toBe('yes')
    expect(Number(await readFile(join(dir, 'node.lock'), 'utf8'))).toBe(second.child.pid)
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })

  it('takes over the lock of a node that was killed', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    const first = await startNode(dir)
    await put(first.client, 'kept', 'yes')
    first.child.kill('SIGKILL')
    await first.exited
    // SIGKILL leaves the lock behind, naming a process that no longer runs.
    expect(Number(await readFile(join(dir, 'node.lock'), 'utf8'))).toBe(first.child.pid)
    const second = await startNode(dir)
    expect(await get(second.client, 'kept')).toBe('yes')
  })

  it('a lock file that names no process is taken over', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    await writeFile(join(dir, 'node.lock'), 'garbage')
    const node = await startNode(dir)
    await put(node.client, 'k', 'v')
    expect(Number(await readFile(join(dir, 'node.lock'), 'utf8'))).toBe(node.child.pid)
  })

  it('resumes a paused predecessor whose manager died, so that it exits and hands over', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    // Forked with a control channel, as the manager does.
    const [clientPort, peerPort] = await freePorts(2)
    const client = `127.0.0.1:${clientPort}`
    const first = fork(
      NODE_ENTRY,
      [
        ...['--id', '1', '--data-dir', dir, '--client-addr', client],
        ...['--peer-addr', `127.0.0.1:${peerPort}`],
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [] },
    )
    children.push(first)
    const firstExit = new Promise<number | null>((r) => first.once('exit', (code) => r(code)))
    await put(client, 'kept', 'yes')
    // Paused, then its manager's end of the channel closes: it cannot notice.
    first.kill('SIGSTOP')
    first.disconnect()
    const second = await startNode(dir)
    // A clean shutdown: the reports it sends on resuming must not crash it (EPIPE).
    expect(await firstExit).toBe(0)
    expect(await get(second.client, 'kept')).toBe('yes')
    expect(Number(await readFile(join(dir, 'node.lock'), 'utf8'))).toBe(second.child.pid)
    const log = await readFile(join(dir, 'node.log'), 'utf8')
    expect(log).toContain('that process is paused; resuming it so that it can exit')
  })

  it('a data directory that is a file, or lies under one, is refused in one line naming it', async () => {
    const dir = await tempWorkspace()
    dirs.push(dir)
    const file = join(dir, 'a-file')
    await writeFile(file, 'not a directory')
    for (const dataDir of [file, join(file, 'sub')]) {
      const { code, stderr } = await (await startNode(dataDir)).exited
      expect({ dataDir, code }).toEqual({ dataDir, code: 2 })
      expect(stderr).toBe(
        `raftlab node: --data-dir ${dataDir} is not a directory (a file is in the way)\n`,
      )
    }
  })
})
