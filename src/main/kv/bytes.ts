// etcd keys are bytes, so every ordering in this package is bytewise (memcmp) and every range is
// a half-open byte interval. These helpers are the one place that knows it.

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

/** memcmp order: the first differing byte decides; a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The interval [key, rangeEnd) as etcd reads it: an absent or empty rangeEnd means the single
 * key, and the one byte "\0" means every key >= key (etcdctl --from-key).
 */
export interface KeyRange {
  readonly from: Uint8Array
  /** Exclusive end; undefined means no upper bound. Ignored when `single`. */
  readonly to: Uint8Array | undefined
  readonly single: boolean
}

export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { from: key, to: key, single: true }
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { from: key, to: undefined, single: false }
  return { from: key, to: rangeEnd, single: false }
}

export function inKeyRange(range: KeyRange, key: Uint8Array): boolean {
  if (range.single) return equalBytes(range.from, key)
  if (compareBytes(key, range.from) < 0) return false
  return range.to === undefined || compareBytes(key, range.to) < 0
}

/**
 * The rangeEnd that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd): the
 * prefix with its last byte below 0xff incremented and the rest dropped; "\0" (all keys) when
 * the prefix is all 0xff bytes or empty.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i] = b + 1
      return end
    }
  }
  return Uint8Array.of(0)
}

/**
 * A string with one char per byte, for use as a Map key. Keys can be as large as a request
 * (1.5 MiB), too many arguments for one String.fromCharCode call, hence the chunks.
 */
export function binaryString(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192))
  }
  return s
}
