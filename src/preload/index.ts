// Runs sandboxed, before the renderer's scripts: it may only `require('electron')`, so the
// build emits it as CommonJS (out/preload/index.cjs) with src/shared bundled in.
// It exposes the method table as functions and nothing else: never ipcRenderer itself.
import { contextBridge, ipcRenderer } from 'electron'
import { apiChannel, apiMethodNames, type RaftLabApi } from '../shared/api'

const api = Object.fromEntries(
  apiMethodNames.map((name) => [
    name,
    (...args: unknown[]): Promise<unknown> => ipcRenderer.invoke(apiChannel(name), ...args),
  ]),
) as unknown as RaftLabApi

contextBridge.exposeInMainWorld('raftlab', api)
