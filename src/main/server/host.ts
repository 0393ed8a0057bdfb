// A process that owns a workspace serves its API so that the browser and other `raftlab`
// commands can reach it, and says where in manager.json. The CLI's `up` and `web` use this;
// the desktop app can too.

import type { ClusterApi } from '../../shared/api'
import { removeManagerFile, removeManagerFileSync, writeManagerFile } from './managerfile'
import { startServer, type ApiServer } from './server'

export interface HostOptions {
  readonly api: ClusterApi
  readonly workspace: string
  readonly port?: number
  readonly rendererDir?: string
}

export interface WorkspaceHost {
  readonly server: ApiServer
  /** Stops serving and removes manager.json. */
  close(): Promise<void>
}

export async function hostWorkspace(opts: HostOptions): Promise<WorkspaceHost> {
  const server = await startServer({
    api: opts.api,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.rendererDir !== undefined ? { rendererDir: opts.rendererDir } : {}),
  })
  const { workspace } = opts
  const { token } = server
  // Even an exit that skips close() (process.exit in a signal handler) removes the file.
  const onExit = (): void => removeManagerFileSync(workspace, token)
  process.on('exit', onExit)
  try {
    await writeManagerFile(workspace, { pid: process.pid, port: server.port, token })
  } catch (e) {
    process.off('exit', onExit)
    await server.close()
    throw e
  }
  let closing: Promise<void> | undefined
  return {
    server,
    close: () => {
      closing ??= (async () => {
        await removeManagerFile(workspace, token)
        process.off('exit', onExit)
        await server.close()
      })()
      return closing
    },
  }
}
