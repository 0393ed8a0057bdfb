// The state machine's snapshot: everything applying the log has built (keys with their history
// since the last compaction, revisions, leases, the applied index), so that a node can be
// rebuilt from it and then apply the entries after appliedIndex. Volatile state (lease
// deadlines, the primary flag, listeners) is not in it.
//
//   "RLKV"  u8 format version (1)
//   revision compactRevision appliedIndex:uint  nextLeaseId:int  minLeaseTtl:uint
//   uint n, n × lease (id:int ttl:uint remainingTtl:uint), ascending ID
//   uint n, n × base version (key value:bytes createRevision modRevision version:uint lease:int),
//            ascending key: each key's version at or below compactRevision that compaction kept
//   uint n, n × write (revision:uint, uint m, m × event), ascending revision: the history above
//            compactRevision; an event is u8 type (0 PUT, 1 DELETE), key:bytes, and for a PUT
//            value:bytes lease:int
//   u32 CRC-32 (IEEE) of every byte before it, big-endian
//
// The history is stored as the writes themselves and replayed through the same write path that
// made it, which rebuilds every derived field (versions, create revisions, prevKv, lease
// attachments) exactly, in time linear in the size of the state.

import { indexGet, indexScan, indexSet } from './btree'
import { compareBytes, EMPTY_BYTES, keyRange } from './bytes'
import {
  createReader,
  createWriter,
  decodeError,
  readBytes,
  readCount,
  readInt,
  readU32,
  readU8,
  readUint,
  writeBytes,
  writeInt,
  writeU32,
  writeU8,
  writeUint,
  type Reader,
  type Writer,
} from './codec'
import { crc32, crc32Update } from './crc32'
import { inRevisionOrder, type Change } from './changes'
import { firstAtOrAfter, isTombstone, liveKv, newKeyIndex, subOf } from './keyindex'
import { retainBytes } from './slab'
import {
  beginWrite,
  createStore,
  endWrite,
  writeDelete,
  writePut,
  type Lease,
  type Store,
} from './store'
import type { KeyValue } from './types'

export const SNAPSHOT_FORMAT_VERSION = 1
const MAGIC = Uint8Array.of(0x52, 0x4c, 0x4b, 0x56) // "RLKV"
const HEADER_BYTES = MAGIC.length + 1
const CHECKSUM_BYTES = 4
const EVENT_PUT = 0
const EVENT_DELETE = 1

function sortedLeases(store: Store): Lease[] {
  return [...store.leases.values()].sort((a, b) => a.id - b.id)
}

/** Keys scanned, or records written, in one step of encodeSnapshotSteps. */
export const SNAPSHOT_STEP_ITEMS = 4096

/** The snapshot of the state as it is now, in one go. */
export function encodeSnapshot(store: Store): Uint8Array {
  const steps = encodeSnapshotSteps(store, Infinity)
  for (;;) {
    const step = steps.next()
    // Nothing runs between the steps here, so nothing can change the store under them.
    if (step.done) return step.value as Uint8Array
  }
}

/**
 * The snapshot of the state as it is when the first step runs, encoded in steps of about
 * `stepItems` keys or records, so that a node can go on answering its peers between them: at
 * 100,000 keys the whole takes 100-250 ms, as long as an election timeout. Writes applied
 * between two steps are left out (the snapshot keeps to the revision it started at). A change it
 * cannot see past, a compaction or a whole new state installed, ends it with undefined.
 */
