// Hex dumps in the layout of `hexdump -C`, which developers already read at a glance:
// offset, sixteen bytes in two groups of eight, and the printable ASCII beside them.

const BYTES_PER_LINE = 16

export interface HexDump {
  readonly lines: readonly string[]
  /** Bytes left out because the dump stops at `maxBytes`. */
  readonly omitted: number
}

export function toHex(byte: number): string {
  return byte.toString(16).padStart(2, '0')
}

export function hexDump(bytes: Uint8Array, maxBytes = 64 * 1024): HexDump {
  const shown = Math.min(bytes.length, maxBytes)
  const lines: string[] = []
  for (let offset = 0; offset < shown; offset += BYTES_PER_LINE) {
    const row = bytes.subarray(offset, Math.min(offset + BYTES_PER_LINE, shown))
    const cells: string[] = []
    let ascii = ''
    for (let i = 0; i < BYTES_PER_LINE; i++) {
      const b = row[i]
      cells.push(b === undefined ? '  ' : toHex(b))
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'
    }
    const hex = `${cells.slice(0, 8).join(' ')}  ${cells.slice(8).join(' ')}`
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex}  |${ascii}|`)
  }
  return { lines, omitted: bytes.length - shown }
}

/** Parses "48 65 6c" or "48656c" (whitespace ignored) into bytes; throws naming the bad part. */
export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '')
  if (digits.length % 2 !== 0) {
    throw new Error(`hex has an odd number of digits (${digits.length}): each byte needs two`)
  }
  const out = new Uint8Array(digits.length / 2)
  for (let i = 0; i < out.length; i++) {
    const pair = digits.slice(2 * i, 2 * i + 2)
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) {
      throw new Error(`"${pair}" at byte ${i} is not a hex byte`)
    }
    out[i] = parseInt(pair, 16)
  }
  return out
}
