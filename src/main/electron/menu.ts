import { Menu, shell, type BrowserWindow, type MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  exportBundle(): void
  openWorkspaceFolder(): void
}

/**
 * The application menu: the platform's usual File/Edit/View/Window entries with their standard
 * shortcuts (roles), plus the two actions that need the native side: exporting a debug bundle
 * and revealing the workspace. Everything else lives in the renderer, with its own shortcuts.
 */
export function installMenu(getWindow: () => BrowserWindow | null, actions: MenuActions): void {
  const isMac = process.platform === 'darwin'
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        {
          label: 'Export Debug Bundle…',
          accelerator: 'CmdOrCtrl+E',
          click: () => actions.exportBundle(),
        },
        { label: 'Show Workspace Folder', click: () => actions.openWorkspaceFolder() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'Keyboard Shortcuts',
          accelerator: 'F1',
          // The renderer's help overlay answers to "?"; forward the key to it.
          click: () => getWindow()?.webContents.sendInputEvent({ type: 'char', keyCode: '?' }),
        },
        {
          label: 'etcd v3 API Reference',
          click: () => void shell.openExternal('https://etcd.io/docs/v3.4/learning/api/'),
        },
      ],
    },
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}
