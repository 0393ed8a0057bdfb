// Runs sandboxed, before the renderer's scripts: it may only `require('electron')` (and a few
// built-ins), so the build emits it as CommonJS (out/preload/index.cjs) and it imports nothing
// of ours but src/shared/channels.ts, which depends on no package.
// It exposes the method table as functions plus `on` for the pushed events, and nothing else:
// never ipcRenderer itself, and listeners never see the IPC event object (it carries `sender`).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import {
  apiChannel,
  apiEventChannel,
  apiEventNames,
  apiMethodNames,
  type ApiEventName,
} from '../shared/channels'
import type { ClusterApi } from '../shared/api'

const methods = Object.fromEntries(
  apiMethodNames.map((name) => [
    name,
    (...args: unknown[]): Promise<unknown> => ipcRenderer.invoke(apiChannel(name), ...args),
  ]),
)

function on(event: ApiEventName, listener: (payload: unknown) => void): () => void {
  if (!apiEventNames.includes(event)) throw new Error(`raftlab.on: unknown event '${event}'`)
  const forward = (_e: IpcRendererEvent, payload: unknown): void => listener(payload)
  ipcRenderer.on(apiEventChannel(event), forward)
  return () => ipcRenderer.removeListener(apiEventChannel(event), forward)
}

contextBridge.exposeInMainWorld('raftlab', { ...methods, on } as unknown as ClusterApi)
