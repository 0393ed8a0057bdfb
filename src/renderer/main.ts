import { createPinia } from 'pinia'
import { createApp } from 'vue'
import type { ClusterApi } from '../shared/api'
import { apiKey } from './api'
import App from './App.vue'
import { connectBridge } from './bridge'
import { errorMessage } from './errors'
import './style.css'

/** Electron's preload sets window.raftlab; a page served by `raftlab web` connects instead. */
function resolveApi(): Promise<ClusterApi> {
  return window.raftlab ? Promise.resolve(window.raftlab) : connectBridge()
}

/** Without an API there is no app to mount; the page still says why, never blank. */
function showFatal(message: string): void {
  const root = document.getElementById('app')
  if (!root) return
  const box = document.createElement('div')
  box.className = 'fatal'
  box.setAttribute('role', 'alert')
  const title = document.createElement('h1')
  title.textContent = 'RaftLab cannot reach its cluster manager'
  const detail = document.createElement('p')
  detail.textContent = message
  const hint = document.createElement('p')
  hint.textContent =
    'In browser mode, open the URL that `raftlab web` printed (it carries the access token), and keep that command running.'
  box.append(title, detail, hint)
  root.replaceChildren(box)
}

resolveApi().then(
  (api) => {
    createApp(App).use(createPinia()).provide(apiKey, api).mount('#app')
  },
  (cause: unknown) => showFatal(errorMessage(cause)),
)
