// The NeDB side of a node's datafiles: how a datastore is opened, and the checks and clean-up
// at open that need NeDB's view of a file.

import Datastore from 'nedb-promises'
import { escapeNeDbLineBreaks } from './datafile'
import type { DataDirContents } from './recovery'

/**
 * The part of an nedb-promises Datastore we use. Its typings declare `_id` a string (ours are
 * Raft indexes) and leave out compactDatafileAsync, which its proxy forwards to @seald-io/nedb.
 */
export interface NeDbStore {
  readonly filename: string
  load(): Promise<void>
  count(query: object): Promise<number>
  insert(docs: readonly object[]): Promise<unknown>
  update(query: object, doc: object, options: { upsert: true }): Promise<number>
  remove(query: object, options: { multi: boolean }): Promise<number>
  compactDatafileAsync(): Promise<void>
  stopAutocompaction(): void
}

export function createStore(filename: string): NeDbStore {
  const store = Datastore.create({
    filename,
    // Our reader has refused every damaged line but a torn last one, which open() cut off:
    // anything NeDB still finds corrupt must stop it, not be dropped.
    corruptAlertThreshold: 0,
    afterSerialization: escapeNeDbLineBreaks,
    beforeDeserialization: (line) => line,
  }) as unknown as NeDbStore
  // Off by default; stated because a timed rewrite of the log behind our back must never happen.
  store.stopAutocompaction()
  return store
}

/** NeDB and our reader must agree on what a file holds; if not, something is wrong with both. */
export async function crossCheck(log: NeDbStore, contents: DataDirContents): Promise<void> {
  const ours =
    contents.entries.length + contents.stale.covered.length + contents.stale.replaced.length
  const theirs = await log.count({})
  if (theirs !== ours) {
    throw new Error(
      `${log.filename}: NeDB loaded ${theirs} documents where RaftLab's reader found ${ours}; ` +
        'refusing to start on a log whose contents are in doubt',
    )
  }
}

/** Entries recovery left out of the log must also leave the file before new ones are inserted. */
export async function dropStaleEntries(
  log: NeDbStore,
  contents: DataDirContents,
  syncFile: (path: string) => Promise<void>,
): Promise<void> {
  const { covered, replaced } = contents.stale
  for (const index of [...replaced].reverse()) await log.remove({ _id: index }, { multi: false })
  const lastCovered = covered.at(-1)
  if (lastCovered !== undefined) await log.remove({ _id: { $lte: lastCovered } }, { multi: true })
  if (replaced.length > 0 || covered.length > 0) await syncFile(log.filename)
}
