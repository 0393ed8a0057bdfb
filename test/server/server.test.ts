// The browser bridge against a fake engine: without the token nothing gets through, with it
// every call answers what the API itself answers, bad arguments never reach the API, and
// pushed events reach every client.

import { request } from 'node:http'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { ClusterEvent } from '../../src/shared/api'
import { connectWire, type WireClient } from '../../src/shared/wireclient'
import { startServer, type ApiServer } from '../../src/main/server/server'
import { fakeApi, fakeStatus, type FakeApi } from './fakeapi'

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', headers: { ...headers } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Opens a socket; resolves with the client, or rejects with the server's refusal. */
function open(
  server: ApiServer,
  opts: { token?: string; query?: string; origin?: string; host?: string } = {},
): Promise<WireClient> {
  const headers: Record<string, string> = {}
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.host !== undefined) headers.host = opts.host
  const ws = new WebSocket(`${server.wsUrl}${opts.query ?? ''}`, {
    headers,
    ...(opts.origin !== undefined ? { origin: opts.origin } : {}),
  })
  sockets.push(ws)
  return connectWire(ws)
}

const sockets: WebSocket[] = []
let dir: string
let rendererDir: string
let api: FakeApi
let server: ApiServer

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftlab-server-'))
  rendererDir = join(dir, 'renderer')
  await mkdir(join(rendererDir, 'assets'), { recursive: true })
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><div id="app"></div>')
  await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
  // Beside the renderer, where a path with .. would reach it.
  await writeFile(join(dir, 'secret.txt'), 'no')
  api = fakeApi()
  server = await startServer({ api, rendererDir })
})

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('without the token', () => {
  it('refuses every HTTP request with 401', async () => {
    for (const path of ['/', '/index.html', '/assets/app.js', '/api', '/nothing']) {
      expect((await get(server.port, path)).status).toBe(401)
      expect((await get(server.port, `${path}?token=wrong`)).status).toBe(401)
      expect(
        (await get(server.port, path, { cookie: `raftlab_token_${server.port}=x` })).status,
      ).toBe(401)
    }
    // The cookie of another server on another port is not this server's token.
    const other = await get(server.port, '/', { cookie: `raftlab_token_1=${server.token}` })
    expect(other.status).toBe(401)
  })

  it('refuses every WebSocket connection, so no call reaches the API', async () => {
    await expect(open(server)).rejects.toThrow(/401/)
    await expect(open(server, { token: 'not-the-token' })).rejects.toThrow(/401/)
    await expect(open(server, { query: `?token=${server.token.slice(1)}` })).rejects.toThrow(/401/)
    await expect(open(server, { token: `${server.token}x` })).rejects.toThrow(/401/)
    expect(api.calls).toEqual([])
    expect(server.clients()).toBe(0)
  })
})

describe('against DNS rebinding', () => {
  it('refuses a foreign Host or Origin even with the token', async () => {
    const auth = { authorization: `Bearer ${server.token}` }
    expect((await get(server.port, '/', { ...auth, host: 'evil.example:80' })).status).toBe(403)
    expect(
      (await get(server.port, '/', { ...auth, host: `evil.example:${server.port}` })).status,
    ).toBe(403)
    expect(
      (await get(server.port, '/', { ...auth, host: `localhost:${server.port}` })).status,
    ).toBe(200)
    await expect(
      open(server, { token: server.token, origin: 'http://evil.example' }),
    ).rejects.toThrow(/403/)
    await expect(
      open(server, { token: server.token, host: `evil.example:${server.port}` }),
    ).rejects.toThrow(/403/)
    const ok = await open(server, {
      token: server.token,
      origin: `http://localhost:${server.port}`,
    })
    expect(await ok.appInfo()).toEqual(await api.appInfo())
  })
})

