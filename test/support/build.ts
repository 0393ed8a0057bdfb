// Vitest global setup: tests of real node processes run the built programs (out/main/node.js,
// out/main/cli.js), the ones users run, so the suite builds them once before it starts.

import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

export default function setup(): void {
  const root = resolve(import.meta.dirname, '../..')
  execFileSync(
    process.execPath,
    [resolve(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
}
