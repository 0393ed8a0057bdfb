// Runs the built Electron entry (out/main/index.js) in plain Node, with 'electron' replaced by
// the fake in fake-electron.mjs, which reports to the test over the fork's IPC channel.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
await import(new URL('../../out/main/index.js', import.meta.url).href)
