// A real Pinia and the fake API wired the way main.ts wires the real one, for store tests
// (no component) and for mounting components with @vue/test-utils.

import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { createApp } from 'vue'
import { apiKey } from '../../../src/renderer/api'
import { createFakeApi, type FakeApi, type FakeApiOptions } from './fakeapi'

export interface TestApp {
  readonly api: FakeApi
  readonly pinia: Pinia
  /** Pass as `global` to mount(). */
  readonly global: { plugins: [Pinia]; provide: Record<symbol, unknown> }
}

export function testApp(options: FakeApiOptions = {}): TestApp {
  const api = createFakeApi(options)
  const pinia = createPinia()
  // Stores created outside a component resolve inject() through the app pinia is installed in.
  createApp({}).provide(apiKey, api).use(pinia)
  setActivePinia(pinia)
  return { api, pinia, global: { plugins: [pinia], provide: { [apiKey as symbol]: api } } }
}