export function* encodeSnapshotSteps(
  store: Store,
  stepItems = SNAPSHOT_STEP_ITEMS,
  /**
   * Bytes to put before the snapshot in the same buffer (a node's own header): outside the
   * snapshot and its checksum, but no second buffer of tens of megabytes to copy it into. A
   * large allocation can set off a full garbage collection that stops the node for hundreds of
   * milliseconds.
   */
  prefix: Uint8Array = EMPTY_BYTES,
): Generator<void, Uint8Array | undefined, void> {
  const { revision, compactRevision, appliedIndex, nextLeaseId, minLeaseTtl, keys } = store
  // Copied: a keep-alive changes a lease in place.
  const leases = sortedLeases(store).map(({ id, ttl, remainingTtl }) => ({ id, ttl, remainingTtl }))
  const unchanged = (): boolean => store.keys === keys && store.compactRevision === compactRevision

  // 1. Scan the keys: each one's version kept at compaction (the base), and its changes above it.
  const base: KeyValue[] = []
  let changes: Change[] = []
  let subs = false
  let bytes = 64 + 24 * leases.length
  let from: Uint8Array | undefined = EMPTY_BYTES
  while (from !== undefined) {
    let scanned = 0
    let resumeAt: Uint8Array | undefined
    indexScan(keys, from, undefined, (ki, key) => {
      if (scanned === stepItems) {
        resumeAt = key
        return false
      }
      scanned++
      const revisions = ki.revisions
      const first = revisions[0]
      if (first !== undefined && first.modRevision <= compactRevision) {
        base.push(first)
        bytes += first.key.length + first.value.length + 24
      }
      for (let at = firstAtOrAfter(revisions, compactRevision + 1); at < revisions.length; at++) {
        const kv = revisions[at] as KeyValue
        if (kv.modRevision > revision) break
        const sub = subOf(ki, at)
        if (sub !== 0) subs = true
        changes.push({ ki, at, main: kv.modRevision, sub })
        bytes += kv.key.length + kv.value.length + 24
      }
      return true
    })
    from = resumeAt
    if (from !== undefined) {
      yield
      if (!unchanged()) return undefined
    }
  }
  // The history is every change above compactRevision; grouped by revision, that is the writes.
  changes = inRevisionOrder(changes, compactRevision + 1, revision, subs)
  yield
  if (!unchanged()) return undefined

  // 2. Write. Sized from the data up front, so 10 MB of state is not copied over and over.
  const w = createWriter(prefix.length + bytes)
  w.buf.set(prefix)
  w.length = prefix.length
  for (const b of MAGIC) writeU8(w, b)
  writeU8(w, SNAPSHOT_FORMAT_VERSION)
  writeUint(w, revision, 'revision')
  writeUint(w, compactRevision, 'compactRevision')
  writeUint(w, appliedIndex, 'appliedIndex')
  writeInt(w, nextLeaseId, 'nextLeaseId')
  writeUint(w, minLeaseTtl, 'minLeaseTtl')

  writeUint(w, leases.length, 'lease count')
  for (const lease of leases) {
    writeInt(w, lease.id, 'lease id')
    writeUint(w, lease.ttl, 'lease ttl')
    writeUint(w, lease.remainingTtl, 'lease remainingTtl')
  }

  writeUint(w, base.length, 'base version count')
  for (let i = 0; i < base.length; i++) {
    if (i > 0 && i % stepItems === 0) {
      yield
      if (!unchanged()) return undefined
    }
    const kv = base[i] as KeyValue
    writeBytes(w, kv.key)
    writeBytes(w, kv.value)
    writeUint(w, kv.createRevision, 'createRevision')
    writeUint(w, kv.modRevision, 'modRevision')
    writeUint(w, kv.version, 'version')
    writeInt(w, kv.lease, 'lease')
  }

  let writes = 0
  for (let i = 0; i < changes.length; i++) {
    if (i === 0 || (changes[i] as Change).main !== (changes[i - 1] as Change).main) writes++
  }
  writeUint(w, writes, 'write count')
  let sinceYield = 0
  for (let i = 0; i < changes.length;) {
    if (sinceYield >= stepItems) {
      sinceYield = 0
      yield
      // A change is found again by its place in its key's revisions, which a compaction shifts.
      if (!unchanged()) return undefined
    }
    const main = (changes[i] as Change).main
    let end = i + 1
    while (end < changes.length && (changes[end] as Change).main === main) end++
    writeUint(w, main, 'write revision')
    writeUint(w, end - i, 'event count')
    sinceYield += end - i
    for (; i < end; i++) {
      const { ki, at } = changes[i] as Change
      const kv = ki.revisions[at] as KeyValue
      const tombstone = isTombstone(kv)
      writeU8(w, tombstone ? EVENT_DELETE : EVENT_PUT)
      writeBytes(w, kv.key)
      if (!tombstone) {
        writeBytes(w, kv.value)
        writeInt(w, kv.lease, 'event lease')
      }
    }
  }
  writeU32(w, crc32(w.buf.subarray(prefix.length, w.length)))
  // A view, not a copy (see prefix); the writer was sized for the data, so little is unused.
  return w.buf.subarray(0, w.length)
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}

