// Electron's entry: one window, the cluster service bound to IPC. Everything else in src/main is
// Electron-free, so the node processes, the CLI and browser mode run in plain Node.
import { app, BrowserWindow, dialog, shell } from 'electron'
import { join } from 'node:path'
import type { ClusterApi } from '../shared/api'
import { ClusterService } from './cluster/service'
import { hostWorkspace, type WorkspaceHost } from './server/host'
import { withNativeDialogs } from './electron/host'
import { forwardApiEvents, registerApiHandlers } from './electron/ipc'
import { installMenu } from './electron/menu'
import { createMainWindow, isRendererUrl, lockDownWebContents } from './electron/window'

// Two app instances on one workspace would fight over its nodes: the second one hands over to
// the first (which comes to the front) and quits.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  void main()
}

async function main(): Promise<void> {
  let window: BrowserWindow | null = null
  let closed = false

  app.on('web-contents-created', (_event, contents) => lockDownWebContents(contents))
  app.on('second-instance', () => {
    if (window?.isMinimized()) window.restore()
    window?.focus()
  })

  await app.whenReady()
  const workspace = process.env['RAFTLAB_WORKSPACE'] ?? join(app.getPath('userData'), 'workspace')
  let service: ClusterService
  try {
    // This entry is out/main/index.js; the node program is built beside it.
    service = await ClusterService.open({
      workspace,
      host: 'electron',
      nodeEntry: join(import.meta.dirname, 'node.js'),
    })
  } catch (e) {
    // Most often: `raftlab up` or another window holds this workspace.
    dialog.showErrorBox('RaftLab cannot open its workspace', (e as Error).message)
    app.exit(1)
    return
  }
  const api: ClusterApi = withNativeDialogs(service, () => window)
  registerApiHandlers(api, isRendererUrl)
  // `raftlab status`, `raftlab put`, ... in a terminal reach the app's cluster through the same
  // token-guarded WebSocket API that browser mode serves (manager.json in the workspace).
  let bridge: WorkspaceHost | undefined
  try {
    bridge = await hostWorkspace({ api: service, workspace })
  } catch (e) {
    console.error(`raftlab: the command-line bridge is off: ${(e as Error).message}`)
  }

  const open = (): void => {
    window = createMainWindow()
    forwardApiEvents(api, window.webContents)
    window.on('closed', () => (window = null))
  }
  installMenu(() => window, {
    exportBundle: () =>
      void api.exportBundle({}).then(
        (r) => shell.showItemInFolder(r.path),
        () => {},
      ),
    openWorkspaceFolder: () => void shell.openPath(workspace),
  })
  open()

  // macOS: clicking the dock icon with no window open makes a new one.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) open()
  })
  // macOS apps stay active until the user quits with Cmd+Q; everywhere else closing the last
  // window quits.
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  // Quitting stops every node gracefully (their logs flushed, the workspace unlocked) first.
  app.on('before-quit', (event) => {
    if (closed) return
    event.preventDefault()
    closed = true
    void Promise.allSettled([bridge?.close(), service.close()]).finally(() => app.quit())
  })
}
