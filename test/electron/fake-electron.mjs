// A stand-in for the parts of Electron that out/main/index.js uses, for a test on a machine
// without Electron's binary. It behaves as Electron documents them (app lifecycle, windows,
// IPC handlers, quitting) and reports to the test over the fork's IPC channel:
//   to the test:   window, load, send (webContents.send), menu, errorBox, quitting, prevented
//   from the test: invoke (as a renderer frame would), emit (an app event), navigate
import { EventEmitter } from 'node:events'

const report = (msg) => process.send?.(msg)

const handlers = new Map()
export const ipcMain = {
  handle(channel, fn) {
    if (handlers.has(channel)) throw new Error(`a handler for '${channel}' is registered already`)
    handlers.set(channel, fn)
  },
}

class App extends EventEmitter {
  isPackaged = false
  #quitting = false
  requestSingleInstanceLock() {
    return true
  }
  whenReady() {
    return Promise.resolve()
  }
  getPath(name) {
    return `/nonexistent/${name}`
  }
  quit() {
    if (this.#quitting) return
    const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) }
    this.emit('before-quit', event)
    if (event.defaultPrevented) return report({ type: 'prevented' })
    this.#quitting = true
    report({ type: 'quitting' })
    this.emit('will-quit', event)
    setImmediate(() => process.exit(0))
  }
  exit(code = 0) {
    report({ type: 'quitting', code })
    setImmediate(() => process.exit(code))
  }
}
export const app = new App()

class WebContents extends EventEmitter {
  #destroyed = false
  session = { setPermissionRequestHandler: (fn) => (this.permissionHandler = fn) }
  setWindowOpenHandler(fn) {
    this.windowOpenHandler = fn
  }
  isDestroyed() {
    return this.#destroyed
  }
  send(channel, payload) {
    if (this.#destroyed) throw new Error('Object has been destroyed')
    report({ type: 'send', channel, payload })
  }
  sendInputEvent() {}
  destroy() {
    this.#destroyed = true
    this.emit('destroyed')
  }
}

const windows = new Set()
export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super()
    this.options = options
    this.webContents = new WebContents()
    windows.add(this)
    app.emit('web-contents-created', {}, this.webContents)
    report({ type: 'window', options })
  }
  static getAllWindows() {
    return [...windows]
  }
  async loadURL(url) {
    this.url = url
    report({ type: 'load', url })
    setImmediate(() => this.emit('ready-to-show'))
  }
  show() {}
  focus() {}
  restore() {}
  isMinimized() {
    return false
  }
  close() {
    windows.delete(this)
    this.webContents.destroy()
    this.emit('closed')
    if (windows.size === 0) app.emit('window-all-closed')
  }
}

export const dialog = {
  showErrorBox: (title, content) => report({ type: 'errorBox', title, content }),
  showSaveDialog: async () => ({ canceled: true }),
}
export const shell = {
  showItemInFolder() {},
  openPath: async () => '',
  openExternal: async () => {},
}
export const Menu = {
  buildFromTemplate: (template) => ({ template }),
  setApplicationMenu: (menu) =>
    report({ type: 'menu', labels: menu.template.map((m) => m.label ?? m.role) }),
}

process.on('message', async (msg) => {
  if (msg.type === 'invoke') {
    const fn = handlers.get(msg.channel)
    const frame = { url: msg.url, parent: msg.subframe ? {} : null }
    try {
      if (!fn) throw new Error(`No handler registered for '${msg.channel}'`)
      const result = await fn({ senderFrame: frame }, ...msg.args)
      report({ type: 'reply', id: msg.id, result })
    } catch (e) {
      report({ type: 'reply', id: msg.id, error: e.message })
    }
  } else if (msg.type === 'closeWindows') {
    for (const w of [...windows]) w.close()
  } else if (msg.type === 'navigate') {
    // What Electron asks before a page navigates or opens a window: is it let through?
    const w = [...windows][0]
    const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) }
    w.webContents.emit('will-frame-navigate', event)
    const open = w.webContents.windowOpenHandler?.({ url: msg.url })
    let granted
    w.webContents.permissionHandler?.(w.webContents, 'media', (g) => (granted = g))
    report({ type: 'navigated', prevented: event.defaultPrevented, open, granted })
  }
})
