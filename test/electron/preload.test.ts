// The built preload (out/preload/index.cjs) as Electron runs it with `sandbox: true`: in a
// context of its own whose `require` reaches 'electron' and a few built-ins and nothing else,
// so a package left external by the build fails the load, as it would in the app. Electron's
// contextBridge and ipcRenderer are stand-ins that record what the preload does with them.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { apiChannel, apiEventChannel, apiMethodNames } from '../../src/shared/channels'
import { ROOT } from '../support/cluster'

/** What a sandboxed preload may require besides 'electron' (Electron's documented list). */
const SANDBOX_BUILTINS = new Set(['events', 'timers', 'url'])

interface Loaded {
  readonly exposed: Map<string, Record<string, unknown>>
  readonly invoked: { channel: string; args: unknown[] }[]
  readonly listeners: Map<string, Set<(event: unknown, payload: unknown) => void>>
}

function loadPreload(): Loaded {
  const exposed = new Map<string, Record<string, unknown>>()
  const invoked: Loaded['invoked'] = []
  const listeners: Loaded['listeners'] = new Map()
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.set(key, api),
    },
    ipcRenderer: {
      invoke: (channel: string, ...args: unknown[]) => {
        invoked.push({ channel, args })
        return Promise.resolve(`answer to ${channel}`)
      },
      on: (channel: string, fn: (event: unknown, payload: unknown) => void) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set())
        listeners.get(channel)!.add(fn)
      },
      removeListener: (channel: string, fn: (event: unknown, payload: unknown) => void) => {
        listeners.get(channel)?.delete(fn)
      },
    },
  }
  const sandboxRequire = (id: string): unknown => {
    if (id === 'electron') return electron
    if (SANDBOX_BUILTINS.has(id)) return {}
    throw new Error(`module not found: ${id}`)
  }
  const code = readFileSync(join(ROOT, 'out/preload/index.cjs'), 'utf8')
  const module = { exports: {} }
  runInNewContext(`(function (require, module, exports) {\n${code}\n})`, {})(
    sandboxRequire,
    module,
    module.exports,
  )
  return { exposed, invoked, listeners }
}

describe('the preload, sandboxed', () => {
  it('loads requiring nothing but electron', () => {
    // Before the preload imported only src/shared/channels.ts, the build left zod external:
    // "module not found: zod", and the window had no API at all.
    expect(() => loadPreload()).not.toThrow()
  })

  it('exposes every API method as an invoke on its channel, and nothing else', async () => {
    const { exposed, invoked } = loadPreload()
    expect([...exposed.keys()]).toEqual(['raftlab'])
    const api = exposed.get('raftlab')!
    expect(Object.keys(api).sort()).toEqual([...apiMethodNames, 'on'].sort())
    const putKey = api.putKey as (...a: unknown[]) => Promise<unknown>
    await expect(putKey({ key: 'a', value: 'b' })).resolves.toBe('answer to raftlab:putKey')
    expect(invoked).toEqual([{ channel: apiChannel('putKey'), args: [{ key: 'a', value: 'b' }] }])
  })

  it('passes pushed events to listeners without the IPC event, until unsubscribed', () => {
    const { exposed, listeners } = loadPreload()
    const on = exposed.get('raftlab')!.on as (e: string, fn: (p: unknown) => void) => () => void
    const got: unknown[] = []
    const off = on('status', (p) => got.push(p))
    const channel = apiEventChannel('status')
    const sender = { secret: 'the sender must not leak' }
    for (const fn of listeners.get(channel)!) fn({ sender }, { leader: 1 })
    expect(got).toEqual([{ leader: 1 }])
    off()
    expect(listeners.get(channel)!.size).toBe(0)
    expect(() => on('bogus', () => {})).toThrow("raftlab.on: unknown event 'bogus'")
  })
})
