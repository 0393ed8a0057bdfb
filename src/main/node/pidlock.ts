// A lock file that names its owner by pid. The workspace lock (one manager per workspace) and
// the data directory lock (one node process per data directory) are both this. A lock whose
// owner no longer runs is stale and taken over, so a crash never locks anything for good.
//
// Taking over is where two processes could both win: each finds the same dead owner, the first
// removes the stale lock and links its own, and the second, acting on what it read before,
// removes that fresh lock. So a stale lock is removed only under a second lock, `<path>.takeover`,
// and only if it still names the dead owner once that is held. The takeover lock is held for one
// read and one unlink; it is itself taken over if its holder died in between.

import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises'
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

/**
 * Whether process `pid` is stopped by a signal (SIGSTOP, as the manager pauses a node): state
 * T in /proc/PID/stat (not t, a process held by a debugger). False where there is no /proc,
 * or for a process that is gone.
 */
export function processStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] === 'T'
  } catch {
    return false
  }
}

/** Process `pid`'s command line, its arguments joined by spaces; '' where it cannot be read. */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return ''
  }
}

const POLL_MS = 50
/** A takeover guard older than this was left by a dead process. */
const GUARD_STALE_MS = 1000

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
        await sleep(POLL_MS)
        continue
      }
      if (await removeStale(path, owner)) stale++
    }
    const found = await stat(path).catch(() => undefined)
    throw new Error(
      found !== undefined && !found.isFile()
        ? `cannot take the lock ${path}: it is not a file (a directory?), so no process owns it; remove it and try again`
        : `cannot take the lock ${path}: it was stale three times, taken over each time by another process; try again`,
    )
  } finally {
    await unlink(mine).catch(() => {})
  }
}

/**
 * Removes the lock at `path` if it still names `owner`, read as dead (or unreadable: 0), and
 * says whether this attempt counts as a takeover. Under the takeover lock, so that no process
 * removes a lock another has just taken.
 */
async function removeStale(path: string, owner: number): Promise<boolean> {
  const guard = `${path}.takeover`
  // A file of its own, written now: a guard's age is its file's, and a link keeps the linked
  // file's times, so linking the lock attempt's older file would make a fresh guard look old.
  const fresh = `${guard}.${process.pid}`
  await writeFile(fresh, String(process.pid))
  let ours: number
  try {
    await link(fresh, guard)
    ours = (await stat(guard)).ino
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    const seen = await stat(guard).catch(() => undefined)
    // Gone meanwhile: the next round may take it.
    if (seen === undefined) return false
    const holder = await ownerOf(guard)
    // Another process is taking over: look again once it is done, which takes milliseconds. A
    // guard left by a process that died holding it (its pid dead, or reused by now) must not
    // block every later start.
    if (holder > 0 && processAlive(holder) && Date.now() - seen.mtimeMs < GUARD_STALE_MS) {
      await sleep(POLL_MS / 10)
    } else {
      await unlinkIfSame(guard, seen.ino)
    }
    return false
  } finally {
    await unlink(fresh).catch(() => {})
  }
  try {
    if ((await ownerOf(path)) === owner) await unlink(path).catch(() => {})
    return true
  } finally {
    await unlinkIfSame(guard, ours)
  }
}

/** Removes `path` if it is still the file (inode) that was looked at, not a newer one. */
async function unlinkIfSame(path: string, ino: number): Promise<void> {
  const now = await stat(path).catch(() => undefined)
  if (now?.ino === ino) await unlink(path).catch(() => {})
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The pid a lock names; 0 for a missing, empty or garbled file. */
async function ownerOf(path: string): Promise<number> {
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0
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
