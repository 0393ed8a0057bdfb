// A real etcd (Debian's etcd-server) on loopback, for comparing RaftLab's answers with etcd's.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePorts } from '../../src/main/cluster/workspace'

const run = promisify(execFile)

export interface RealEtcd {
  readonly endpoint: string
  close(): Promise<void>
}

export async function startEtcd(): Promise<RealEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-etcd-'))
  const [client, peer] = await freePorts(2)
  const child: ChildProcess = spawn(
    'etcd',
    [
      '--name',
      'e0',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `e0=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  )
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (e) =>
      reject(
        new Error(`cannot start etcd (${e.message}): install it with apt-get install etcd-server`),
      ),
    ),
  )
  const endpoint = `127.0.0.1:${client}`
  const deadline = Date.now() + 15_000
  for (;;) {
    const ok = await Promise.race([
      run('etcdctl', ['--endpoints', endpoint, 'endpoint', 'health']).then(
        () => true,
        () => false,
      ),
      spawnError,
    ])
    if (ok) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('etcd did not become healthy within 15 s')
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    endpoint,
    close: async () => {
      child.kill('SIGKILL')
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface CtlResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** Runs etcdctl (API v3) and returns what it printed, whatever its exit code. */
export async function etcdctl(
  endpoints: string,
  args: readonly string[],
  input?: string,
): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'etcdctl',
      ['--endpoints', endpoints, '--command-timeout=10s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(new Error(`etcdctl ${args.join(' ')}: ${err.message}`))
          return
        }
        resolve({ stdout, stderr, code: err ? Number((err as { code?: unknown }).code) : 0 })
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}
