// `npm start`: build, then open the app in Electron.
//
// `npm ci` runs no install scripts (.npmrc: ignore-scripts=true), so Electron's own postinstall,
// which downloads the Electron binary, has not run. We look for the binary the way the
// `electron` package does (node_modules/electron/path.txt naming a file under dist/) without
// require('electron'), which would start a download as a side effect. If it is missing we run
// Electron's installer once (what the postinstall would have done); if that fails too, say so
// in one sentence and exit 1.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

function electronDir() {
  try {
    return dirname(require.resolve('electron/package.json'))
  } catch {
    return null
  }
}

function electronBinaryInstalled(dir) {
  // electron-vite runs ELECTRON_EXEC_PATH instead of the downloaded binary when it is set.
  const override = process.env.ELECTRON_EXEC_PATH
  if (override) return existsSync(override)
  const pathFile = join(dir, 'path.txt')
  if (!existsSync(pathFile)) return false
  return existsSync(join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()))
}

function fail(sentence) {
  console.error(`raftlab: ${sentence}`)
  process.exit(1)
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.error) fail(`could not run ${command}: ${result.error.message}.`)
  if (result.status !== 0) process.exit(result.status ?? 1)
}

const dir = electronDir()
if (dir === null) {
  fail('the electron package is not installed: run `npm ci` first.')
}
if (!electronBinaryInstalled(dir)) {
  console.log('raftlab: the Electron binary is not installed yet; downloading it once...')
  const install = spawnSync(process.execPath, [join(dir, 'install.js')], { encoding: 'utf8' })
  if (install.status !== 0 || !electronBinaryInstalled(dir)) {
    const reason = (install.stderr || install.error?.message || '').trim().split('\n')[0]
    fail(
      'The Electron binary is not installed and could not be downloaded' +
        (reason ? ` (${reason})` : '') +
        ': run `node node_modules/electron/install.js` (or `npx electron --version`) on a ' +
        'machine with internet access, then `npm start` again, or use the same GUI in your ' +
        'browser with `npm run web`.',
    )
  }
}

const electronVite = join(
  dirname(require.resolve('electron-vite/package.json')),
  'bin',
  'electron-vite.js',
)
run(process.execPath, [electronVite, 'build'])
// Arguments after `npm start --` go to electron-vite preview (e.g. --noSandbox).
run(process.execPath, [electronVite, 'preview', '--skipBuild', ...process.argv.slice(2)])
