// The durable storage of one node: its Raft log, hard state and snapshot in NeDB datafiles in the
// node's data directory, and beside them the MemoryStorage the consensus core reads (the core's
// Storage calls are synchronous, so it reads memory, and memory only ever shows what is on disk).
//
//   log.db        one document per entry, _id = Raft index
//   state.db      the hard state and the membership
//   snapshot.db   the current snapshot's metadata: index, term, membership, body file, size, crc32
//   snap-<term>-<index>.bin   the snapshot body
//
// NeDB appends without fsync and rewrites a whole file on load and on compaction. So: one insert
// and one fdatasync per file for each Ready (group commit), our own fdatasync before anything is
// acknowledged, compaction only after a snapshot has truncated the log, and files checked line by
// line before NeDB sees them (see storage/datafile.ts).

import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  MemoryStorage,
  type ConfState,
  type Entry,
  type HardState,
  type InitialState,
  type Snapshot,
  type SnapshotMeta,
} from '../raft'
import {
  entryToDoc,
  LOG_FILE,
  logSchema,
  SNAPSHOT_FILE,
  SNAPSHOT_ID,
  snapshotFileName,
  snapshotToDoc,
  STATE_FILE,
  STATE_ID,
  stateToDoc,
  type LogDoc,
  type SnapshotRecord,
} from './storage/documents'
import { hold, release, syncHeld } from './storage/appender'
import { createStore, crossCheck, dropStaleEntries, type NeDbStore } from './storage/nedb'
import { readDataDir, type DataDirContents } from './storage/recovery'
import {
  dropTornLine,
  ensureDataDir,
  restoreInterruptedCompaction,
  type StorageLog,
} from './storage/repair'
import { readSnapshotBody, removeSnapshotBodiesExcept, writeSnapshotBody } from './storage/snapfile'

export { DatafileError } from './storage/datafile'
export { readDataDir, readLogFile } from './storage/recovery'
export type { DataDirContents, LogFile, LogLine } from './storage/recovery'
export { SnapshotBodyError } from './storage/snapfile'
export type { StorageLog } from './storage/repair'

export interface OpenOptions {
  /** Create the data directory if it is missing: true for a new node, false for a restart. */
  readonly create: boolean
  /** Where recovery reports what it repaired (a torn line cut off). Defaults to stderr. */
  readonly log?: StorageLog
  /** Makes a written datafile durable. fdatasync by default; tests wrap it to watch group commit. */
  readonly syncFile?: (path: string) => Promise<void>
}

/** What one Ready asks to persist; a Ready itself is one. */
export interface PersistRequest {
  readonly hardState?: HardState
  readonly confState?: ConfState
  readonly entries: readonly Entry[]
  readonly snapshot?: Snapshot
  /** False when only the commit index changed: that may be lost in a crash, so it is not synced. */
  readonly mustSync?: boolean
}

interface Stores {
  readonly log: NeDbStore
  readonly state: NeDbStore
  readonly snapshot: NeDbStore
}

const stderrLog: StorageLog = (_level, msg, fields) =>
  console.warn(fields ? `${msg} ${JSON.stringify(fields)}` : msg)
const EMPTY = new Uint8Array(0)
/** Log documents removed per step when a snapshot truncates the log (see removalSlices). */
const REMOVE_SLICE = 500

/**
 * The `_id` bounds of the removals that drop log documents [from, last] at most REMOVE_SLICE at a
 * time, ascending; one bound when there is nothing to drop.
 */
function removalSlices(from: number, last: number): number[] {
  const bounds: number[] = []
  for (let upTo = from - 1 + REMOVE_SLICE; ; upTo += REMOVE_SLICE) {
    bounds.push(Math.min(upTo, last))
    if (upTo >= last) return bounds
  }
}

/**
 * The core's view of the log with the snapshot body left on disk. A body holds the whole key
 * space (13 MB at 100,000 keys) and is needed only to send it to a follower behind the log, so
 * it is read back when asked for instead of being kept in memory for good.
 */
class LogView extends MemoryStorage {
  constructor(private readonly body: () => Uint8Array) {
    super()
  }

  override snapshot(): Snapshot {
    const s = super.snapshot()
    return s.meta.index === 0 ? s : { meta: s.meta, data: this.body() }
  }

  /** The snapshot's index, term and membership, without reading its body. */
  snapshotMeta(): SnapshotMeta {
    return super.snapshot().meta
  }
}

export class NodeStorage {
  /** What the consensus core reads (Config.storage); in step with what is durable. */
  readonly mem: LogView
  private conf: ConfState
  private snapRecord: SnapshotRecord | undefined
  /** The body open() read, kept until started(); only ever the body of `snapRecord`. */
  private bodyRead: Uint8Array | undefined
  /** Every operation that touches the files runs after the previous one has finished. */
  private queue: Promise<unknown> = Promise.resolve()
  private failure: Error | undefined
  private closed = false

