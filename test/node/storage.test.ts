import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { describe, expect, it, vi } from 'vitest'
import {
  NodeStorage,
  readDataDir,
  readLogFile,
  type OpenOptions,
  type StorageLog,
} from '../../src/main/node/storage'
import type { ConfState, Entry, HardState } from '../../src/main/raft'
import { useTempDirs } from './support/tmp'

const tempDir = useTempDirs('raftlab-storage-')

const CONF: ConfState = { voters: [1, 2, 3], learners: [] }

function normal(index: number, term: number, text = `cmd-${index}`): Entry {
  return { type: 'normal', index, term, data: new TextEncoder().encode(text) }
}

function conf(index: number, term: number, nodeId: number, context?: string): Entry {
  const change = context === undefined ? { nodeId } : { nodeId, context }
  return { type: 'confChange', index, term, change: { type: 'addVoter', ...change } }
}

function range(lo: number, hi: number, term: number): Entry[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => normal(lo + i, term))
}

function hs(term: number, commit: number, vote = 0): HardState {
  return { term, vote, commit }
}

interface Opened {
  readonly storage: NodeStorage
  readonly warnings: string[]
  readonly synced: string[]
}

async function open(dir: string, options: Partial<OpenOptions> = {}): Promise<Opened> {
  const warnings: string[] = []
  const synced: string[] = []
  const log: StorageLog = (_level, msg) => warnings.push(msg)
  const storage = await NodeStorage.open(dir, {
    create: true,
    log,
    syncFile: async (path) => {
      synced.push(path)
      const fh = await fsp.open(path, 'r+')
      await fh.datasync()
      await fh.close()
    },
    ...options,
  })
  return { storage, warnings, synced }
}

/** Opens, runs `f`, closes: one life of a node process. */
async function life<T>(dir: string, f: (s: NodeStorage) => Promise<T>): Promise<T> {
  const { storage } = await open(dir)
  try {
    return await f(storage)
  } finally {
    await storage.close()
  }
}

type RemoveFn = (query: object, options: { multi: boolean }) => Promise<number>

async function lines(path: string): Promise<string[]> {
  return (await fsp.readFile(path, 'utf8')).split('\n').filter((l) => l !== '')
}

describe('NodeStorage recovers what it saved', () => {
  it('round-trips entries, hard state and membership across close and reopen', async () => {
    const dir = await tempDir()
    const entries = [conf(1, 1, 1, '{"addr":"127.0.0.1:7001"}'), conf(2, 1, 2), ...range(3, 20, 2)]
    await life(dir, async (s) => {
      await s.save({ entries: entries.slice(0, 2), hardState: hs(1, 2), confState: CONF })
      await s.save({ entries: entries.slice(2), hardState: hs(2, 15, 1) })
    })
    await life(dir, async (s) => {
      expect(s.mem.allEntries()).toEqual(entries)
      expect(s.initialState()).toEqual({ hardState: hs(2, 15, 1) })
      expect(s.confState()).toEqual(CONF)
      expect(s.mem.firstIndex()).toBe(1)
      expect(s.mem.lastIndex()).toBe(20)
      expect(await s.readEntries(5, 8)).toEqual(entries.slice(4, 7))
    })
  })

  it('keeps a membership context with characters NeDB would split a line at', async () => {
    const dir = await tempDir()
    const context = 'a\u2028b\u2029c\u0085d\re'
    await life(dir, (s) => s.save({ entries: [conf(1, 1, 1, context)], hardState: hs(1, 1) }))
    await life(dir, async (s) => expect(s.mem.allEntries()).toEqual([conf(1, 1, 1, context)]))
  })

  it('replaces a conflicting tail from the first overlapping index', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 6, 1), hardState: hs(1, 2) })
      // A new leader of term 2 overwrites 4..6 with two entries of its own.
      await s.save({ entries: range(4, 5, 2), hardState: hs(2, 2) })
      expect(s.mem.lastIndex()).toBe(5)
    })
    const expected = [...range(1, 3, 1), ...range(4, 5, 2)]
    await life(dir, async (s) => expect(s.mem.allEntries()).toEqual(expected))
    expect((await readLogFile(join(dir, 'log.db'))).entries.map((l) => l.entry)).toEqual(expected)
  })

  it('serializes concurrent saves in call order', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await Promise.all([
        s.save({ entries: range(1, 3, 1) }),
        s.save({ entries: range(4, 6, 1) }),
        s.save({ entries: range(3, 4, 2), hardState: hs(2, 1) }),
      ])
      expect(s.mem.allEntries()).toEqual([...range(1, 2, 1), ...range(3, 4, 2)])
    })
  })

  it('refuses a batch that would leave a gap, before writing anything', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 2, 1) })
      await expect(s.save({ entries: range(4, 5, 1) })).rejects.toThrow(
        'entries from 4 would leave a gap after the last index 2',
      )
      await s.save({ entries: range(3, 3, 1) })
      expect(s.mem.lastIndex()).toBe(3)
    })
  })
})

