// etcd orders keys by their bytes. For UTF-8 that is code point order, which JavaScript's `<`
// (UTF-16 code units) gets wrong only for characters above U+FFFF against U+E000–U+FFFF; the
// list inserts live keys with this order so they land where the server's pages put them.

export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const surrogateX = x >= 0xd800 && x <= 0xdfff
    const surrogateY = y >= 0xd800 && y <= 0xdfff
    // A surrogate pair encodes a code point above every BMP character.
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1
    return x - y
  }
  return a.length - b.length
}

/** Where `key` is in the sorted `keys`, or where it would go: { index, found }. */
export function searchKeys<T>(
  items: readonly T[],
  key: string,
  keyOf: (item: T) => string,
): { index: number; found: boolean } {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const item = items[mid]
    if (item !== undefined && compareKeys(keyOf(item), key) < 0) lo = mid + 1
    else hi = mid
  }
  const at = items[lo]
  return { index: lo, found: at !== undefined && keyOf(at) === key }
}
