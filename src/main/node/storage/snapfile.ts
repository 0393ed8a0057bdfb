// Snapshot bodies: one file per snapshot beside the datafiles. A body is written under a
// temporary name, fsynced, renamed and the directory fsynced, so a crash leaves either no file
// or a whole one under the final name; snapshot.db then records its size and crc32, so a body
// damaged later is caught when it is read instead of being restored into the state machine.

import { readFileSync } from 'node:fs'
import fsp from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { fsyncDir } from './durable'
import type { SnapshotRecord } from './documents'

const BODY_FILE = /^snap-\d+-\d+\.bin(\.tmp)?$/

export class SnapshotBodyError extends Error {
  override readonly name = 'SnapshotBodyError'

  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(
      `${file}: ${problem}. The snapshot body is damaged: restore the node's data directory from ` +
        'a backup, or remove the node from the cluster and add it back with an empty data directory.',
    )
  }
}

/** Writes `data` durably as `file` in `dir`; returns what snapshot.db must record about it. */
export async function writeSnapshotBody(
  dir: string,
  file: string,
  data: Uint8Array,
): Promise<{ size: number; crc32: number }> {
  const tmp = join(dir, `${file}.tmp`)
  const fh = await fsp.open(tmp, 'w')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await fsp.rename(tmp, join(dir, file))
  await fsyncDir(dir)
  return { size: data.length, crc32: crc32(data) }
}

/** Reads a snapshot body and checks it against its record; synchronous for Storage's callers. */
export function readSnapshotBody(dir: string, record: SnapshotRecord): Uint8Array {
  const path = join(dir, record.file)
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch (e) {
    throw new SnapshotBodyError(path, `cannot be read (${(e as Error).message})`)
  }
  if (data.length !== record.size) {
    throw new SnapshotBodyError(
      path,
      `has ${data.length} bytes where snapshot.db recorded ${record.size}`,
    )
  }
  const sum = crc32(data)
  if (sum !== record.crc32) {
    throw new SnapshotBodyError(
      path,
      `crc32 is ${hex(sum)} where snapshot.db recorded ${hex(record.crc32)}`,
    )
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length)
}

/**
 * Removes every snapshot body but `keep`: bodies of older snapshots, and leftovers of a crash
 * between writing a body and recording it. Returns the names removed.
 */
export async function removeSnapshotBodiesExcept(
  dir: string,
  keep: string | undefined,
): Promise<string[]> {
  const removed: string[] = []
  for (const name of await fsp.readdir(dir)) {
    if (name === keep || !BODY_FILE.test(name)) continue
    await fsp.rm(join(dir, name), { force: true })
    removed.push(name)
  }
  return removed
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0')
}
