// Where the store keeps the bytes of keys and values. A Uint8Array of its own costs a backing
// store outside the heap, its bookkeeping and an ArrayBuffer object: over 200 bytes on top of the
// data, more than a typical etcd value itself. Small arrays are instead copied into shared
// chunks and kept as views of them, which cost only the view.
//
// The price is that a chunk lives as long as any view of it: after compaction a chunk may be
// held by one surviving value. Chunks are small and only arrays of at most MAX_SHARED bytes share
// them, so at worst a live value holds CHUNK_BYTES / MAX_SHARED times its share of a chunk.

const CHUNK_BYTES = 16 * 1024
const MAX_SHARED = 1024

/** The chunks' buffers, so that a test can tell the store's bytes from a caller's. */
const chunks = new WeakSet<ArrayBufferLike>()
let chunk = newChunk()
let used = 0

function newChunk(): Uint8Array {
  const c = new Uint8Array(CHUNK_BYTES)
  chunks.add(c.buffer)
  return c
}

/** A copy of `bytes` that the caller may keep: later changes to `bytes` do not reach it. */
export function retainBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length
  if (n > MAX_SHARED) return bytes.slice()
  if (used + n > CHUNK_BYTES) {
    chunk = newChunk()
    used = 0
  }
  const copy = chunk.subarray(used, used + n)
  copy.set(bytes)
  used += n
  return copy
}

/** Whether `bytes` lives in memory of its own or of the store's chunks, not in a caller's buffer. */
export function isRetainedCopy(bytes: Uint8Array): boolean {
  return chunks.has(bytes.buffer) || bytes.byteLength === bytes.buffer.byteLength
}
