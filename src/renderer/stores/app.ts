import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '../../shared/api'
import type { WireClient } from '../../shared/wireclient'
import { useApi } from '../api'
import { errorMessage } from '../errors'
import { useUiStore } from './ui'

export type Connection = 'connecting' | 'connected' | 'lost'

/** What serves the API, whether it still answers, and the pushed progress of long work. */
export const useAppStore = defineStore('app', () => {
  const api = useApi()
  const ui = useUiStore()

  const info = ref<AppInfo | null>(null)
  const error = ref<string | null>(null)
  const connection = ref<Connection>('connecting')
  let unsubscribe: (() => void) | null = null

  async function load(): Promise<void> {
    try {
      info.value = await api.appInfo()
      error.value = null
      connection.value = 'connected'
    } catch (cause) {
      error.value = errorMessage(cause)
      connection.value = 'lost'
    }
  }

  /** Subscribes once to the host's progress pushes and asks who the host is. */
  async function start(): Promise<void> {
    if (!unsubscribe) {
      unsubscribe = api.on('progress', (p) => ui.trackProgress(p))
      watchClosed()
    }
    await load()
  }

  /**
   * The browser bridge's client says when its socket closed (Electron's IPC never closes), so
   * a user learns at once that the page went stale, not at the next failed click.
   */
  function watchClosed(): void {
    const closed = (api as Partial<Pick<WireClient, 'closed'>>).closed
    if (!(closed instanceof Promise)) return
    void closed.then((reason) => {
      connection.value = 'lost'
      ui.notify(
        'error',
        `The connection to the RaftLab manager closed (${reason}). If \`raftlab web\` stopped, ` +
          'start it again and open the URL it prints: each run has its own access token, so this ' +
          'page cannot reconnect.',
      )
    })
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
  }

  /** A push or an answer arrived: the host is there. */
  function alive(): void {
    connection.value = 'connected'
  }

  /**
   * After a failed call: was it the operation or the connection? A failed operation still
   * means the host answered, so ask it the cheapest question.
   */
  async function probe(): Promise<void> {
    try {
      await api.appInfo()
      connection.value = 'connected'
    } catch {
      connection.value = 'lost'
    }
  }

  return { info, error, connection, load, start, stop, alive, probe }
})
