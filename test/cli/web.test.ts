// `raftlab web` on real processes: it serves the built GUI with the run's token only, and other
// commands reach its cluster through manager.json like they reach `raftlab up`.

import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/shared/api'
import { TEST_TIMING } from '../support/cluster'
import { alive, background, cli, cliJson, type Background } from './support'

let workspace: string
let web: Background | undefined
let served: { url: string; port: number; workspace: string }
const pids: number[] = []

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'raftlab-web-'))
  web = await background([
    'web',
    '--workspace',
    workspace,
    '--nodes',
    '1',
    '--tick-ms',
    String(TEST_TIMING.tickMs),
    '--json',
  ])
  served = JSON.parse(web.firstLine) as typeof served
}, 90_000)

afterAll(async () => {
  await web?.stop()
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  await rm(workspace, { recursive: true, force: true })
}, 30_000)

describe('raftlab web', () => {
  it('prints a loopback URL with a token, and serves the GUI only with it', async () => {
    const url = new URL(served.url)
    expect(url.hostname).toBe('127.0.0.1')
    expect(Number(url.port)).toBe(served.port)
    const token = url.searchParams.get('token') ?? ''
    expect(token.length).toBeGreaterThanOrEqual(32)

    const page = await fetch(served.url)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    const html = await page.text()
    expect(html).toContain('<div id="app"')
    // The page's scripts load with the cookie the page set, and not without it.
    const script = /src="([^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const asset = new URL(script ?? '/', served.url).pathname
    expect(
      (await fetch(`http://127.0.0.1:${served.port}${asset}`, { headers: { cookie } })).status,
    ).toBe(200)
    expect((await fetch(`http://127.0.0.1:${served.port}${asset}`)).status).toBe(401)
    expect((await fetch(`http://127.0.0.1:${served.port}/`)).status).toBe(401)
    expect(
      (await fetch(`http://127.0.0.1:${served.port}/?token=${token.slice(0, -1)}`)).status,
    ).toBe(401)
  })

  it('is the manager other commands reach', async () => {
    expect(existsSync(join(workspace, 'manager.json'))).toBe(true)
    const s = await cliJson<ClusterStatus>(['status', '--workspace', workspace])
    expect(s.exists).toBe(true)
    expect(s.nodes).toHaveLength(1)
    pids.push(...s.nodes.flatMap((n) => (n.pid !== null ? [n.pid] : [])))
    const info = await cli(['status', '--workspace', workspace])
    expect(info.stderr).not.toContain('no cluster manager')
  })

  it('stops on SIGTERM, removing manager.json and stopping the nodes', async () => {
    expect(await web?.stop()).toBe(0)
    web = undefined
    expect(existsSync(join(workspace, 'manager.json'))).toBe(false)
    expect(pids.length).toBeGreaterThan(0)
    for (const pid of pids) expect(alive(pid)).toBe(false)
  })
})
