// The held-descriptor appender: appends from a held datafile go through one descriptor, and a
// rewrite of the file by NeDB (compaction renames a new file over it) moves the descriptor along,
// so no append lands in a file that lost its name.

import fsp from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hold, release, syncHeld } from '../../src/main/node/storage/appender'
import { createStore, type NeDbStore } from '../../src/main/node/storage/nedb'
import { useTempDirs } from './support/tmp'

const tempDir = useTempDirs('raftlab-appender-')

async function ids(path: string): Promise<number[]> {
  const text = await fsp.readFile(path, 'utf8')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { _id: number })._id)
}

/** An empty datafile in a new directory, loaded by NeDB as a node opens it. */
async function emptyStore(name: string): Promise<{ path: string; store: NeDbStore }> {
  const path = join(await tempDir(), name)
  await fsp.writeFile(path, '')
  const store = createStore(path)
  await store.load()
  return { path, store }
}

describe('held datafiles', () => {
  it('keep appending to the file by its name across a compaction done while held', async () => {
    const { path, store } = await emptyStore('log.db')
    hold(path)
    try {
      await store.insert([{ _id: 1 }, { _id: 2 }])
      await store.remove({ _id: 1 }, { multi: false })
      const before = (await fsp.stat(path)).ino
      await store.compactDatafileAsync()
      // NeDB wrote a new file and renamed it over the old one.
      expect((await fsp.stat(path)).ino).not.toBe(before)
      await store.insert([{ _id: 3 }])
      await syncHeld(path)
      expect(await ids(path)).toEqual([2, 3])
      // And NeDB, loading the file afresh, sees the same.
      const again = createStore(path)
      await again.load()
      expect(await again.count({})).toBe(2)
    } finally {
      release(path)
    }
  })

  it('leave files nobody holds to NeDB, and a released file is appended by path again', async () => {
    const { path, store } = await emptyStore('state.db')
    hold(path)
    release(path)
    await store.insert([{ _id: 7 }])
    await syncHeld(path)
    await store.compactDatafileAsync()
    await store.insert([{ _id: 8 }])
    expect(await ids(path)).toEqual([7, 8])
  })
})
