// What open() changes in a data directory before NeDB loads it, each step logged.

import fsp from 'node:fs/promises'
import { datafileToRead, type TornLine } from './datafile'
import { isErrno } from './durable'

/** How storage reports what recovery repaired; the node's Logger (./logger) is one. */
export type StorageLog = (level: 'warn', msg: string, fields?: Record<string, unknown>) => void

export async function ensureDataDir(dir: string, create: boolean): Promise<void> {
  try {
    const st = await fsp.stat(dir)
    if (!st.isDirectory()) throw new Error(`the data directory ${dir} is not a directory`)
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e
    if (!create) {
      throw new Error(
        `the data directory ${dir} does not exist: check the path, or create the node anew ` +
          '(it will then join as a new member with an empty log)',
      )
    }
    await fsp.mkdir(dir, { recursive: true })
  }
}

/** NeDB would load `file~` itself; doing it here keeps the torn-line offsets about one file. */
export async function restoreInterruptedCompaction(path: string, log: StorageLog): Promise<void> {
  const source = await datafileToRead(path)
  if (source === undefined || source === path) return
  await fsp.rename(source, path)
  log('warn', `${path}: restored from ${source}, left by a compaction interrupted by a crash`, {
    file: path,
  })
}

export async function dropTornLine(
  path: string,
  torn: TornLine,
  syncFile: (path: string) => Promise<void>,
  log: StorageLog,
): Promise<void> {
  await fsp.truncate(path, torn.offset)
  await syncFile(path)
  log(
    'warn',
    `${path} line ${torn.line}: dropped a torn last line of ${torn.bytes} bytes (${torn.reason}), ` +
      'left by a crash during an append; it was never acknowledged, since writes are synced first',
    { file: path, line: torn.line, bytes: torn.bytes },
  )
}