/** Rebuilds a store from a snapshot; throws an Error naming what is wrong with a bad one. */
export function decodeSnapshot(bytes: Uint8Array): Store {
  if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    throw new Error(`snapshot: ${bytes.length} bytes is too short to be a RaftLab KV snapshot`)
  }
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    throw new Error('snapshot: not a RaftLab KV snapshot (the first bytes are not "RLKV")')
  }
  const version = bytes[MAGIC.length] as number
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new Error(
      `snapshot: unsupported format version ${version} (this build reads version ${SNAPSHOT_FORMAT_VERSION})`,
    )
  }
  const bodyEnd = bytes.length - CHECKSUM_BYTES
  const stored = readU32(createReader(bytes, 'snapshot', bodyEnd), 'checksum')
  const computed = crc32(bytes.subarray(0, bodyEnd))
  if (stored !== computed) {
    throw new Error(
      `snapshot: checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)}): ` +
        `the snapshot is corrupt or truncated`,
    )
  }

  const r = createReader(bytes, 'snapshot', HEADER_BYTES, bodyEnd)
  const revision = readUint(r, 'revision')
  const compactRevision = readUint(r, 'compactRevision')
  const appliedIndex = readUint(r, 'appliedIndex')
  const nextLeaseId = readInt(r, 'nextLeaseId')
  const minLeaseTtl = readUint(r, 'minLeaseTtl')
  if (revision < 1 || compactRevision > revision || minLeaseTtl < 1) {
    throw decodeError(
      r,
      `inconsistent header (revision ${revision}, compactRevision ${compactRevision}, minLeaseTtl ${minLeaseTtl})`,
      'header',
    )
  }
  const store = createStore({ minLeaseTtl })
  store.compactRevision = compactRevision
  store.appliedIndex = appliedIndex
  store.nextLeaseId = nextLeaseId

  readLeases(r, store)
  readBaseVersions(r, store)
  readHistory(r, store, revision)
  store.revision = revision
  if (r.pos !== r.end) throw decodeError(r, `${r.end - r.pos} trailing bytes`, 'end')
  return store
}

function readLeases(r: Reader, store: Store): void {
  const n = readCount(r, 'lease count')
  let previous = -Infinity
  for (let i = 0; i < n; i++) {
    const at = r.pos
    const id = readInt(r, `lease[${i}].id`)
    if (id <= previous || id === 0) {
      throw decodeError(r, `lease ID ${id} is zero or out of order`, `lease[${i}].id`, at)
    }
    previous = id
    const ttl = readUint(r, `lease[${i}].ttl`)
    const remainingTtl = readUint(r, `lease[${i}].remainingTtl`)
    store.leases.set(id, { id, ttl, remainingTtl, expiry: Infinity, keys: new Set() })
  }
}

