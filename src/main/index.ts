// Electron's entry: one window, the API bound to IPC. Everything else in src/main is
// Electron-free, so the node process, the CLI and browser mode can run in plain Node.
import { app, BrowserWindow } from 'electron'
import type { RaftLabApi } from '../shared/api'
import { registerApiHandlers } from './electron/ipc'
import { createMainWindow, isRendererUrl, lockDownWebContents } from './electron/window'

const api = {
  appInfo: () => Promise.resolve({ name: 'RaftLab', version: app.getVersion(), host: 'electron' }),
} as unknown as RaftLabApi

app.on('web-contents-created', (_event, contents) => lockDownWebContents(contents))

void app.whenReady().then(() => {
  registerApiHandlers(api, isRendererUrl)
  createMainWindow()
  // macOS: clicking the dock icon with no window open makes a new one.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow()
  })
})

// macOS apps stay active until the user quits with Cmd+Q; everywhere else closing the last
// window quits.
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
