// The key tree: etcd's keyspace is flat, so folders are only a way of reading keys that share
// a prefix up to a separator ("/registry/pods/a" → registry › pods › a). The tree is built from
// the keys loaded so far and flattened into rows, so the same virtual list can show it.

export interface KeyTreeFolder {
  readonly name: string
  /** The prefix every key below this folder starts with, separator included. */
  readonly path: string
  readonly folders: Map<string, KeyTreeFolder>
  /** Keys whose last segment lives directly in this folder: segment name → full key. */
  readonly keys: Map<string, string>
  /** Keys anywhere below. */
  size: number
}

export interface KeyTreeRow {
  readonly kind: 'folder' | 'key'
  readonly depth: number
  readonly name: string
  /** The folder's prefix, or the key itself. */
  readonly path: string
  /** Keys below a folder; 1 for a key. */
  readonly size: number
}

function folder(name: string, path: string): KeyTreeFolder {
  return { name, path, folders: new Map(), keys: new Map(), size: 0 }
}

export function buildKeyTree(keys: Iterable<string>, separator: string): KeyTreeFolder {
  const root = folder('', '')
  addToKeyTree(root, keys, separator)
  return root
}

/**
 * Adds keys to a tree in place: the list appends a page at a time, and rebuilding the tree of
 * 100,000 keys for every page would stall the view. Keys must not be in the tree already.
 */
export function addToKeyTree(root: KeyTreeFolder, keys: Iterable<string>, separator: string): void {
  for (const key of keys) {
    let at = root
    at.size++
    let start = 0
    // Every part but the last is a folder; "/a" gives an unnamed first folder, shown as the
    // separator itself so leading separators (etcd's common style) stay visible.
    for (;;) {
      const cut = separator === '' ? -1 : key.indexOf(separator, start)
      if (cut === -1) break
      const name = key.slice(start, cut)
      let next = at.folders.get(name)
      if (next === undefined) {
        next = folder(name, at.path + name + separator)
        at.folders.set(name, next)
      }
      next.size++
      at = next
      start = cut + separator.length
    }
    at.keys.set(key.slice(start), key)
  }
}

/**
 * The visible rows: folders first, then keys, each in the order the keys arrived (the server's
 * key order, since pages come sorted); children of open folders only.
 */
export function flattenKeyTree(
  root: KeyTreeFolder,
  expanded: ReadonlySet<string>,
  separator: string,
): KeyTreeRow[] {
  const rows: KeyTreeRow[] = []
  const walk = (at: KeyTreeFolder, depth: number): void => {
    for (const [name, child] of at.folders) {
      rows.push({
        kind: 'folder',
        depth,
        name: name + separator,
        path: child.path,
        size: child.size,
      })
      if (expanded.has(child.path)) walk(child, depth + 1)
    }
    for (const [name, key] of at.keys) {
      rows.push({ kind: 'key', depth, name: name === '' ? '(empty)' : name, path: key, size: 1 })
    }
  }
  walk(root, 0)
  return rows
}
