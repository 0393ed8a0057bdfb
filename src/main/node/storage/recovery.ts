// What a data directory holds, read without NeDB (whose load rewrites every file): the node's
// own recovery at open and the cluster manager's reading of a stopped node's log both go
// through here, so they always agree on what the log is.

import { join } from 'node:path'
import { EMPTY_CONF, type ConfState, type Entry, type HardState } from '../../raft'
import { readDatafile, type Datafile, type DatafileLine, type TornLine } from './datafile'
import {
  LOG_FILE,
  logSchema,
  SNAPSHOT_FILE,
  SNAPSHOT_ID,
  snapshotSchema,
  STATE_FILE,
  STATE_ID,
  stateSchema,
  type PersistedState,
  type SnapshotRecord,
} from './documents'

export interface LogLine {
  /** The line of log.db the entry was read from (1-based). */
  readonly line: number
  readonly entry: Entry
}

export interface LogFile {
  readonly path: string
  /** Every entry NeDB would load from the file, by index. */
  readonly entries: readonly LogLine[]
  /** An incomplete last line, which was left out. */
  readonly torn?: TornLine
}

/** The effective entries of one NeDB log file, read-only. */
export async function readLogFile(path: string): Promise<LogFile> {
  const file = await readDatafile(path, logSchema)
  return {
    path: file.path,
    entries: logLines(file),
    ...(file.torn ? { torn: file.torn } : {}),
  }
}

export interface DataDirContents {
  readonly dir: string
  readonly snapshot?: SnapshotRecord
  readonly hardState: HardState
  readonly confState: ConfState
  /** The log after the snapshot, contiguous from snapshot index + 1. */
  readonly entries: readonly LogLine[]
  /**
   * Indexes still in log.db that are not part of the log: those a snapshot covers (a crash before
   * they were removed), and a tail that an installed snapshot replaced.
   */
  readonly stale: { readonly covered: readonly number[]; readonly replaced: readonly number[] }
  /** Torn last lines, by datafile path. */
  readonly torn: ReadonlyMap<string, TornLine>
  /** Things recovery decided that a person reading the node's log should know. */
  readonly notes: readonly string[]
}

/** Reads a node's data directory without changing it. Throws if it cannot be trusted. */
export async function readDataDir(dir: string): Promise<DataDirContents> {
  const log = await readDatafile(join(dir, LOG_FILE), logSchema)
  const state = await readDatafile(join(dir, STATE_FILE), stateSchema)
  const snap = await readDatafile(join(dir, SNAPSHOT_FILE), snapshotSchema)
  const torn = new Map<string, TornLine>()
  for (const f of [log, state, snap] as const) if (f.torn) torn.set(f.path, f.torn)

  const snapshot = snap.docs.get(SNAPSHOT_ID)?.value
  const persisted: PersistedState | undefined = state.docs.get(STATE_ID)?.value
  const snapIndex = snapshot?.meta.index ?? 0
  const notes: string[] = []

  const all = logLines(log)
  const covered = all.filter((l) => l.entry.index <= snapIndex).map((l) => l.entry.index)
  let after = all.filter((l) => l.entry.index > snapIndex)
  let replaced: number[] = []
  const atSnapshot = all.find((l) => l.entry.index === snapIndex)
  if (snapshot && atSnapshot && atSnapshot.entry.term !== snapshot.meta.term) {
    // The node crashed after recording a snapshot received from the leader but before dropping
    // the log it replaced: that log disagrees with the snapshot at its index, so its tail is not
    // this node's log any more.
    replaced = after.map((l) => l.entry.index)
    if (replaced.length > 0) {
      notes.push(
        `${log.path}: entries ${replaced[0]}–${replaced.at(-1)} belong to a log that the snapshot ` +
          `at index ${snapIndex} (term ${snapshot.meta.term}) replaced; they are dropped`,
      )
    }
    after = []
  }

  let expected = snapIndex + 1
  for (const l of after) {
    if (l.entry.index !== expected) {
      throw new Error(
        `${log.path}: entry ${expected} is missing (the log after the snapshot at index ` +
          `${snapIndex} jumps to ${l.entry.index} at line ${l.line}). A log with a hole cannot be ` +
          'trusted: restore the data directory from a backup, or remove the node from the cluster ' +
          'and add it back with an empty data directory.',
      )
    }
    expected++
  }
  const lastIndex = expected - 1

  // A node writes its term before it accepts anything of a later term than the bootstrap's,
  // so a log or snapshot past term 1 with no hard state at all means state.db was emptied or
  // lost: started with term 0 and no vote, the node could vote twice in one term.
  // A loop, not Math.max(...terms): a long log would overflow the call's argument limit.
  let seen = snapshot?.meta.term ?? 0
  for (const l of all) if (l.entry.term > seen) seen = l.entry.term
  if (persisted === undefined && seen > 1) {
    throw new Error(
      `${state.path} holds no term or vote, but the node's log reached term ${seen}: the file ` +
        'was emptied or lost, and a node that forgot its vote could vote twice in one term. ' +
        'Restore the data directory from a backup, or remove the node from the cluster and add ' +
        'it back with an empty data directory.',
    )
  }
  const hardState = persisted?.hardState ?? { term: 0, vote: 0, commit: 0 }
  if (hardState.commit > lastIndex) {
    throw new Error(
      `${state.path}: the commit index ${hardState.commit} is beyond the last entry ${lastIndex} ` +
        `of ${log.path}, so committed entries were lost: restore the data directory from a ` +
        'backup, or remove the node from the cluster and add it back with an empty data directory.',
    )
  }
  return {
    dir,
    ...(snapshot ? { snapshot } : {}),
    hardState,
    confState: persisted?.confState ?? snapshot?.meta.confState ?? EMPTY_CONF,
    entries: after,
    stale: { covered, replaced },
    torn,
    notes,
  }
}

function logLines(file: Datafile<Entry>): LogLine[] {
  return [...file.docs.values()]
    .map((d: DatafileLine<Entry>) => ({ line: d.line, entry: d.value }))
    .sort((a, b) => a.entry.index - b.entry.index)
}