  private constructor(
    readonly dir: string,
    private readonly stores: Stores,
    private readonly syncFile: (path: string) => Promise<void>,
    private readonly log: StorageLog,
    contents: DataDirContents,
  ) {
    this.mem = new LogView(() => this.snapshotData())
    if (contents.snapshot) this.mem.applySnapshot({ meta: contents.snapshot.meta, data: EMPTY })
    this.mem.append(contents.entries.map((l) => l.entry))
    this.mem.setHardState(contents.hardState)
    this.conf = contents.confState
    this.snapRecord = contents.snapshot
  }

  /**
   * Opens a node's data directory and recovers from it: the snapshot, the log after it and the
   * hard state. A torn last line of a datafile (a crash during an append, so never acknowledged)
   * is cut off and logged; any other damage refuses to open, naming the file and the line.
   */
  static async open(dir: string, options: OpenOptions): Promise<NodeStorage> {
    const log = options.log ?? stderrLog
    const syncFile = options.syncFile ?? syncHeld
    await ensureDataDir(dir, options.create)
    // Everything is checked before anything is changed, so a refusal leaves the files as they were.
    const contents = await readDataDir(dir)
    // Read to check its size and CRC-32 now; after its first use it lives on disk only (see
    // LogView and snapshotData).
    const body = contents.snapshot ? readSnapshotBody(dir, contents.snapshot) : undefined

    for (const name of [LOG_FILE, STATE_FILE, SNAPSHOT_FILE]) {
      await restoreInterruptedCompaction(join(dir, name), log)
    }
    for (const [path, torn] of contents.torn) {
      await dropTornLine(path.replace(/~$/, ''), torn, syncFile, log)
    }
    for (const note of contents.notes) log('warn', note)

    const stores: Stores = {
      log: createStore(join(dir, LOG_FILE)),
      state: createStore(join(dir, STATE_FILE)),
      snapshot: createStore(join(dir, SNAPSHOT_FILE)),
    }
    for (const store of Object.values(stores)) await store.load()
    await crossCheck(stores.log, contents)
    await dropStaleEntries(stores.log, contents, syncFile)
    for (const name of await removeSnapshotBodiesExcept(dir, contents.snapshot?.file)) {
      log('warn', 'removed a snapshot body that no recorded snapshot uses', {
        file: join(dir, name),
      })
    }
    // Held from here on (storage/appender.ts); NeDB rewrote each file as it loaded it.
    for (const store of Object.values(stores)) hold(store.filename)
    const storage = new NodeStorage(dir, stores, syncFile, log, contents)
    storage.bodyRead = body
    return storage
  }

  initialState(): InitialState {
    return this.mem.initialState()
  }

  /** The membership last persisted with a hard state (or by the snapshot). */
  confState(): ConfState {
    return this.conf
  }

  /** The current snapshot's body read from disk, checked against its recorded size and crc32. */
  snapshotData(): Uint8Array {
    // While the node starts, the body open() read and checked (for its state and the core's).
    if (this.bodyRead) return this.bodyRead
    return this.snapRecord ? readSnapshotBody(this.dir, this.snapRecord) : EMPTY
  }

  /** The node has started: the snapshot body is read from disk again when needed. */
  started(): void {
    this.bodyRead = undefined
  }

  /**
   * Persists one Ready durably, then shows it in `mem`. A snapshot (from the leader) replaces
   * the whole log; entries that overlap the log replace it from the first overlapping index.
   */
  save(rd: PersistRequest): Promise<void> {
    return this.serialize(() => this.persist(rd))
  }

