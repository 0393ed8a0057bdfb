import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import {
  apiChannel,
  apiEventChannel,
  apiEventNames,
  apiMethodNames,
  parseArgs,
  type ApiMethodName,
  type ClusterApi,
} from '../../shared/api'

/**
 * Binds every method of the shared table to an IPC handler, in one loop. Each call is served
 * only for our own renderer's top frame, and only after the table's schema has checked its
 * arguments: a compromised or buggy renderer can send anything.
 */
export function registerApiHandlers(api: ClusterApi, isTrustedUrl: (url: string) => boolean): void {
  for (const name of apiMethodNames) {
    ipcMain.handle(apiChannel(name), (event, ...args: unknown[]) => {
      assertTrustedSender(event, name, isTrustedUrl)
      return invoke(api, name, args)
    })
  }
}

/** Forwards the API's pushed events to one window until it is destroyed. */
export function forwardApiEvents(api: ClusterApi, contents: WebContents): void {
  const offs = apiEventNames.map((name) =>
    api.on(name, (payload) => {
      if (!contents.isDestroyed()) contents.send(apiEventChannel(name), payload)
    }),
  )
  contents.once('destroyed', () => offs.forEach((off) => off()))
}

function assertTrustedSender(
  event: IpcMainInvokeEvent,
  name: ApiMethodName,
  isTrustedUrl: (url: string) => boolean,
): void {
  const frame = event.senderFrame
  if (frame === null || frame.parent !== null || !isTrustedUrl(frame.url)) {
    throw new Error(`raftlab.${name}: refused a call from ${frame?.url ?? 'a frame that is gone'}`)
  }
}

function invoke(api: ClusterApi, name: ApiMethodName, args: readonly unknown[]): Promise<unknown> {
  const checked = parseArgs(name, args) as unknown[]
  const method = api[name] as (...methodArgs: unknown[]) => Promise<unknown>
  return method.apply(api, checked)
}