describe('group commit', () => {
  it('syncs each written datafile once per save, after one insert of the whole batch', async () => {
    const dir = await tempDir()
    const { storage, synced } = await open(dir)
    const logDb = join(dir, 'log.db')
    await storage.save({ entries: range(1, 256, 1), hardState: hs(1, 0) })
    expect(synced.sort()).toEqual([logDb, join(dir, 'state.db')])
    expect(await lines(logDb)).toHaveLength(256)

    synced.length = 0
    await storage.save({ entries: range(257, 260, 1) })
    expect(synced).toEqual([logDb])

    // A commit-only change may be lost in a crash: the core marks it mustSync = false.
    synced.length = 0
    await storage.save({ entries: [], hardState: hs(1, 200), mustSync: false })
    expect(synced).toEqual([])
    await storage.close()
  })

  it('syncs the log before a commit index that covers entries of the same save', async () => {
    const dir = await tempDir()
    const order: string[] = []
    const { storage } = await open(dir, {
      syncFile: async (path) => {
        order.push(path.endsWith('log.db') ? 'sync log' : 'sync state')
      },
    })
    await storage.save({ entries: range(1, 3, 1), hardState: hs(1, 3) })
    const stateLines = await lines(join(dir, 'state.db'))
    expect(order).toEqual(['sync log', 'sync state'])
    expect(stateLines).toHaveLength(1)
    await storage.close()
  })

  it('holds its datafiles open: appends and syncs reopen nothing', async () => {
    const dir = await tempDir()
    const storage = await NodeStorage.open(join(dir, 'node'), { create: true, log: () => {} })
    const opens = vi.spyOn(fs, 'openSync')
    const datasync = vi.spyOn(fs, 'fdatasync')
    const writes = vi.spyOn(fs, 'writeSync')
    const promiseOpens = vi.spyOn(fsp, 'open')
    try {
      await storage.save({ entries: range(1, 16, 1), hardState: hs(1, 0) })
      // One append and one fdatasync for the log, the same for the state.
      expect(writes).toHaveBeenCalledTimes(2)
      expect(datasync).toHaveBeenCalledTimes(2)
      expect(opens).not.toHaveBeenCalled()
      expect(promiseOpens).not.toHaveBeenCalled()
      await storage.close()
    } finally {
      vi.restoreAllMocks()
    }
    const reopened = await NodeStorage.open(join(dir, 'node'), { create: false, log: () => {} })
    expect(reopened.mem.lastIndex()).toBe(16)
    await reopened.close()
  })
})

