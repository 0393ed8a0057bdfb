import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkWalls, formatViolation, readSourceTree } from './support/walls'

const repoRoot = join(import.meta.dirname, '..')

/** The violations of one in-memory file, as "file:line: message" strings. */
function check(path: string, text: string): string[] {
  return checkWalls([{ path, text }]).map(formatViolation)
}

describe('the walls of DESIGN.md', () => {
  it('are not crossed anywhere in src/', () => {
    const files = readSourceTree(repoRoot)
    expect(files.map((f) => f.path)).toContain('src/main/index.ts')
    expect(checkWalls(files).map(formatViolation)).toEqual([])
  })
})

describe('the wall checker', () => {
  it('reports a Node builtin imported by the consensus core, with file and line', () => {
    expect(check('src/main/raft/x.ts', "// the log\nimport fs from 'node:fs'\n")).toEqual([
      "src/main/raft/x.ts:2: imports Node builtin 'node:fs': the consensus core does no I/O",
    ])
  })

  it('reports clocks, timers, process state and ambient randomness in the consensus core', () => {
    const text = [
      'const t = Date.now()',
      'setTimeout(() => {}, 10)',
      'const r = Math.random()',
      'const env = process.env',
      'const n: Date = new globalThis.Date()',
    ].join('\n')
    const found = check('src/main/raft/x.ts', text)
    expect(found).toEqual([
      'src/main/raft/x.ts:1: uses Date: the consensus core is driven by tick(): no clocks and no timers',
      'src/main/raft/x.ts:2: uses setTimeout: the consensus core is driven by tick(): no clocks and no timers',
      'src/main/raft/x.ts:3: uses Math.random: randomness comes only from the injected seeded RNG',
      'src/main/raft/x.ts:4: uses process: the consensus core does no I/O and reads no process state',
      'src/main/raft/x.ts:5: uses Date: the consensus core is driven by tick(): no clocks and no timers',
      'src/main/raft/x.ts:5: uses globalThis: the consensus core does not reach into the global object',
    ])
  })

  it('ignores comments, strings and property names, and reports a shadowing declaration', () => {
    const clean = [
      '// Date.now() and setTimeout are not used here',
      "const note = 'process.exit(1) and Math.random()'",
      'const message = { process: 1, date: 2 }',
      'interface Timing { readonly setTimeout: number }',
      'export const used = [note, message.process]',
    ].join('\n')
    expect(check('src/main/raft/x.ts', clean)).toEqual([])
    expect(check('src/main/raft/x.ts', 'function process(m: number) { return m }')).toEqual([
      "src/main/raft/x.ts:1: declares 'process', shadowing a global the consensus core must not use: rename it",
    ])
  })

  it('sees type-only, dynamic, require and re-export imports leaving the consensus core', () => {
    const text = [
      "import type { Socket } from 'net'",
      "const m = await import('../kv/store')",
      "const cp = require('child_process')",
      "export * from 'lodash'",
      "import { quorum } from './quorum'",
    ].join('\n')
    expect(check('src/main/raft/x.ts', text)).toEqual([
      "src/main/raft/x.ts:1: imports Node builtin 'net': the consensus core does no I/O",
      "src/main/raft/x.ts:2: imports '../kv/store' (src/main/kv/store): src/main/raft imports nothing outside itself",
      "src/main/raft/x.ts:3: imports Node builtin 'child_process': the consensus core does no I/O",
      "src/main/raft/x.ts:4: imports package 'lodash': src/main/raft imports nothing outside itself",
    ])
  })

  it('keeps electron inside Electron entry, src/main/electron and the preload', () => {
    expect(check('src/main/index.ts', "import { app } from 'electron'")).toEqual([])
    expect(check('src/main/electron/window.ts', "import { app } from 'electron'")).toEqual([])
    expect(check('src/preload/index.ts', "import { contextBridge } from 'electron'")).toEqual([])
    expect(
      check('src/main/cluster/manager.ts', "import type { App } from 'electron/main'"),
    ).toEqual([
      "src/main/cluster/manager.ts:1: imports 'electron/main': only src/main/index.ts, src/main/electron/ and src/preload/ may import electron",
    ])
    expect(
      check('src/main/cli/main.ts', "import { createMainWindow } from '../electron/window'"),
    ).toHaveLength(1)
  })

  it('keeps src/shared free of Node and of main and renderer', () => {
    const text = "import { EventEmitter } from 'events'\nimport type { X } from '../main/cluster/x'"
    expect(check('src/shared/events.ts', text)).toEqual([
      "src/shared/events.ts:1: imports Node builtin 'events': src/shared runs in the renderer too",
      "src/shared/events.ts:2: imports '../main/cluster/x' (src/main/cluster/x): src/shared imports only src/shared",
    ])
  })

  it('keeps the renderer apart: it imports no main code and nothing imports it', () => {
    const vue = [
      '<template><p /></template>',
      '<script setup lang="ts">',
      "import { ClusterManager } from '../main/cluster/manager'",
      '</script>',
    ].join('\n')
    expect(check('src/renderer/App.vue', vue)).toEqual([
      "src/renderer/App.vue:3: imports '../main/cluster/manager': the renderer talks to main only through the API in src/shared",
    ])
    expect(check('src/main/server/http.ts', "import '../../renderer/main'")).toEqual([
      "src/main/server/http.ts:1: imports '../../renderer/main': nothing outside src/renderer/ imports the renderer",
    ])
  })

  it('keeps the state machine below the node, cluster, server, cli and electron layers', () => {
    expect(check('src/main/kv/mvcc.ts', "import { x } from '../node/storage'")).toEqual([
      "src/main/kv/mvcc.ts:1: imports '../node/storage': src/main/kv must not depend on src/main/node/",
    ])
    expect(check('src/main/kv/mvcc.ts', "import { Entry } from '../raft/messages'")).toEqual([])
  })
})
