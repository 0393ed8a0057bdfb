// A lock file that names its owner by pid. The workspace lock (one manager per workspace) and
// the data directory lock (one node process per data directory) are both this. A lock whose
// owner no longer runs is stale and taken over, so a crash never locks anything for good.

import { link, readFile, unlink, writeFile } from 'node:fs/promises'
import { readFileSync, unlinkSync } from 'node:fs'

export interface PidLockOptions {
  /** The error for a lock a live process holds, naming it. */
  readonly busy: (owner: number) => Error
  /**
   * How long to wait for a live owner to let go before giving up with `busy` (a predecessor
   * still shutting down); 0, the default, does not wait.
   */
  readonly waitMs?: number
  /** Called once when the lock is found held and the wait begins. */
  readonly onWait?: (owner: number) => void
}

export interface PidLock {
  release(): Promise<void>
  /** For process 'exit' handlers, where nothing asynchronous runs. */
  releaseSync(): void
}

/** Whether process `pid` runs (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const POLL_MS = 50

export async function takePidLock(path: string, opts: PidLockOptions): Promise<PidLock> {
  // The pid is written to a file of our own and linked into place, so the lock never exists
  // empty: a process reading it always finds an owner to check.
  const mine = `${path}.${process.pid}`
  await writeFile(mine, String(process.pid))
  const deadline = Date.now() + (opts.waitMs ?? 0)
  let waiting = false
  try {
    for (let stale = 0; stale < 3;) {
      try {
        await link(mine, path)
        return ownLock(path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      }
      const owner = await ownerOf(path)
      if (owner > 0 && owner !== process.pid && processAlive(owner)) {
        if (Date.now() >= deadline) throw opts.busy(owner)
        if (!waiting) opts.onWait?.(owner)
        waiting = true
        await new Promise((r) => setTimeout(r, POLL_MS))
        continue
      }
      await unlink(path).catch(() => {})
      stale++
    }
    throw new Error(`cannot take the lock ${path}`)
  } finally {
    await unlink(mine).catch(() => {})
  }
}

async function ownerOf(path: string): Promise<number> {
  return Number((await readFile(path, 'utf8').catch(() => '')).trim())
}

function ownLock(path: string): PidLock {
  // Removed only while it still names this process: a lock taken over is someone else's.
  const mineStill = (text: string): boolean => Number(text.trim()) === process.pid
  return {
    release: async () => {
      if (mineStill(await readFile(path, 'utf8').catch(() => ''))) {
        await unlink(path).catch(() => {})
      }
    },
    releaseSync: () => {
      try {
        if (mineStill(readFileSync(path, 'utf8'))) unlinkSync(path)
      } catch {
        // Gone already.
      }
    },
  }
}
