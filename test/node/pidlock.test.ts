// The pid lock under contention: many processes that find the same stale lock at the same
// moment, of which exactly one may win. Real processes, since a lock names its owner by pid.

import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { useTempDirs } from './support/tmp'

const REPO_ROOT = resolve(import.meta.dirname, '../..')
const CONTENDERS = 8

// Each contender says it is ready, waits for a line on stdin, then tries the lock once without
// waiting and reports; a winner holds the lock until its stdin closes.
const CONTENDER = `
  import { takePidLock } from './src/main/node/pidlock.ts'
  const path = process.argv[1]
  process.stdout.write('ready\\n')
  process.stdin.once('data', async () => {
    try {
      const lock = await takePidLock(path, { busy: (o) => new Error('busy ' + o) })
      process.stdout.write('won\\n')
      process.stdin.once('end', () => lock.release().then(() => process.exit(0)))
    } catch (e) {
      process.stdout.write('lost ' + e.message + '\\n')
      process.exit(0)
    }
  })
`

// A contender that waits its turn: once it has the lock it records entering and leaving a
// critical section in a shared file, holds the lock a moment, and releases it.
const PATIENT = `
  import { appendFileSync } from 'node:fs'
  import { takePidLock } from './src/main/node/pidlock.ts'
  const [path, journal] = process.argv.slice(1)
  process.stdout.write('ready\\n')
  process.stdin.once('data', async () => {
    const lock = await takePidLock(path, { waitMs: 20000, busy: (o) => new Error('busy ' + o) })
    appendFileSync(journal, 'enter ' + process.pid + '\\n')
    await new Promise((r) => setTimeout(r, 100))
    appendFileSync(journal, 'leave ' + process.pid + '\\n')
    await lock.release()
    process.stdout.write('done\\n')
    process.exit(0)
  })
`

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})
const tempDir = useTempDirs('raftlab-pidlock-')

/** A pid that ran and has exited: the owner of a stale lock. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', ''])
  await new Promise((r) => c.once('exit', r))
  return c.pid!
}

function contender(
  path: string,
  script = CONTENDER,
  args: string[] = [],
): {
  child: ChildProcess
  lines: string[]
  line: () => Promise<string>
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, path, ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  children.push(child)
  const lines: string[] = []
  const waiting: ((l: string) => void)[] = []
  let buf = ''
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i)
      buf = buf.slice(i + 1)
      const w = waiting.shift()
      if (w) w(l)
      else lines.push(l)
    }
  })
  const line = (): Promise<string> =>
    lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r))
  return { child, lines, line }
}

describe('pid lock', () => {
  it('lets exactly one of many processes take over the same stale lock', async () => {
    const dir = await tempDir()
    const path = join(dir, 'node.lock')
    for (let round = 0; round < 2; round++) {
      await writeFile(path, String(await deadPid()))
      const cs = Array.from({ length: CONTENDERS }, () => contender(path))
      for (const c of cs) expect(await c.line()).toBe('ready')
      for (const c of cs) c.child.stdin!.write('go\n')
      const outcomes = await Promise.all(cs.map((c) => c.line()))
      const winners = outcomes.filter((o) => o === 'won')
      expect(winners, outcomes.join(', ')).toHaveLength(1)
      // The losers name the winner as the owner.
      const winner = cs[outcomes.indexOf('won')]!.child.pid
      for (const o of outcomes) if (o !== 'won') expect(o).toBe(`lost busy ${winner}`)
      for (const c of cs) c.child.stdin!.end()
      await Promise.all(
        cs.map(
          (c) =>
            new Promise((r) => (c.child.exitCode === null ? c.child.once('exit', r) : r(null))),
        ),
      )
      // Nothing is left behind: no lock, no guard, no contender's own file.
      expect(await readdir(dir)).toEqual([])
    }
  }, 60_000)

  it('takes turns after waiting on a live owner that then dies', async () => {
    // Waiting first matters: a takeover guard linked from a file made when the wait began
    // would look as old as the wait, and be taken for a dead process's.
    const dir = await tempDir()
    const path = join(dir, 'node.lock')
    const journal = join(dir, 'journal')
    const owner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'])
    children.push(owner)
    await writeFile(path, String(owner.pid))
    const cs = Array.from({ length: CONTENDERS }, () => contender(path, PATIENT, [journal]))
    for (const c of cs) expect(await c.line()).toBe('ready')
    for (const c of cs) c.child.stdin!.write('go\n')
    await new Promise((r) => setTimeout(r, 1500))
    owner.kill('SIGKILL')
    for (const c of cs) expect(await c.line()).toBe('done')
    // Each one in turn: every enter is followed by the same process's leave.
    const lines = (await readFile(journal, 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(2 * CONTENDERS)
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]!.split(' ')[1]
      expect([lines[i], lines[i + 1]]).toEqual([`enter ${pid}`, `leave ${pid}`])
    }
    expect((await readdir(dir)).sort()).toEqual(['journal'])
  }, 60_000)
})