function readBaseVersions(r: Reader, store: Store): void {
  const n = readCount(r, 'base version count')
  let previous: Uint8Array | undefined
  for (let i = 0; i < n; i++) {
    const field = `base version ${i}`
    const at = r.pos
    const key = readBytes(r, `${field} key`)
    if (key.length === 0 || (previous !== undefined && compareBytes(previous, key) >= 0)) {
      throw decodeError(r, 'key is empty or out of order', `${field} key`, at)
    }
    previous = key
    const value = readBytes(r, `${field} value`)
    const createRevision = readUint(r, `${field} createRevision`)
    const modRevision = readUint(r, `${field} modRevision`)
    const version = readUint(r, `${field} version`)
    const lease = readInt(r, `${field} lease`)
    if (
      modRevision > store.compactRevision ||
      createRevision < 1 ||
      createRevision > modRevision ||
      version < 1
    ) {
      throw decodeError(r, 'revisions inconsistent with the compact revision', field, at)
    }
    // Kept in the store's chunks like every written key and value (see slab.ts).
    const ownKey = retainBytes(key)
    const kv: KeyValue = {
      key: ownKey,
      createRevision,
      modRevision,
      version,
      value: retainBytes(value),
      lease,
    }
    const ki = newKeyIndex(ownKey, kv, 0)
    indexSet(store.keys, ownKey, ki)
    if (lease !== 0) store.leases.get(lease)?.keys.add(ki)
  }
}

function readHistory(r: Reader, store: Store, revision: number): void {
  const n = readCount(r, 'write count')
  let previous = store.compactRevision
  for (let i = 0; i < n; i++) {
    const at = r.pos
    const writeRevision = readUint(r, `write ${i} revision`)
    if (writeRevision <= previous || writeRevision > revision) {
      throw decodeError(r, `revision ${writeRevision} out of order`, `write ${i} revision`, at)
    }
    previous = writeRevision
    const m = readCount(r, `write ${i} event count`)
    if (m === 0) throw decodeError(r, 'a write without events', `write ${i} event count`)
    store.revision = writeRevision - 1
    const tx = beginWrite(store)
    for (let j = 0; j < m; j++) {
      const field = `write ${i} event ${j}`
      const typeAt = r.pos
      const type = readU8(r, `${field} type`)
      const key = readBytes(r, `${field} key`)
      if (type === EVENT_PUT) {
        const value = readBytes(r, `${field} value`)
        writePut(tx, key, value, readInt(r, `${field} lease`))
      } else if (type === EVENT_DELETE) {
        const ki = indexGet(store.keys, key)
        if (ki === undefined || liveKv(ki) === undefined) {
          throw decodeError(r, 'DELETE of a key that does not exist', field, typeAt)
        }
        writeDelete(tx, keyRange(key, undefined))
      } else {
        throw decodeError(r, `unknown event type ${type}`, `${field} type`, typeAt)
      }
    }
    endWrite(tx)
  }
}

/**
 * A CRC-32 of the applied state: revision, compact revision, every live key with its metadata
 * and value, and the leases. Two nodes that applied the same log agree on it; the applied
 * index and the history below the current revision do not enter it.
 */
export function hash(store: Store): number {
  const w = createWriter(1 << 16)
  let crc = 0
  // Hashing in slices keeps memory flat at 100,000 keys.
  const flush = (): void => {
    crc = crc32Update(crc, w.buf.subarray(0, w.length))
    w.length = 0
  }
  writeUint(w, store.revision, 'revision')
  writeUint(w, store.compactRevision, 'compactRevision')
  indexScan(store.keys, EMPTY_BYTES, undefined, (ki) => {
    const kv = liveKv(ki)
    if (kv === undefined) return
    writeU8(w, 1) // a key follows; 0 ends the list, so the encoding parses one way only
    writeKeyValue(w, kv)
    if (w.length >= 1 << 16) flush()
  })
  writeU8(w, 0)
  for (const lease of sortedLeases(store)) {
    writeInt(w, lease.id, 'lease id')
    writeUint(w, lease.ttl, 'lease ttl')
    writeUint(w, lease.remainingTtl, 'lease remainingTtl')
  }
  flush()
  return crc
}

function writeKeyValue(w: Writer, kv: KeyValue): void {
  writeBytes(w, kv.key)
  writeBytes(w, kv.value)
  writeUint(w, kv.createRevision, 'createRevision')
  writeUint(w, kv.modRevision, 'modRevision')
  writeUint(w, kv.version, 'version')
  writeInt(w, kv.lease, 'lease')
}
