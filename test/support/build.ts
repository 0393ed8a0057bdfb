// Vitest global setup: tests of real node processes run the built programs (out/main/node.js,
// out/main/cli.js), the ones users run, so the suite builds them once before it starts.
// Two suites started at once in one checkout would rebuild out/ under each other's feet, so
// the build runs under a lock directory; RAFTLAB_SKIP_BUILD=1 reuses an existing build.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

export default async function setup(): Promise<void> {
  const root = resolve(import.meta.dirname, '../..')
  if (process.env.RAFTLAB_SKIP_BUILD === '1' && existsSync(resolve(root, 'out/main/node.js'))) {
    return
  }
  const lock = resolve(root, 'node_modules/.raftlab-build-lock')
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // A lock older than two minutes belongs to a build that died.
      const held = statSync(lock, { throwIfNoEntry: false })
      if (held && Date.now() - held.mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true })
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    execFileSync(
      process.execPath,
      [resolve(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    )
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}