describe('snapshots', () => {
  it('keep their body on disk and read it back when the core asks for it', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 20, 1), hardState: hs(1, 20), confState: CONF })
      const body = new TextEncoder().encode('state machine at 10')
      await s.createSnapshot(10, CONF, body)
      expect(s.mem.snapshot()).toEqual({
        meta: { index: 10, term: 1, confState: CONF },
        data: body,
      })
      // What the core gets is what the file holds now: damage it, and the read says so.
      const file = (await fsp.readdir(dir)).find((f) => f.startsWith('snap-'))
      expect(file).toBeDefined()
      await fsp.writeFile(join(dir, file as string), 'other bytes')
      expect(() => s.mem.snapshot()).toThrow(/snapshot body is damaged/)
    })
  })

  it('are read once while a node starts, and from disk again once it has started', async () => {
    const dir = await tempDir()
    const body = new TextEncoder().encode('state machine at 10')
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 20, 1), hardState: hs(1, 20), confState: CONF })
      await s.createSnapshot(10, CONF, body)
    })
    await life(dir, async (s) => {
      // The body open() checked serves the node's state and the core's start, however often.
      const file = (await fsp.readdir(dir)).find((f) => f.startsWith('snap-')) as string
      await fsp.writeFile(join(dir, file), 'other bytes')
      expect(s.snapshotData()).toEqual(body)
      expect(s.mem.snapshot()).toEqual({
        meta: { index: 10, term: 1, confState: CONF },
        data: body,
      })
      s.started()
      expect(() => s.snapshotData()).toThrow(/snapshot body is damaged/)
    })
  })

  it('truncate the log, shrink the datafile by compaction, and recover with later entries', async () => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    const body = new TextEncoder().encode('state machine at 150')
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 200, 1), hardState: hs(1, 180), confState: CONF })
      const before = (await fsp.stat(logDb)).size
      const snap = await s.createSnapshot(150, CONF, body)
      expect(snap.meta).toEqual({ index: 150, term: 1, confState: CONF })
      expect(s.mem.firstIndex()).toBe(151)
      expect(await s.readEntries(1, 160)).toEqual(range(151, 159, 1))
      const after = (await fsp.stat(logDb)).size
      expect(after).toBeLessThan(before / 3)
      expect(await lines(logDb)).toHaveLength(50)
      await s.save({ entries: range(201, 210, 1) })
    })
    await life(dir, async (s) => {
      expect(s.mem.snapshot()).toEqual({
        meta: { index: 150, term: 1, confState: CONF },
        data: body,
      })
      expect(s.snapshotData()).toEqual(body)
      expect(s.mem.allEntries()).toEqual(range(151, 210, 1))
      expect(s.initialState().hardState).toEqual(hs(1, 180))
    })
  })

  it('truncate a long log a slice of documents at a time, so other work runs in between', async () => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 1700, 1), hardState: hs(1, 1700), confState: CONF })
      const log = (s as unknown as { stores: { log: { remove: RemoveFn } } }).stores.log
      const remove = log.remove.bind(log)
      const removed: number[] = []
      log.remove = async (query, options) => {
        const n = await remove(query, options)
        removed.push(n)
        return n
      }
      await s.createSnapshot(1650, CONF, Uint8Array.of(1))
      // 1,650 entries in slices of at most 500 documents.
      expect(removed.reduce((a, b) => a + b, 0)).toBe(1650)
      expect(removed.length).toBeGreaterThanOrEqual(4)
      expect(Math.max(...removed)).toBeLessThanOrEqual(500)
      expect(await lines(logDb)).toHaveLength(50)
    })
    await life(dir, async (s) => {
      expect(s.mem.firstIndex()).toBe(1651)
      expect(s.mem.allEntries()).toEqual(range(1651, 1700, 1))
    })
  })

  it('let writes in while the covered documents are removed', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 1700, 1), hardState: hs(1, 1700), confState: CONF })
      const done: string[] = []
      const snapshot = s.createSnapshot(1650, CONF, Uint8Array.of(1)).then(() => {
        done.push('snapshot')
      })
      // Queued after the snapshot's own write, but not behind the trimming of the log.
      const save = s.save({ entries: range(1701, 1710, 1) }).then(() => {
        done.push('save')
      })
      await Promise.all([snapshot, save])
      expect(done).toEqual(['save', 'snapshot'])
    })
    await life(dir, async (s) => {
      expect(s.mem.firstIndex()).toBe(1651)
      expect(s.mem.allEntries()).toEqual(range(1651, 1710, 1))
    })
  })

  it('keep only the newest body file', async () => {
    const dir = await tempDir()
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 30, 3), hardState: hs(3, 30) })
      await s.createSnapshot(10, CONF, Uint8Array.of(1))
      await s.createSnapshot(20, CONF, Uint8Array.of(2))
    })
    const bodies = (await fsp.readdir(dir)).filter((f) => f.endsWith('.bin'))
    expect(bodies).toEqual(['snap-3-20.bin'])
  })

  it('from the leader replace the whole log, and later entries follow them', async () => {
    const dir = await tempDir()
    const snapshot = { meta: { index: 40, term: 4, confState: CONF }, data: Uint8Array.of(7, 7) }
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 12, 1), hardState: hs(1, 5) })
      await s.save({ snapshot, entries: range(41, 42, 4), hardState: hs(4, 40), confState: CONF })
      expect(s.mem.firstIndex()).toBe(41)
    })
    await life(dir, async (s) => {
      expect(s.mem.snapshot()).toEqual(snapshot)
      expect(s.mem.allEntries()).toEqual(range(41, 42, 4))
    })
  })

  it('whose body has a flipped byte are refused, naming the file', async () => {
    const dir = await tempDir()
    const body = new Uint8Array(1000).fill(42)
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 10, 1), hardState: hs(1, 10) })
      await s.createSnapshot(8, CONF, body)
      const file = join(dir, 'snap-1-8.bin')
      const bytes = await fsp.readFile(file)
      bytes[500] = (bytes[500] ?? 0) ^ 0x01
      await fsp.writeFile(file, bytes)
      expect(() => s.snapshotData()).toThrow(`${file}: crc32 is`)
    })
    await expect(open(dir)).rejects.toThrow(join(dir, 'snap-1-8.bin'))
  })
})

