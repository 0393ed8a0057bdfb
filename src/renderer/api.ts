import type { InjectionKey } from 'vue'
import type { RaftLabApi } from '../shared/api'

/** How stores receive the API: main.ts provides it once, no component touches `window`. */
export const apiKey: InjectionKey<RaftLabApi> = Symbol('RaftLabApi')