  /**
   * Records the application's snapshot of everything up to `index` (applied, so committed),
   * drops the log entries it covers and compacts the log datafile.
   */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    // The body, tens of megabytes with a large keyspace, is written and synced before joining
    // the queue of writes: it is a file of its own that nothing reads until snapshot.db records
    // it. Inside the queue it held back the Ready loop's appends for as long as the sync took,
    // and a leader that stops sending for that long loses its followers to an election.
    const termAt = this.mem.term(index)
    let early: { file: string; body: { size: number; crc32: number } } | undefined
    if (typeof termAt === 'number' && index > this.mem.snapshotMeta().index) {
      const file = snapshotFileName({ index, term: termAt })
      early = { file, body: await writeSnapshotBody(this.dir, file, data) }
    }
    const taken = await this.serialize(async () => {
      if (index <= this.mem.snapshotMeta().index) return undefined
      const term = this.mem.term(index)
      if (typeof term !== 'number') {
        throw new Error(
          `cannot snapshot at index ${index}: the log of ${this.dir} ends at ${this.mem.lastIndex()}`,
        )
      }
      const commit = this.mem.initialState().hardState.commit
      if (index > commit) {
        throw new Error(
          `cannot snapshot at index ${index}: only entries up to ${commit} are committed`,
        )
      }
      const snapshot: Snapshot = { meta: { index, term, confState }, data }
      const from = this.mem.firstIndex()
      const last = Math.min(index, this.mem.lastIndex())
      await this.writing(async () => {
        const record =
          early !== undefined && early.file === snapshotFileName(snapshot.meta)
            ? await this.recordWritten(snapshot, early.file, early.body)
            : await this.recordSnapshot(snapshot)
        this.mem.createSnapshot(index, confState, EMPTY)
        this.snapRecord = record
        this.bodyRead = undefined
        await this.removeOlderBodies(record.file)
      })
      return { from, last, meta: snapshot.meta }
    })
    if (taken === undefined) {
      // Overtaken meanwhile (a snapshot from the leader went further): its body is nobody's.
      if (early && this.snapRecord?.file !== early.file) {
        await unlink(join(this.dir, early.file)).catch(() => {})
      }
      return this.mem.snapshot()
    }
    // The documents the snapshot covers leave the log datafile a slice at a time, each slice
    // queued like any other write, so the Ready loop's writes go in between: held back for the
    // whole of it, a leader under load sent no heartbeat for that long and lost its followers.
    // No fdatasync for these removals: compaction below rewrites the file durably, and until
    // then recovery ignores entries that the durable snapshot covers.
    for (const through of removalSlices(taken.from, taken.last)) {
      await this.serialize(() =>
        this.writing(async () => {
          await this.stores.log.remove({ _id: { $lte: through } }, { multi: true })
        }),
      )
    }
    await this.serialize(() =>
      this.writing(async () => {
        // NeDB compacts by rewriting the whole file, so only now that the log lost a prefix.
        // state.db and snapshot.db come along: every hard state change appends a line to them.
        // Not held meanwhile: NeDB renames a new file over the old one, which some platforms
        // refuse, or allow leaving the held descriptor on the old file.
        for (const store of Object.values(this.stores)) {
          release(store.filename)
          await store.compactDatafileAsync()
          hold(store.filename)
        }
      }),
    )
    return { meta: taken.meta, data }
  }

  /** Entries in [lo, hi) that are still in the log (those before firstIndex are in the snapshot). */
  async readEntries(lo: number, hi: number): Promise<Entry[]> {
    this.checkUsable()
    const from = Math.max(lo, this.mem.firstIndex())
    const to = Math.min(hi, this.mem.lastIndex() + 1)
    if (from >= to) return []
    const entries = this.mem.entries(from, to, Infinity)
    return entries === 'compacted' ? [] : entries
  }

  /**
   * Waits for pending writes; afterwards every call fails. Also after a failed write: a node
   * that stops because its disk failed must still let go of its files, and say why it stopped
   * rather than fail again here.
   */
  close(): Promise<void> {
    const run = this.queue.then(() => {
      this.closed = true
      for (const store of Object.values(this.stores)) {
        store.stopAutocompaction()
        release(store.filename)
      }
    })
    this.queue = run
    return run
  }

  private async persist(rd: PersistRequest): Promise<void> {
    const { snapshot, hardState } = rd
    const current = this.mem.snapshotMeta().index
    if (snapshot && snapshot.meta.index < current) {
      throw new Error(
        `snapshot at index ${snapshot.meta.index} is older than the stored one at ${current}`,
      )
    }
    const offset = snapshot ? snapshot.meta.index : current
    const storedLast = snapshot ? offset : this.mem.lastIndex()
    // Entries a snapshot covers are committed and compacted already (MemoryStorage skips them too).
    const entries = rd.entries.filter((e) => e.index > offset)
    const docs = checkedDocs(entries, storedLast)
    const first = entries[0]
    const newLast = entries.at(-1)?.index ?? storedLast
    if (hardState && hardState.commit > newLast) {
      throw new Error(`hard state commit ${hardState.commit} is beyond the last entry ${newLast}`)
    }
    // The entries durable before this call that it keeps: the only ones a commit may cover
    // before this call's entries are synced.
    const keptLast = first ? Math.min(storedLast, first.index - 1) : storedLast
    const sync = rd.mustSync !== false

    await this.writing(async () => {
      const logPath = this.stores.log.filename
      let logDirty = false
      let record: SnapshotRecord | undefined
      if (snapshot) {
        record = await this.recordSnapshot(snapshot)
        await this.removeLogFrom(offset + 1, this.mem.lastIndex())
        await this.removeLogThrough(offset)
        logDirty = true
      }
      if (first) {
        await this.removeLogFrom(first.index, storedLast)
        await this.stores.log.insert(docs)
        logDirty = true
      }
      if (hardState || rd.confState) {
        // Recovery refuses a commit index beyond the log, so one that covers this call's
        // entries must not reach the disk before they do.
        if (logDirty && sync && (hardState?.commit ?? 0) > keptLast) {
          await this.syncFile(logPath)
          logDirty = false
        }
        const state = {
          hardState: hardState ?? this.mem.initialState().hardState,
          confState: rd.confState ?? this.conf,
        }
        await this.stores.state.update({ _id: STATE_ID }, stateToDoc(state), { upsert: true })
        if (sync) {
          await Promise.all([
            logDirty ? this.syncFile(logPath) : undefined,
            this.syncFile(this.stores.state.filename),
          ])
        }
      } else if (logDirty && sync) {
        await this.syncFile(logPath)
      }

      if (snapshot && record) {
        this.mem.applySnapshot({ meta: snapshot.meta, data: EMPTY })
        this.snapRecord = record
        this.bodyRead = undefined
      }
      this.mem.append(entries)
      if (hardState) this.mem.setHardState(hardState)
      if (rd.confState) this.conf = rd.confState
      if (record) await this.removeOlderBodies(record.file)
    })
  }

  /** Writes the body durably, then records it in snapshot.db durably. */
  private async recordSnapshot(snapshot: Snapshot): Promise<SnapshotRecord> {
    const file = snapshotFileName(snapshot.meta)
    const body = await writeSnapshotBody(this.dir, file, snapshot.data)
    return this.recordWritten(snapshot, file, body)
  }

  /** Records a body already durable under `file` in snapshot.db, durably. */
  private async recordWritten(
    snapshot: Snapshot,
    file: string,
    body: { size: number; crc32: number },
  ): Promise<SnapshotRecord> {
    const record: SnapshotRecord = { meta: snapshot.meta, file, ...body }
    await this.stores.snapshot.update({ _id: SNAPSHOT_ID }, snapshotToDoc(record), {
      upsert: true,
    })
    // Durable before any log entry is dropped on its account.
    await this.syncFile(this.stores.snapshot.filename)
    return record
  }

  /**
   * Removes entries [from, to] newest first, one append each: NeDB writes the tombstones of one
   * remove in ascending order, and a crash partway through those would leave a hole in the log.
   */
  private async removeLogFrom(from: number, to: number): Promise<void> {
    for (let i = to; i >= from; i--) await this.stores.log.remove({ _id: i }, { multi: false })
  }

  /**
   * Removes the entries up to `index` from the log datastore, REMOVE_SLICE at a time with the
   * event loop free in between: NeDB removes 10,000 documents (a snapshot's worth by default) in
   * one go in 150-450 ms, and in that time no heartbeat leaves and none is answered.
   */
  private async removeLogThrough(index: number): Promise<void> {
    const last = Math.min(index, this.mem.lastIndex())
    for (const [i, through] of removalSlices(this.mem.firstIndex(), last).entries()) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve))
      await this.stores.log.remove({ _id: { $lte: through } }, { multi: true })
    }
  }

  private async removeOlderBodies(keep: string): Promise<void> {
    try {
      await removeSnapshotBodiesExcept(this.dir, keep)
    } catch (e) {
      // A leftover body wastes space but loses nothing; open() tries again.
      this.log('warn', 'could not remove old snapshot bodies', {
        dir: this.dir,
        error: (e as Error).message,
      })
    }
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.checkUsable()
      return op()
    })
    // Not the result itself: the queue would hold it (a snapshot body) until the next write.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  /**
   * Runs a step that changes the files. If it fails partway, NeDB's memory, its files and our
   * mirror may disagree (NeDB updates its memory before it appends), so nothing more is written.
   */
  private async writing(op: () => Promise<void>): Promise<void> {
    try {
      await op()
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e))
      throw e
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new Error(`the storage of ${this.dir} is closed`)
    if (this.failure) {
      throw new Error(
        `the storage of ${this.dir} stopped after a failed write (${this.failure.message}); ` +
          'restart the node to recover from what is on disk',
        { cause: this.failure },
      )
    }
  }
}

/** Validates a batch and encodes it; throws before anything is written. */
function checkedDocs(entries: readonly Entry[], storedLast: number): LogDoc[] {
  const first = entries[0]
  if (first && first.index > storedLast + 1) {
    throw new Error(
      `entries from ${first.index} would leave a gap after the last index ${storedLast}`,
    )
  }
  return entries.map((e, i) => {
    if (first && e.index !== first.index + i) {
      throw new Error(`entries are not contiguous: index ${e.index} follows ${first.index + i - 1}`)
    }
    const doc = entryToDoc(e)
    // What we write must be what recovery accepts.
    logSchema.checkId(doc._id)
    logSchema.decode(doc as unknown as Record<string, unknown>)
    return doc
  })
}