describe('crash recovery', () => {
  it('drops a torn last line and keeps the entries before it', async () => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    await life(dir, (s) => s.save({ entries: range(1, 3, 1), hardState: hs(1, 3) }))
    const good = await fsp.readFile(logDb)
    await fsp.appendFile(logDb, '{"_id":4,"term":1,"ty')

    const { storage, warnings } = await open(dir)
    expect(storage.mem.allEntries()).toEqual(range(1, 3, 1))
    expect(warnings).toEqual([expect.stringContaining(`${logDb} line 4: dropped a torn last line`)])
    await storage.save({ entries: range(4, 5, 1) })
    await storage.close()
    await life(dir, async (s) => expect(s.mem.allEntries()).toEqual(range(1, 5, 1)))
    expect((await fsp.readFile(logDb)).subarray(0, good.length)).toEqual(good)
  })

  it('drops a complete last document that lacks its newline: its append never finished', async () => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    await life(dir, (s) => s.save({ entries: range(1, 2, 1) }))
    await fsp.appendFile(logDb, JSON.stringify({ _id: 3, term: 1, type: 'normal', data: '' }))
    const { storage, warnings } = await open(dir)
    expect(storage.mem.lastIndex()).toBe(2)
    expect(warnings[0]).toContain('a complete document without its newline')
    await storage.close()
  })

  it('drops the tail of a log that an installed snapshot replaced before the crash', async () => {
    const dir = await tempDir()
    await life(dir, (s) => s.save({ entries: range(1, 8, 1), hardState: hs(2, 3) }))
    // As if the node crashed right after recording a leader's snapshot at 5 (term 2, where this
    // log has term 1): the snapshot is durable, the old log is still in log.db.
    const body = Uint8Array.of(1, 2, 3)
    await fsp.writeFile(join(dir, 'snap-2-5.bin'), body)
    const record = { _id: 'snapshot', index: 5, term: 2, confState: CONF, file: 'snap-2-5.bin' }
    await fsp.writeFile(
      join(dir, 'snapshot.db'),
      JSON.stringify({ ...record, size: 3, crc32: crc32(body) }) + '\n',
    )
    const { storage, warnings } = await open(dir)
    expect(storage.mem.snapshot().meta.index).toBe(5)
    expect(storage.mem.lastIndex()).toBe(5)
    expect(warnings).toEqual([expect.stringContaining('entries 6–8 belong to a log')])
    await storage.save({ entries: range(6, 6, 2) })
    await storage.close()
    await life(dir, async (s) => expect(s.mem.allEntries()).toEqual(range(6, 6, 2)))
  })

  it('reads the copy NeDB left when a compaction was interrupted before its rename', async () => {
    const dir = await tempDir()
    await life(dir, (s) => s.save({ entries: range(1, 4, 1) }))
    await fsp.rename(join(dir, 'log.db'), join(dir, 'log.db~'))
    const { storage, warnings } = await open(dir)
    expect(storage.mem.lastIndex()).toBe(4)
    expect(warnings[0]).toContain('restored from')
    await storage.close()
  })
})

