import { app, BrowserWindow, type WebContents } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

// Paths are relative to the built entry out/main/index.js: only that entry imports this folder,
// so this code is never moved into a shared chunk under out/main/chunks/.
const preloadPath = join(import.meta.dirname, '../preload/index.cjs')
const rendererFile = join(import.meta.dirname, '../renderer/index.html')

/** The renderer's address: Vite's dev server under `npm run dev`, the built page otherwise. */
function rendererUrl(): URL {
  const devServer = process.env['ELECTRON_RENDERER_URL']
  return devServer !== undefined && !app.isPackaged
    ? new URL(devServer)
    : pathToFileURL(rendererFile)
}

/** Whether a page at `url` is our renderer (and so may call the API). */
export function isRendererUrl(url: string): boolean {
  let candidate: URL
  try {
    candidate = new URL(url)
  } catch {
    return false
  }
  const renderer = rendererUrl()
  if (renderer.protocol === 'file:') {
    return candidate.protocol === 'file:' && candidate.pathname === renderer.pathname
  }
  return candidate.origin === renderer.origin
}

export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    title: 'RaftLab',
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 500,
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  })
  window.once('ready-to-show', () => window.show())
  void window.loadURL(rendererUrl().href)
  return window
}

/**
 * Electron's security checklist for every web contents we ever create: the app is one page,
 * so it never navigates, never opens windows, never embeds <webview> and grants no permission
 * (camera, notifications, ...). Links to the outside world will go through an explicit API.
 */
export function lockDownWebContents(contents: WebContents): void {
  contents.on('will-frame-navigate', (event) => event.preventDefault())
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  contents.session.setPermissionRequestHandler((_contents, _permission, grant) => grant(false))
}
