import { inject, type InjectionKey } from 'vue'
import type { ClusterApi } from '../shared/api'

/** How stores receive the API: main.ts provides it once, no component touches `window`. */
export const apiKey: InjectionKey<ClusterApi> = Symbol('ClusterApi')

/** The provided API; for use in setup stores and components' setup. */
export function useApi(): ClusterApi {
  const api = inject(apiKey, null)
  if (!api) {
    throw new Error('The RaftLab API was not provided to the Vue app (see src/renderer/main.ts)')
  }
  return api
}