describe('damaged datafiles refuse to open, naming file and line', () => {
  const entry = (id: unknown, extra: object = {}): string =>
    JSON.stringify({ _id: id, term: 1, type: 'normal', data: 'AA==', ...extra })

  it.each([
    [
      'a line that is not JSON',
      [entry(1), '{"_id":2,"te', entry(3)],
      2,
      'not valid JSON ("{\\"_id\\":2,\\"te")',
    ],
    ['an _id of 0', [entry(1), entry(0)], 2, '_id is 0, which is no Raft index'],
    ['a string _id', [entry(1), entry('2')], 2, '_id "2" is not a Raft index'],
    [
      'a missing term',
      [entry(1), JSON.stringify({ _id: 2, type: 'normal', data: '' })],
      2,
      'missing "term"',
    ],
    [
      'data that is not base64',
      [entry(1, { data: 'not base64!' })],
      1,
      'entry 1: "data" must be base64',
    ],
    [
      'a secondary index',
      [entry(1), '{"$$indexCreated":{"fieldName":"term"}}', entry(2)],
      2,
      'defines a secondary index ($$indexCreated)',
    ],
    [
      'a raw U+2028',
      [entry(1), `{"_id":2,"term":1,"type":"normal","data":"","x":"\u2028"}`, entry(3)],
      2,
      'contains U+2028 at column 50, which NeDB reads as a line break',
    ],
  ])('%s', async (_name, content, line, problem) => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    const text = content.join('\n') + '\n'
    await fsp.writeFile(logDb, text)
    const mtime = (await fsp.stat(logDb)).mtimeMs
    const opening = NodeStorage.open(dir, { create: false, log: () => {} })
    await expect(opening).rejects.toThrow(`${logDb} line ${line}: ${problem}`)
    await expect(opening).rejects.toThrow('restore its data directory from a backup')
    // A refusal changes nothing: NeDB never got to rewrite the file.
    expect(await fsp.readFile(logDb, 'utf8')).toBe(text)
    expect((await fsp.stat(logDb)).mtimeMs).toBe(mtime)
  })

  it('names the missing index of a gap in the log', async () => {
    const dir = await tempDir()
    await life(dir, (s) => s.save({ entries: range(1, 5, 1) }))
    const logDb = join(dir, 'log.db')
    const kept = (await lines(logDb)).filter((l) => !l.startsWith('{"_id":3,'))
    await fsp.writeFile(logDb, kept.join('\n') + '\n')
    await expect(open(dir)).rejects.toThrow(`${logDb}: entry 3 is missing`)
  })

  it('refuses a commit index beyond the log', async () => {
    const dir = await tempDir()
    await life(dir, (s) => s.save({ entries: range(1, 2, 1), hardState: hs(1, 2) }))
    await fsp.writeFile(
      join(dir, 'state.db'),
      JSON.stringify({ _id: 'hardState', term: 1, vote: 0, commit: 9, confState: CONF }) + '\n',
    )
    await expect(open(dir)).rejects.toThrow('the commit index 9 is beyond the last entry 2')
  })

  it('after a failed write refuses every other one, and still closes', async () => {
    const dir = await tempDir()
    const { storage } = await open(dir, {
      syncFile: () => Promise.reject(new Error('EIO: i/o error, fdatasync')),
    })
    await expect(storage.save({ entries: range(1, 2, 1), hardState: hs(1, 2) })).rejects.toThrow(
      'EIO: i/o error, fdatasync',
    )
    await expect(storage.save({ entries: range(3, 3, 1) })).rejects.toThrow(
      `the storage of ${dir} stopped after a failed write (EIO: i/o error, fdatasync)`,
    )
    // A node stopping over a failed disk closes its storage on the way out: that must not
    // fail again (it did, as an unhandled rejection that crashed the node with a stack trace).
    await expect(storage.close()).resolves.toBeUndefined()
    await expect(storage.save({ entries: range(3, 3, 1) })).rejects.toThrow('is closed')
  })

  it('refuses an emptied state.db once the log has passed the bootstrap term', async () => {
    const dir = await tempDir()
    await life(dir, (s) => s.save({ entries: range(1, 3, 2), hardState: hs(2, 3, 1) }))
    await fsp.writeFile(join(dir, 'state.db'), '')
    await expect(open(dir)).rejects.toThrow(
      `${join(dir, 'state.db')} holds no term or vote, but the node's log reached term 2`,
    )
    // The bootstrap's term-1 entries without a hard state: a crash between the two writes of
    // the very first save, before the node ever voted. That one starts.
    const fresh = await tempDir()
    await life(fresh, (s) => s.save({ entries: range(1, 3, 1), hardState: hs(1, 3) }))
    await fsp.writeFile(join(fresh, 'state.db'), '')
    const { storage } = await open(fresh)
    expect(storage.initialState().hardState.term).toBe(0)
    await storage.close()
  })

  it('reports a missing data directory when it may not create one', async () => {
    const dir = join(await tempDir(), 'node-7')
    await expect(NodeStorage.open(dir, { create: false })).rejects.toThrow(
      `the data directory ${dir} does not exist`,
    )
    expect(fs.existsSync(dir)).toBe(false)
    const { storage } = await open(dir, { create: true })
    expect(fs.statSync(dir).isDirectory()).toBe(true)
    await storage.close()
  })
})

