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
  written,
  type Reader,
  type Writer,
} from './codec'
import { crc32, crc32Update } from './crc32'
import { changesSince, type Change } from './changes'
import { isTombstone, liveKv, newKeyIndex } from './keyindex'
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
const ALL_KEYS = keyRange(EMPTY_BYTES, Uint8Array.of(0))

function sortedLeases(store: Store): Lease[] {
  return [...store.leases.values()].sort((a, b) => a.id - b.id)
}

export function encodeSnapshot(store: Store): Uint8Array {
  // Sized from the data up front, so 10 MB of state is not copied over and over as it grows.
  const w = createWriter(estimateSize(store))
  for (const b of MAGIC) writeU8(w, b)
  writeU8(w, SNAPSHOT_FORMAT_VERSION)
  writeUint(w, store.revision, 'revision')
  writeUint(w, store.compactRevision, 'compactRevision')
  writeUint(w, store.appliedIndex, 'appliedIndex')
  writeInt(w, store.nextLeaseId, 'nextLeaseId')
  writeUint(w, store.minLeaseTtl, 'minLeaseTtl')

  const leases = sortedLeases(store)
  writeUint(w, leases.length, 'lease count')
  for (const lease of leases) {
    writeInt(w, lease.id, 'lease id')
    writeUint(w, lease.ttl, 'lease ttl')
    writeUint(w, lease.remainingTtl, 'lease remainingTtl')
  }

  const base: KeyValue[] = []
  indexScan(store.keys, EMPTY_BYTES, undefined, (ki) => {
    const first = ki.revisions[0]
    if (first !== undefined && first.modRevision <= store.compactRevision) base.push(first)
  })
  writeUint(w, base.length, 'base version count')
  for (const kv of base) {
    writeBytes(w, kv.key)
    writeBytes(w, kv.value)
    writeUint(w, kv.createRevision, 'createRevision')
    writeUint(w, kv.modRevision, 'modRevision')
    writeUint(w, kv.version, 'version')
    writeInt(w, kv.lease, 'lease')
  }

  // The history is every change above compactRevision; grouped by revision, that is the writes.
  const changes = changesSince(store, ALL_KEYS, store.compactRevision + 1)
  let writes = 0
  for (let i = 0; i < changes.length; i++) {
    if (i === 0 || (changes[i] as Change).main !== (changes[i - 1] as Change).main) writes++
  }
  writeUint(w, writes, 'write count')
  for (let i = 0; i < changes.length;) {
    const main = (changes[i] as Change).main
    let end = i + 1
    while (end < changes.length && (changes[end] as Change).main === main) end++
    writeUint(w, main, 'write revision')
    writeUint(w, end - i, 'event count')
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
  writeU32(w, crc32(w.buf.subarray(0, w.length)))
  return written(w)
}

function estimateSize(store: Store): number {
  let bytes = 64 + 24 * store.leases.size
  indexScan(store.keys, EMPTY_BYTES, undefined, (ki) => {
    for (const kv of ki.revisions) bytes += kv.key.length + kv.value.length + 24
  })
  return bytes
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
