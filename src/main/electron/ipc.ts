import { ipcMain, type IpcMainInvokeEvent } from 'electron'
import {
  apiChannel,
  apiMethodNames,
  parseArgs,
  type ApiMethodName,
  type RaftLabApi,
} from '../../shared/api'

/**
 * Binds every method of the shared table to an IPC handler, in one loop. Each call is served
 * only for our own renderer's top frame, and only after the table has checked its arguments.
 */
export function registerApiHandlers(api: RaftLabApi, isTrustedUrl: (url: string) => boolean): void {
  for (const name of apiMethodNames) {
    ipcMain.handle(apiChannel(name), (event, ...args: unknown[]) => {
      assertTrustedSender(event, name, isTrustedUrl)
      return invoke(api, name, args)
    })
  }
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

function invoke<K extends ApiMethodName>(
  api: RaftLabApi,
  name: K,
  args: readonly unknown[],
): Promise<unknown> {
  const checked = parseArgs(name, args) as unknown[]
  const method = api[name] as (...methodArgs: unknown[]) => Promise<unknown>
  return method.apply(api, checked)
}
