import { dialog, type BrowserWindow } from 'electron'
import type { ClusterApi } from '../../shared/api'

/**
 * The API as the Electron window gets it: the cluster service itself, except that an export
 * without a path asks for one in the platform's save dialog (the renderer has no filesystem).
 * A cancelled dialog rejects with a sentence the renderer shows as it is.
 */
export function withNativeDialogs(
  api: ClusterApi,
  getWindow: () => BrowserWindow | null,
): ClusterApi {
  async function askPath(title: string, defaultName: string, ext: string): Promise<string> {
    const win = getWindow()
    const options = {
      title,
      defaultPath: defaultName,
      filters: [{ name: ext.toUpperCase(), extensions: [ext] }],
    }
    const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options)
    if (r.canceled || !r.filePath) throw new Error('Export cancelled.')
    return r.filePath
  }
  const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-')
  const host: ClusterApi = Object.create(api) as ClusterApi
  host.appInfo = async () => ({ ...(await api.appInfo()), host: 'electron' })
  host.exportBundle = async (opts) =>
    api.exportBundle({
      path:
        opts.path ??
        (await askPath('Export debug bundle', `raftlab-bundle-${stamp()}.tar.gz`, 'gz')),
    })
  host.exportNodeLog = async (opts) =>
    api.exportNodeLog({
      ...opts,
      path:
        opts.path ??
        (await askPath(
          `Export node ${opts.node}'s log`,
          `node-${opts.node}-log-${stamp()}.${opts.format}`,
          opts.format,
        )),
    })
  return host
}
