import { defineStore } from 'pinia'
import { inject, ref } from 'vue'
import type { AppInfo } from '../../shared/api'
import { apiKey } from '../api'

export const useAppStore = defineStore('app', () => {
  const api = inject(apiKey) ?? missingApi()

  const info = ref<AppInfo | null>(null)
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    try {
      info.value = await api.appInfo()
      error.value = null
    } catch (cause) {
      error.value = cause instanceof Error ? cause.message : String(cause)
    }
  }

  return { info, error, load }
})

function missingApi(): never {
  throw new Error('The RaftLab API was not provided to the Vue app (see src/renderer/main.ts)')
}
