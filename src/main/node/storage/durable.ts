// The two flushes durable storage needs and NeDB does not do for us: NeDB appends with
// fs.appendFile and never syncs, so a write acknowledged to a peer could vanish in a power cut.

import fsp from 'node:fs/promises'

/**
 * Makes a file's data (and the size needed to read it back) durable. Opened by path each time:
 * NeDB holds no descriptor we could reuse, and its compaction replaces the file by rename.
 */
export async function fdatasyncPath(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r+')
  try {
    await fh.datasync()
  } finally {
    await fh.close()
  }
}

/** Makes a rename or a new file in `dir` durable: the name lives in the directory, not the file. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r')
  try {
    await fh.sync()
  } catch (e) {
    // Some platforms (Windows) cannot fsync a directory; there the rename itself is the best we get.
    if (!isErrno(e, 'EPERM') && !isErrno(e, 'EISDIR') && !isErrno(e, 'EINVAL')) throw e
  } finally {
    await fh.close()
  }
}

export function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code
}
