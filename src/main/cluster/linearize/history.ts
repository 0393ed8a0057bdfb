// A history of key-value operations as the clients saw them: what each asked, what it was
// told, and when it called and when it heard back, all on one monotonic clock of the
// recording process. An operation whose outcome the client never learned (a timeout, a lost
// connection) stays in the history with no output and a return time of Infinity: it may have
// taken effect at any moment after its call, or never.

/** What a client asked of one key. */
export type KvInput =
  | { readonly type: 'get' }
  | { readonly type: 'put'; readonly value: string }
  | { readonly type: 'delete' }
  /**
   * A compare-and-set transaction on one key: if the key's value is `expect` (null: the key is
   * absent) then write `value` (null: delete the key), else read the key.
   */
  | { readonly type: 'txn'; readonly expect: string | null; readonly value: string | null }

/** What the client was told. */
export type KvOutput =
  | { readonly type: 'get'; readonly value: string | null }
  | { readonly type: 'put' }
  | { readonly type: 'delete'; readonly deleted: number }
  /** `value` is what the failed comparison found (undefined when the reply did not say). */
  | { readonly type: 'txn'; readonly succeeded: boolean; readonly value?: string | null }

export interface Operation {
  /** Unique within the history. */
  readonly id: number
  readonly client: number
  readonly key: string
  readonly input: KvInput
  /** null when the outcome is unknown. */
  readonly output: KvOutput | null
  /** Milliseconds on the recording process's monotonic clock. */
  readonly call: number
  /** Infinity when the outcome is unknown. */
  readonly ret: number
}

/** Throws a sentence naming the operation that makes no sense as part of a history. */
export function validateHistory(ops: readonly Operation[]): void {
  const ids = new Set<number>()
  for (const op of ops) {
    if (ids.has(op.id)) throw new Error(`history: operation id ${op.id} appears twice`)
    ids.add(op.id)
    if (!Number.isFinite(op.call)) {
      throw new Error(`history: operation ${op.id} has no finite call time`)
    }
    if (op.ret < op.call) {
      throw new Error(`history: operation ${op.id} returns (${op.ret}) before it is called`)
    }
    if (op.output === null && op.ret !== Infinity) {
      throw new Error(`history: operation ${op.id} has an unknown outcome but a finite return`)
    }
    if (op.output !== null && !Number.isFinite(op.ret)) {
      throw new Error(`history: operation ${op.id} has an output but no return time`)
    }
    if (op.output !== null && op.output.type !== op.input.type) {
      throw new Error(
        `history: operation ${op.id} is a ${op.input.type} answered as a ${op.output.type}`,
      )
    }
  }
}

/** One line per operation, for explanations and for the files a failed run leaves behind. */
export function describeOperation(op: Operation): string {
  const q = (v: string | null | undefined): string =>
    v === null ? 'absent' : v === undefined ? '?' : JSON.stringify(v)
  const i = op.input
  const asked =
    i.type === 'get'
      ? `get ${op.key}`
      : i.type === 'put'
        ? `put ${op.key}=${q(i.value)}`
        : i.type === 'delete'
          ? `delete ${op.key}`
          : `txn ${op.key}: if ${q(i.expect)} then ${i.value === null ? 'delete' : `put ${q(i.value)}`}`
  const o = op.output
  const told =
    o === null
      ? 'unknown outcome'
      : o.type === 'get'
        ? q(o.value)
        : o.type === 'put'
          ? 'ok'
          : o.type === 'delete'
            ? `deleted ${o.deleted}`
            : o.succeeded
              ? 'succeeded'
              : `failed (found ${q(o.value)})`
  const ret = Number.isFinite(op.ret) ? op.ret.toFixed(1) : '∞'
  return `#${op.id} client ${op.client} ${asked} → ${told} [${op.call.toFixed(1)}, ${ret}] ms`
}

/**
 * Records a history as clients run: `invoke` before the request leaves, then exactly one of
 * `ok` (the reply), `unknown` (no reply, or a reply that does not say whether it applied) or
 * `failed` (a reply that says it did not apply; the operation leaves the history).
 */
export class HistoryRecorder {
  private nextId = 1
  private readonly open = new Map<
    number,
    { client: number; key: string; input: KvInput; call: number }
  >()
  private readonly done: Operation[] = []
  /** Operations that failed for sure, dropped from the history. */
  failures = 0

  constructor(private readonly now: () => number = () => performance.now()) {}

  invoke(client: number, key: string, input: KvInput): number {
    const id = this.nextId++
    this.open.set(id, { client, key, input, call: this.now() })
    return id
  }

  ok(id: number, output: KvOutput): void {
    const o = this.take(id)
    this.done.push({ id, ...o, output, ret: this.now() })
  }

  unknown(id: number): void {
    const o = this.take(id)
    // A read that never answered constrains nothing.
    if (o.input.type === 'get') return
    this.done.push({ id, ...o, output: null, ret: Infinity })
  }

  failed(id: number): void {
    this.take(id)
    this.failures++
  }

  private take(id: number): { client: number; key: string; input: KvInput; call: number } {
    const o = this.open.get(id)
    if (!o) throw new Error(`history: operation ${id} is not in flight`)
    this.open.delete(id)
    return o
  }

  /** The completed history; operations still in flight count as unknown. */
  history(): Operation[] {
    for (const id of [...this.open.keys()]) this.unknown(id)
    return [...this.done].sort((a, b) => a.call - b.call)
  }
}
