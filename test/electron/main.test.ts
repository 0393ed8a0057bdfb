// The desktop app's main process, built (out/main/index.js) and run in Node with a stand-in
// for Electron (fake-electron.mjs): Electron's binary cannot be downloaded here, and this is
// the code a user's first `npm start` runs. It checks the wiring that no other test reaches:
// the window's security settings and the files it loads, the IPC handlers against the real
// cluster service on real node processes, the refusal of foreign frames, the command-line
// bridge, and that quitting stops every node before the app exits.

import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { apiChannel, apiMethodNames, textToBase64, type ClusterStatus } from '../../src/shared/api'
import { processAlive } from '../../src/main/node/pidlock'
import { cli } from '../cli/support'
import { eventually, removeWorkspace, ROOT, tempWorkspace, TEST_TIMING } from '../support/cluster'

type Report = { type: string; [k: string]: unknown }

interface App {
  readonly child: ChildProcess
  readonly reports: Report[]
  /** Resolves with the first report of `type` (already received or still to come). */
  next(type: string, pred?: (r: Report) => boolean): Promise<Report>
  /** A call as the renderer makes it, from a frame at `url` (the app's own page by default). */
  invoke(
    method: string,
    args: unknown[],
    from?: { url?: string; subframe?: boolean },
  ): Promise<unknown>
  exited: Promise<number | null>
}

const apps: ChildProcess[] = []
const workspaces: string[] = []
afterEach(async () => {
  for (const c of apps.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const w of workspaces.splice(0)) await removeWorkspace(w)
}, 60_000)

let rendererUrl = ''

function launch(workspace: string): App {
  const child = fork(join(ROOT, 'test/electron/app.mjs'), [], {
    env: { ...process.env, RAFTLAB_WORKSPACE: workspace },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  apps.push(child)
  const reports: Report[] = []
  const waiters: { type: string; pred: (r: Report) => boolean; resolve: (r: Report) => void }[] = []
  let seq = 0
  child.on('message', (r: Report) => {
    reports.push(r)
    for (const w of [...waiters]) {
      if (w.type === r.type && w.pred(r)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(r)
      }
    }
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const next = (type: string, pred: (r: Report) => boolean = () => true): Promise<Report> => {
    const seen = reports.find((r) => r.type === type && pred(r))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      waiters.push({ type, pred, resolve })
      void exited.then((code) => reject(new Error(`the app exited (${code}) before '${type}'`)))
    })
  }
  return {
    child,
    reports,
    next,
    exited,
    invoke: async (method, args, from = {}) => {
      const id = ++seq
      child.send({
        type: 'invoke',
        id,
        channel: apiChannel(method as never),
        args,
        url: from.url ?? rendererUrl,
        subframe: from.subframe,
      })
      const r = await next('reply', (m) => m.id === id)
      if (typeof r.error === 'string') throw new Error(r.error)
      return r.result
    },
  }
}

describe('the Electron main process', () => {
  it('opens a locked-down window on the built renderer and serves the API to it alone', async () => {
    const workspace = await tempWorkspace()
    workspaces.push(workspace)
    const app = launch(workspace)

    const win = await app.next('window')
    const prefs = (win.options as { webPreferences: Record<string, unknown> }).webPreferences
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false })
    expect(prefs.preload).toBe(resolve(ROOT, 'out/preload/index.cjs'))
    expect(existsSync(prefs.preload as string)).toBe(true)
    const load = await app.next('load')
    rendererUrl = load.url as string
    expect(fileURLToPath(rendererUrl)).toBe(resolve(ROOT, 'out/renderer/index.html'))
    expect(existsSync(fileURLToPath(rendererUrl))).toBe(true)
    expect((await app.next('menu')).labels).toContain('File')

    // Every method of the table has a handler; the page may not navigate, open windows or get
    // permissions.
    await app.next('menu')
    expect((await app.invoke('appInfo', [])) as { host: string }).toMatchObject({
      host: 'electron',
    })
    app.child.send({ type: 'navigate', url: 'https://example.com/' })
    expect(await app.next('navigated')).toMatchObject({
      prevented: true,
      open: { action: 'deny' },
      granted: false,
    })

    // A real cluster through the IPC handlers.
    const created = (await app.invoke('createCluster', [
      { nodes: 3, timing: TEST_TIMING },
    ])) as ClusterStatus
    expect(created.nodes).toHaveLength(3)
    const status = await eventually(async () => {
      const s = (await app.invoke('status', [])) as ClusterStatus
      if (s.leader === null) throw new Error('no leader yet')
      return s
    })
    await app.invoke('putKey', [{ key: '/from/ipc', value: 'hello' }])
    expect(await app.invoke('getKey', ['/from/ipc'])).toMatchObject({
      kv: { key: '/from/ipc', value: textToBase64('hello'), version: 1 },
    })
    // Pushed events reach the window.
    await app.next('send', (r) => r.channel === 'raftlab-event:status')

    // Refused: another page, a subframe of ours, and bad arguments (named).
    await expect(app.invoke('status', [], { url: 'https://evil.example/' })).rejects.toThrow(
      /refused a call from https:\/\/evil\.example/,
    )
    await expect(app.invoke('status', [], { subframe: true })).rejects.toThrow(/refused a call/)
    await expect(app.invoke('stopNode', ['one'])).rejects.toThrow(/raftlab\.stopNode: argument 0/)

    // A terminal reaches the app's cluster through the workspace bridge.
    const st = await cli(['status', '--workspace', workspace])
    expect(st.stderr).toBe('')
    expect(st.code).toBe(0)
    expect(st.stdout).toContain(`node ${status.leader}`)

    // Under Electron, process.execPath is Electron's binary: nodes must run it as Node.
    const pids = status.nodes.map((n) => n.pid).filter((p): p is number => typeof p === 'number')
    expect(pids).toHaveLength(3)
    for (const pid of pids) {
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(
        'ELECTRON_RUN_AS_NODE=1',
      )
    }

    // Closing the last window quits; quitting stops every node first, then exits 0.
    app.child.send({ type: 'closeWindows' })
    expect(await app.exited).toBe(0)
    expect(app.reports.filter((r) => r.type === 'prevented')).toHaveLength(1)
    for (const pid of pids) expect(processAlive(pid), `node pid ${pid}`).toBe(false)
    expect(existsSync(join(workspace, 'manager.lock'))).toBe(false)
  }, 90_000)

  it('registers exactly the methods the preload calls', async () => {
    const workspace = await tempWorkspace()
    workspaces.push(workspace)
    const app = launch(workspace)
    rendererUrl = (await app.next('load')).url as string
    for (const name of apiMethodNames) {
      // Each answers: with a result or the service's own error, never "no handler".
      await app.invoke(name, []).catch((e: Error) => expect(e.message).not.toMatch(/No handler/))
    }
    await expect(app.invoke('bogus', [])).rejects.toThrow(
      /No handler registered for 'raftlab:bogus'/,
    )
    app.child.send({ type: 'closeWindows' })
    expect(await app.exited).toBe(0)
  }, 60_000)

  it('says why when the workspace is held by another manager, and exits 1', async () => {
    const workspace = await tempWorkspace()
    workspaces.push(workspace)
    const first = launch(workspace)
    await first.next('window')
    const second = launch(workspace)
    const box = await second.next('errorBox')
    expect(box.title).toBe('RaftLab cannot open its workspace')
    expect(box.content).toMatch(new RegExp(`${first.child.pid}`))
    expect(await second.exited).toBe(1)
    first.child.send({ type: 'closeWindows' })
    expect(await first.exited).toBe(0)
  }, 60_000)
})
