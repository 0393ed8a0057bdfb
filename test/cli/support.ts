// Runs the built `raftlab` command (out/main/cli.js) as a user does: a child process with
// arguments, its exit code, stdout and stderr. `up` runs in the background until stopped.

import { spawn, type ChildProcess } from 'node:child_process'
import { CLI_ENTRY } from '../support/cluster'

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.RAFTLAB_WORKSPACE
  return env
}

export function cli(args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** Runs a --json command that must succeed and returns its one JSON document. */
export async function cliJson<T>(args: readonly string[]): Promise<T> {
  const r = await cli([...args, '--json'])
  if (r.code !== 0) {
    throw new Error(`raftlab ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  }
  return JSON.parse(r.stdout) as T
}

export interface Background {
  readonly child: ChildProcess
  /** The first line it printed on stdout. */
  readonly firstLine: string
  stderr(): string
  /** SIGTERM, then SIGKILL if it has not exited within the grace period; resolves on exit. */
  stop(graceMs?: number): Promise<number | null>
}

/** Starts a long-running command and waits for its first stdout line. */
export function background(args: readonly string[], timeoutMs = 60_000): Promise<Background> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0)
      reject(new Error(`raftlab ${args.join(' ')} printed nothing in ${timeoutMs} ms: ${stderr}`))
    }, timeoutMs)
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c
      const nl = stdout.indexOf('\n')
      if (nl >= 0 && timer.hasRef()) {
        clearTimeout(timer)
        timer.unref()
        resolve({ child, firstLine: stdout.slice(0, nl), stderr: () => stderr, stop })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`raftlab ${args.join(' ')} exited ${code} before printing: ${stderr}`))
    })
  })
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
