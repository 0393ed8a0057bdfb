// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), so a snapshot's checksum can be verified with
// any standard tool. zlib computes it when this Node has zlib.crc32 (20.15 and later): a
// byte-at-a-time table in JavaScript spends over 100 ms on a 100,000-key snapshot, time the
// node's heartbeats wait for.

import * as zlib from 'node:zlib'

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

const native: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined

/** The table-driven CRC, the reference the native one is tested against. */
export function crc32UpdateTable(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) {
    c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8)
  }
  return ~c >>> 0
}

/** Continues a running CRC; start with 0. */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  return native === undefined ? crc32UpdateTable(crc, bytes) : native(bytes, crc)
}

export function crc32(bytes: Uint8Array): number {
  return crc32Update(0, bytes)
}