describe('with the token', () => {
  it('serves the page with a CSP and a strict HttpOnly cookie that then admits its assets', async () => {
    const page = await get(server.port, `/?token=${server.token}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain('<div id="app">')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain(`ws://127.0.0.1:${server.port}`)
    const setCookie = String(page.headers['set-cookie'])
    expect(setCookie).toContain(`raftlab_token_${server.port}=${server.token}`)
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Strict')
    const cookie = setCookie.split(';')[0] ?? ''
    const asset = await get(server.port, '/assets/app.js', { cookie })
    expect(asset.status).toBe(200)
    expect(asset.headers['content-type']).toMatch(/javascript/)
    expect(asset.body).toBe('console.log(1)')
    expect((await get(server.port, '/assets/none.js', { cookie })).status).toBe(404)
  })

  it('serves nothing outside the renderer folder', async () => {
    const auth = { authorization: `Bearer ${server.token}` }
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
    ]) {
      const r = await get(server.port, path, auth)
      expect(r.status).toBe(404)
      expect(r.body).not.toBe('no')
    }
  })

  it('answers every call as the API itself does', async () => {
    const client = await open(server, { token: server.token })
    expect(await client.status()).toEqual(await api.status())
    expect(await client.listKeys({ prefix: '/x/' })).toEqual(await api.listKeys({ prefix: '/x/' }))
    expect(await client.killNode(1)).toEqual(await api.killNode(1))
    expect(await client.readLog({ node: 1, limit: 5 })).toEqual(
      await api.readLog({ node: 1, limit: 5 }),
    )
    expect(await client.heal()).toEqual(await api.heal())
    expect(await client.status()).toEqual(fakeStatus)
  })

  it('accepts the token in the WebSocket URL, as the browser page sends it', async () => {
    const client = await open(server, { query: `?token=${server.token}` })
    expect(await client.status()).toEqual(fakeStatus)
  })

  it('validates arguments before the API sees them and reports errors by name', async () => {
    const client = await open(server, { token: server.token })
    const before = api.calls.length
    const call = client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
    await expect(call.killNode?.('one')).rejects.toMatchObject({
      name: 'ApiArgumentError',
      message: expect.stringMatching(/raftlab\.killNode: argument 0: .*number/i),
    })
    await expect(call.putKey?.({ key: '', value: 'v' })).rejects.toThrow(/putKey: argument 0\.key/)
    await expect(call.readLog?.({ node: 1, bogus: true })).rejects.toThrow(/readLog/)
    expect(api.calls.length).toBe(before)
    // An error the API throws comes back with its message.
    await expect(client.getKey('/missing')).rejects.toThrow('key /missing is not in the fake')
  })

  it('answers malformed messages with an error instead of closing', async () => {
    const ws = new WebSocket(server.wsUrl, { headers: { authorization: `Bearer ${server.token}` } })
    sockets.push(ws)
    await new Promise((r) => ws.once('open', r))
    const replies: unknown[] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    ws.send('not json')
    ws.send(JSON.stringify({ type: 'call', id: 7, method: 'formatDisk', args: [] }))
    ws.send(JSON.stringify({ type: 'call', id: 8, method: 'status', args: 'x' }))
    ws.send(JSON.stringify({ type: 'call', id: 9, method: 'status', args: [] }))
    await expect.poll(() => replies.length).toBe(4)
    expect(replies).toEqual([
      {
        type: 'error',
        id: 0,
        error: { name: 'TypeError', message: expect.stringMatching(/JSON/) },
      },
      {
        type: 'error',
        id: 7,
        error: { name: 'TypeError', message: expect.stringMatching(/no method "formatDisk"/) },
      },
      {
        type: 'error',
        id: 8,
        error: { name: 'TypeError', message: expect.stringMatching(/args must be an array/) },
      },
      { type: 'result', id: 9, result: fakeStatus },
    ])
    expect(api.calls.map((c) => c.method)).toEqual(['status'])
  })

  it('pushes events, status and progress to every connected client', async () => {
    const a = await open(server, { token: server.token })
    const b = await open(server, { query: `?token=${server.token}` })
    const seenA: ClusterEvent[] = []
    const seenB: ClusterEvent[] = []
    const progress: string[] = []
    a.on('event', (e) => seenA.push(e))
    b.on('event', (e) => seenB.push(e))
    const off = b.on('progress', (p) => progress.push(p.task))
    const event: ClusterEvent = {
      seq: 1,
      at: 1,
      kind: 'leaderElected',
      node: 2,
      message: 'node 2 is leader in term 4',
      data: { term: 4 },
    }
    api.emit('event', event)
    api.emit('progress', { task: 'import', done: 1, total: 2, message: 'half' })
    await expect.poll(() => seenA.length + seenB.length + progress.length).toBe(3)
    expect(seenA).toEqual([event])
    expect(seenB).toEqual([event])
    expect(progress).toEqual(['import'])
    off()
    api.emit('progress', { task: 'export', done: 0, total: null, message: '' })
    api.emit('event', { ...event, seq: 2 })
    await expect.poll(() => seenA.length).toBe(2)
    expect(progress).toEqual(['import'])
  })

  it('rejects waiting calls when the server goes away, and unsubscribes from the API', async () => {
    const client = await open(server, { token: server.token })
    expect(api.listenerCount()).toBe(3)
    await server.close()
    await expect(client.closed).resolves.toMatch(/shutting down/)
    await expect(client.status()).rejects.toThrow(/connection .* is closed/)
    expect(api.listenerCount()).toBe(0)
  })
})
