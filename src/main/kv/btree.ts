// The ordered key index: a B+tree keyed bytewise, so that a point lookup costs O(log n) and a
// range costs O(log n + k) however many keys the store holds. Leaves are doubly linked so a
// range scan walks sideways instead of climbing the tree.
//
// Deletion (only compaction removes keys) does not rebalance: a leaf that empties is unlinked
// and cut from its parent, and underfull nodes are left as they are. That keeps every leaf
// non-empty, so a scan still touches O(k) leaves, and the height stays bounded by the largest
// size the index has ever had.

import { compareBytes } from './bytes'

/**
 * Entries per node. Large enough that 100,000 keys fit in three levels; small enough that the
 * splice on insert moves a few hundred bytes, not the whole index.
 */
const MAX_ENTRIES = 64

interface Leaf<V> {
  readonly kind: 'leaf'
  keys: Uint8Array[]
  values: V[]
  prev: Leaf<V> | undefined
  next: Leaf<V> | undefined
}

/** keys[i] separates children[i] (all keys < keys[i]) from children[i + 1] (all keys >= it). */
interface Branch<V> {
  readonly kind: 'branch'
  keys: Uint8Array[]
  children: Node<V>[]
}

type Node<V> = Leaf<V> | Branch<V>

export interface OrderedIndex<V> {
  root: Node<V>
  size: number
}

function emptyLeaf<V>(): Leaf<V> {
  return { kind: 'leaf', keys: [], values: [], prev: undefined, next: undefined }
}

export function createIndex<V>(): OrderedIndex<V> {
  return { root: emptyLeaf<V>(), size: 0 }
}

/** First i with keys[i] >= key. */
function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(keys[mid] as Uint8Array, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First i with keys[i] > key: the child of a branch that may hold `key`. */
function upperBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(keys[mid] as Uint8Array, key) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

function childAt<V>(branch: Branch<V>, i: number): Node<V> {
  const child = branch.children[i]
  if (child === undefined) throw new Error(`btree: branch has no child ${i}`)
  return child
}

/** Where `key` is or would go: the branches and child slots from the root, the leaf, the slot. */
interface Position<V> {
  readonly path: Branch<V>[]
  readonly slots: number[]
  readonly leaf: Leaf<V>
  readonly i: number
  readonly present: boolean
}

function search<V>(index: OrderedIndex<V>, key: Uint8Array): Position<V> {
  const path: Branch<V>[] = []
  const slots: number[] = []
  let node = index.root
  while (node.kind === 'branch') {
    const slot = upperBound(node.keys, key)
    path.push(node)
    slots.push(slot)
    node = childAt(node, slot)
  }
  const i = lowerBound(node.keys, key)
  const found = node.keys[i]
  return {
    path,
    slots,
    leaf: node,
    i,
    present: found !== undefined && compareBytes(found, key) === 0,
  }
}

export function indexGet<V>(index: OrderedIndex<V>, key: Uint8Array): V | undefined {
  const { leaf, i, present } = search(index, key)
  return present ? leaf.values[i] : undefined
}

/** Inserts `key`, or replaces its value if present. The index keeps `key` by reference. */
export function indexSet<V>(index: OrderedIndex<V>, key: Uint8Array, value: V): void {
  const { path, slots, leaf, i, present } = search(index, key)
  if (present) {
    leaf.values[i] = value
    return
  }
  leaf.keys.splice(i, 0, key)
  leaf.values.splice(i, 0, value)
  index.size++
  if (leaf.keys.length <= MAX_ENTRIES) return

  let split = splitLeaf(leaf)
  for (let d = path.length - 1; d >= 0; d--) {
    const parent = path[d] as Branch<V>
    const slot = slots[d] as number
    parent.keys.splice(slot, 0, split.separator)
    parent.children.splice(slot + 1, 0, split.right)
    if (parent.children.length <= MAX_ENTRIES) return
    split = splitBranch(parent)
  }
  index.root = { kind: 'branch', keys: [split.separator], children: [index.root, split.right] }
}

interface Split<V> {
  readonly separator: Uint8Array
  readonly right: Node<V>
}

function splitLeaf<V>(leaf: Leaf<V>): Split<V> {
  const mid = leaf.keys.length >>> 1
  const right: Leaf<V> = {
    kind: 'leaf',
    keys: leaf.keys.splice(mid),
    values: leaf.values.splice(mid),
    prev: leaf,
    next: leaf.next,
  }
  if (leaf.next !== undefined) leaf.next.prev = right
  leaf.next = right
  return { separator: right.keys[0] as Uint8Array, right }
}

function splitBranch<V>(branch: Branch<V>): Split<V> {
  const mid = branch.children.length >>> 1
  const children = branch.children.splice(mid)
  const keys = branch.keys.splice(mid)
  // The separator between the halves moves up to the parent; neither half keeps it.
  const separator = branch.keys.pop() as Uint8Array
  return { separator, right: { kind: 'branch', keys, children } }
}

/** Removes `key`; returns whether it was present. */
export function indexDelete<V>(index: OrderedIndex<V>, key: Uint8Array): boolean {
  const { path, slots, leaf, i, present } = search(index, key)
  if (!present) return false
  leaf.keys.splice(i, 1)
  leaf.values.splice(i, 1)
  index.size--
  if (leaf.keys.length > 0 || path.length === 0) return true

  if (leaf.prev !== undefined) leaf.prev.next = leaf.next
  if (leaf.next !== undefined) leaf.next.prev = leaf.prev
  for (let d = path.length - 1; d >= 0; d--) {
    const parent = path[d] as Branch<V>
    const slot = slots[d] as number
    parent.children.splice(slot, 1)
    // Dropping the separator on the removed child's side merges its key interval into a
    // neighbour's, which keeps every separator a valid bound.
    if (parent.keys.length > 0) parent.keys.splice(slot > 0 ? slot - 1 : 0, 1)
    if (parent.children.length > 0) break
  }
  let root = index.root
  while (root.kind === 'branch' && root.children.length === 1) root = childAt(root, 0)
  index.root = root.kind === 'branch' && root.children.length === 0 ? emptyLeaf<V>() : root
  return true
}

/**
 * Visits entries with from <= key < to in ascending order (no upper bound when `to` is
 * undefined) until `visit` returns false. The index must not be changed during the visit.
 */
export function indexScan<V>(
  index: OrderedIndex<V>,
  from: Uint8Array,
  to: Uint8Array | undefined,
  visit: (value: V, key: Uint8Array) => boolean | void,
): void {
  const start = search(index, from)
  let leaf: Leaf<V> | undefined = start.leaf
  let i = start.i
  while (leaf !== undefined) {
    for (; i < leaf.keys.length; i++) {
      const key = leaf.keys[i] as Uint8Array
      if (to !== undefined && compareBytes(key, to) >= 0) return
      if (visit(leaf.values[i] as V, key) === false) return
    }
    leaf = leaf.next
    i = 0
  }
}
