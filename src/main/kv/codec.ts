// The one binary encoding of this package, shared by commands, snapshots and the state hash:
// unsigned integers as LEB128 varints, signed ones with the sign in the low bit of the first
// byte (zigzag without the overflow zigzag has above 2^52), byte strings as a varint length
// and the bytes, and a big-endian u32 for checksums. Integers are JavaScript safe integers.
//
// Decoding never trusts its input: every read checks the bytes are there, and every error
// names what was being read and where, e.g. "command: unexpected end of data at byte 7
// (reading put.value)".

export interface Writer {
  buf: Uint8Array
  length: number
}

export function createWriter(capacity: number = 256): Writer {
  return { buf: new Uint8Array(Math.max(capacity, 16)), length: 0 }
}

function reserve(w: Writer, n: number): void {
  if (w.length + n <= w.buf.length) return
  let size = w.buf.length * 2
  while (size < w.length + n) size *= 2
  const buf = new Uint8Array(size)
  buf.set(w.buf.subarray(0, w.length))
  w.buf = buf
}

/** The bytes written so far, as a new array. */
export function written(w: Writer): Uint8Array {
  return w.buf.slice(0, w.length)
}

export function writeU8(w: Writer, v: number): void {
  reserve(w, 1)
  w.buf[w.length++] = v
}

export function writeU32(w: Writer, v: number): void {
  reserve(w, 4)
  w.buf[w.length++] = (v >>> 24) & 0xff
  w.buf[w.length++] = (v >>> 16) & 0xff
  w.buf[w.length++] = (v >>> 8) & 0xff
  w.buf[w.length++] = v & 0xff
}

export function writeUint(w: Writer, v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new Error(`cannot encode ${field}: ${v} is not a non-negative safe integer`)
  }
  reserve(w, 8)
  while (v >= 0x80) {
    w.buf[w.length++] = (v % 0x80) | 0x80
    v = Math.floor(v / 0x80)
  }
  w.buf[w.length++] = v
}

export function writeInt(w: Writer, v: number, field: string): void {
  if (!Number.isSafeInteger(v))
    throw new Error(`cannot encode ${field}: ${v} is not a safe integer`)
  const magnitude = Math.abs(v)
  const high = Math.floor(magnitude / 64)
  writeU8(w, ((magnitude % 64) << 1) | (v < 0 ? 1 : 0) | (high > 0 ? 0x80 : 0))
  if (high > 0) writeUint(w, high, field)
}

export function writeBytes(w: Writer, bytes: Uint8Array): void {
  const n = bytes.length
  writeUint(w, n, 'a length')
  reserve(w, n)
  if (n > 64) {
    w.buf.set(bytes, w.length)
  } else {
    // TypedArray#set costs more than the copy itself for a short key or value.
    const buf = w.buf
    let at = w.length
    for (let i = 0; i < n; i++) buf[at++] = bytes[i] as number
  }
  w.length += n
}

export interface Reader {
  readonly buf: Uint8Array
  pos: number
  /** Exclusive end of the readable part (a trailing checksum is not read as data). */
  readonly end: number
  /** What is being decoded, first word of every error: "command", "snapshot". */
  readonly subject: string
}

export function createReader(
  buf: Uint8Array,
  subject: string,
  start: number = 0,
  end: number = buf.length,
): Reader {
  return { buf, pos: start, end, subject }
}

export function decodeError(r: Reader, problem: string, field: string, at: number = r.pos): Error {
  return new Error(`${r.subject}: ${problem} at byte ${at} (reading ${field})`)
}

export function readU8(r: Reader, field: string): number {
  if (r.pos >= r.end) throw decodeError(r, 'unexpected end of data', field)
  return r.buf[r.pos++] as number
}

export function readU32(r: Reader, field: string): number {
  if (r.pos + 4 > r.end) throw decodeError(r, 'unexpected end of data', field)
  const b = r.buf
  const p = r.pos
  r.pos += 4
  return (
    (((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)) >>>
    0
  )
}

export function readUint(r: Reader, field: string): number {
  const start = r.pos
  let value = 0
  let scale = 1
  for (let i = 0; ; i++) {
    const b = readU8(r, field)
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) break
    // 8 groups of 7 bits already exceed 53.
    if (i === 7) throw decodeError(r, 'varint longer than 8 bytes', field, start)
    scale *= 0x80
  }
  if (!Number.isSafeInteger(value)) {
    throw decodeError(r, `integer ${value} above 2^53 - 1`, field, start)
  }
  return value
}

export function readInt(r: Reader, field: string): number {
  const start = r.pos
  const first = readU8(r, field)
  const negative = (first & 1) === 1
  let magnitude = (first >> 1) & 0x3f
  if ((first & 0x80) !== 0) magnitude += readUint(r, field) * 64
  if (!Number.isSafeInteger(magnitude)) {
    throw decodeError(r, `integer ${magnitude} above 2^53 - 1`, field, start)
  }
  if (negative && magnitude === 0) throw decodeError(r, 'negative zero', field, start)
  return negative ? -magnitude : magnitude
}

export function readBytes(r: Reader, field: string): Uint8Array {
  const start = r.pos
  const length = readUint(r, `${field} length`)
  if (length > r.end - r.pos) {
    throw decodeError(r, `length ${length} runs past the end of the data`, field, start)
  }
  const bytes = r.buf.slice(r.pos, r.pos + length)
  r.pos += length
  return bytes
}

/** A count of items that each take at least one byte: a larger count is corrupt. */
export function readCount(r: Reader, field: string): number {
  const start = r.pos
  const count = readUint(r, field)
  if (count > r.end - r.pos) {
    throw decodeError(r, `count ${count} exceeds the ${r.end - r.pos} bytes left`, field, start)
  }
  return count
}

/** One byte of flags, refusing bits it does not know. */
export function readFlags(r: Reader, known: number, field: string): number {
  const at = r.pos
  const flags = readU8(r, field)
  if ((flags & ~known) !== 0) {
    throw decodeError(r, `unknown flag bits 0x${(flags & ~known).toString(16)}`, field, at)
  }
  return flags
}
