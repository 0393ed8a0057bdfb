// End-to-end harness: `raftlab web` (the built CLI, real node processes) in a temporary
// workspace, and Debian's Chromium driven by playwright-core. Playwright's own browser download
// is not reachable from the build machines, so the system binary is used.

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { chromium, type Browser, type Page } from 'playwright-core'
import WebSocket from 'ws'
import type { ClusterStatus } from '../../../src/shared/api'
import { connectWire, type WireClient } from '../../../src/shared/wireclient'

export const ROOT = resolve(import.meta.dirname, '../../..')
const CLI = join(ROOT, 'out/main/cli.js')
export const CHROMIUM = process.env['RAFTLAB_CHROMIUM'] ?? '/usr/bin/chromium'
export const SCREENSHOTS = join(ROOT, 'docs/screenshots')

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM)
}

/**
 * The e2e tests must fail, not skip, where Chromium is missing: a skipped GUI test would let a
 * broken GUI pass `npm test`. Call it inside each test (a beforeAll that throws makes vitest
 * report the tests as skipped).
 */
export function requireChromium(): void {
  if (!chromiumInstalled()) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install it with \`apt-get install chromium\` ` +
        '(or point RAFTLAB_CHROMIUM at a Chromium binary)',
    )
  }
}

export interface WebHost {
  readonly url: string
  readonly workspace: string
  readonly proc: ChildProcess
  /** The same API the page uses, over its own WebSocket: for checks behind the GUI's back. */
  readonly api: WireClient
  /** Everything the host wrote to stderr, for failure messages. */
  stderr(): string
  /** Stops the host (which stops its nodes), kills any node it left behind, removes the workspace. */
  stop(): Promise<void>
}

/** True if `pid` is a node process of this workspace (so a reused pid is never killed). */
function isOurNode(pid: number, workspace: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workspace)
  } catch {
    return false
  }
}

/** Starts `raftlab web` on a free port and resolves once it prints its URL. */
export async function startWeb(extraArgs: readonly string[] = []): Promise<WebHost> {
  const workspace = await mkdtemp(join(tmpdir(), 'raftlab-e2e-'))
  const proc = spawn(
    process.execPath,
    [CLI, 'web', '--workspace', workspace, '--json', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let err = ''
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const lines = createInterface({ input: proc.stdout! })
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`raftlab web did not start:\n${err}`)), 60_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`raftlab web exited with ${code}:\n${err}`))
    })
    lines.once('line', (line) => {
      clearTimeout(timer)
      try {
        resolveUrl((JSON.parse(line) as { url: string }).url)
      } catch {
        reject(new Error(`raftlab web printed ${line}`))
      }
    })
  }).catch(async (e: unknown) => {
    proc.kill('SIGKILL')
    await rm(workspace, { recursive: true, force: true, maxRetries: 5 })
    throw e
  })
  const page = new URL(url)
  const api = await connectWire(
    new WebSocket(`ws://${page.host}/api?token=${page.searchParams.get('token') ?? ''}`),
    `raftlab web at ${page.host}`,
  ).catch(async (e: unknown) => {
    // SIGTERM: the host stops the nodes it may already have started.
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    await exited
    await rm(workspace, { recursive: true, force: true, maxRetries: 5 })
    throw e
  })
  // Every node pid the host ever reported: a host that dies hard must not leave them running.
  const pids = new Set<number>()
  const remember = (s: ClusterStatus): void => {
    for (const n of s.nodes) if (n.pid !== null) pids.add(n.pid)
  }
  api.on('status', remember)

  const stop = async (): Promise<void> => {
    await api
      .status()
      .then(remember)
      .catch(() => {})
    api.close()
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(timer)
    }
    for (const pid of pids) {
      if (isOurNode(pid, workspace)) process.kill(pid, 'SIGKILL')
    }
    await rm(workspace, { recursive: true, force: true, maxRetries: 5 })
  }
  return { url, workspace, proc, api, stderr: () => err, stop }
}

export async function launchChromium(): Promise<Browser> {
  requireChromium()
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  })
}

/** Saves a screenshot of the current view for README.md. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}
