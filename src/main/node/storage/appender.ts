// Datafiles held open. NeDB appends a batch with fs.promises.appendFile(path): open, write and
// close, three trips through libuv's thread pool, and syncing by path (durable.ts) takes three
// more. A node appends on every Ready, so it holds its datafiles open instead: NeDB's append goes
// through the held descriptor as one synchronous write() into the page cache (microseconds, and
// in order with every other append of the process), and the sync is one fdatasync on it.
// Files nobody holds (the manager's tools, tests on bare datastores) keep NeDB's own path.
//
// NeDB's persistence calls `appendFileAsync` on its storage module object at each append, and
// `crashSafeWriteFileLinesAsync` when it rewrites a datafile (compaction: a new file renamed over
// the old one), so the hooks replace those two properties; a NeDB that no longer has them fails
// here at load, not later. The rewrite hook moves the held descriptor to the new file, so an
// append never lands in a file that no longer has a name.

import fs from 'node:fs'
import { resolve } from 'node:path'
import nedbStorage from '@seald-io/nedb/lib/storage.js'
import { fdatasyncPath } from './durable'

type Append = (path: string, data: string, options?: unknown) => Promise<void>
type Rewrite = (path: string, lines: string[], modes?: unknown) => Promise<void>

/** Held descriptors by resolved path; the rewrite hook keeps each on the file of that name. */
const held = new Map<string, number>()

const storage = nedbStorage as unknown as {
  appendFileAsync?: Append
  crashSafeWriteFileLinesAsync?: Rewrite
}
const nedbAppend = storage.appendFileAsync
const nedbRewrite = storage.crashSafeWriteFileLinesAsync
if (typeof nedbAppend !== 'function' || typeof nedbRewrite !== 'function') {
  throw new Error(
    '@seald-io/nedb no longer exposes storage.appendFileAsync and ' +
      'storage.crashSafeWriteFileLinesAsync; RaftLab needs the version it pins',
  )
}
storage.appendFileAsync = (path, data, options) => {
  const fd = held.get(resolve(path))
  if (fd === undefined) return nedbAppend(path, data, options)
  try {
    writeAll(fd, Buffer.from(data, 'utf8'))
    return Promise.resolve()
  } catch (e) {
    return Promise.reject(e as Error)
  }
}

storage.crashSafeWriteFileLinesAsync = async (path, lines, modes) => {
  const key = resolve(path)
  const fd = held.get(key)
  if (fd === undefined) return nedbRewrite(path, lines, modes)
  held.delete(key)
  fs.closeSync(fd)
  try {
    await nedbRewrite(path, lines, modes)
  } finally {
    // The new file if the rename happened, else the old one, which the failed rewrite left whole.
    held.set(key, fs.openSync(key, 'a'))
  }
}

/** Holds `path` open for appends and syncs until release(). The file must exist. */
export function hold(path: string): void {
  const key = resolve(path)
  if (held.has(key)) return
  held.set(key, fs.openSync(key, 'a'))
}

export function release(path: string): void {
  const key = resolve(path)
  const fd = held.get(key)
  if (fd === undefined) return
  held.delete(key)
  fs.closeSync(fd)
}

/**
 * Makes what was appended to `path` durable: fdatasync on the held descriptor, or on a fresh one
 * when the file is not held.
 */
export function syncHeld(path: string): Promise<void> {
  const fd = held.get(resolve(path))
  if (fd === undefined) return fdatasyncPath(path)
  return new Promise((ok, fail) => fs.fdatasync(fd, (e) => (e ? fail(e) : ok())))
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off)
}