describe('NeDB datafile format', () => {
  it('applies tombstones and later versions of a document as NeDB does', async () => {
    const dir = await tempDir()
    const doc = (id: number, term: number): string =>
      JSON.stringify({
        _id: id,
        term,
        type: 'normal',
        data: Buffer.from(`t${term}`).toString('base64'),
      })
    const text = [
      doc(1, 1),
      doc(2, 1),
      doc(3, 1),
      '{"$$deleted":true,"_id":3}',
      doc(2, 2), // supersedes line 2 without a tombstone, as an update writes it
      '',
      doc(3, 2),
    ]
    await fsp.writeFile(join(dir, 'log.db'), text.join('\n') + '\n')
    // Entries of term 2 were accepted in term 2, which the hard state records.
    await fsp.writeFile(
      join(dir, 'state.db'),
      JSON.stringify({ _id: 'hardState', term: 2, vote: 0, commit: 0, confState: CONF }) + '\n',
    )
    const read = await readLogFile(join(dir, 'log.db'))
    expect(read.entries.map((l) => [l.line, l.entry.index, l.entry.term])).toEqual([
      [1, 1, 1],
      [5, 2, 2],
      [7, 3, 2],
    ])
    await life(dir, async (s) => {
      expect(s.mem.allEntries().map((e) => e.term)).toEqual([1, 2, 2])
    })
  })
})

describe('the offline reader', () => {
  it('returns what the live storage holds and leaves the files untouched', async () => {
    const dir = await tempDir()
    const logDb = join(dir, 'log.db')
    let live: readonly Entry[] = []
    await life(dir, async (s) => {
      await s.save({ entries: range(1, 40, 1), hardState: hs(1, 30), confState: CONF })
      await s.createSnapshot(20, CONF, Uint8Array.of(9))
      await s.save({ entries: [conf(36, 2, 4, 'n4'), ...range(37, 45, 2)], hardState: hs(2, 30) })
      live = s.mem.allEntries()
    })
    // A crash mid-append, which a stopped node's reader must show without repairing it.
    await fsp.appendFile(logDb, '{"_id":46,"te')
    const bytes = await fsp.readFile(logDb)
    const mtime = (await fsp.stat(logDb)).mtimeMs

    const file = await readLogFile(logDb)
    expect(file.entries.map((l) => l.entry)).toEqual(live)
    expect(file.torn).toMatchObject({
      line: expect.any(Number),
      reason: expect.stringContaining('JSON'),
    })
    const contents = await readDataDir(dir)
    expect(contents.snapshot?.meta.index).toBe(20)
    expect(contents.entries.map((l) => l.entry)).toEqual(live)
    expect(contents.hardState).toEqual(hs(2, 30))

    expect(await fsp.readFile(logDb)).toEqual(bytes)
    expect((await fsp.stat(logDb)).mtimeMs).toBe(mtime)
    expect(fs.existsSync(`${logDb}~`)).toBe(false)
  })
})
