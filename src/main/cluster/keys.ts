// The Keys view's engine: etcd's KV and Lease services through the etcd3 client, against whichever
// nodes are running. Everything goes through the etcd v3 API as any client would, so the same
// code serves a RaftLab cluster and a real etcd cluster.

import { noop } from 'cockatiel'
import {
  CompareResult,
  CompareTarget,
  Etcd3,
  SortOrder,
  SortTarget,
  type IKeyValue,
  type IPutRequest,
  type IResponseHeader,
  type ITxnResponse,
} from 'etcd3'
import {
  keyDumpSchema,
  type ImportResult,
  type KeyDeleteInput,
  type KeyDetail,
  type KeyDump,
  type KeyListQuery,
  type KeyPage,
  type KeyPutInput,
  type KeyRevisionView,
  type KeyView,
  type KeyWriteResult,
  type Progress,
} from '../../shared/api'
import { keyHistory, watchEverything, type KeyChange, type KeyHistory } from './keywatch'

export type { KeyChange } from './keywatch'

const DEFAULT_PAGE = 100
/** etcd's default --max-txn-ops. */
const TXN_MAX_OPS = 128
/** Well under etcd's default --max-request-bytes (1.5 MiB), leaving room for framing. */
const TXN_MAX_BYTES = 1024 * 1024
const EXPORT_PAGE = 1000
/** How long a replaced client lives on, so calls already running on it can finish. */
const RETIRE_AFTER_MS = 10_000

/** Tries of a compare-and-swap whose outcome an election or a timeout left unknown. */
const CAS_ATTEMPTS = 3
/**
 * What the etcd API answers when a write may not have happened: the leader changed or gave up
 * waiting, there was no leader, or the node could not be reached. Anything else is final.
 */
const UNKNOWN_OUTCOME =
  /leader changed|request timed out|no leader|not leader|unavailable|ECONNREFUSED|ECONNRESET/i

const ZERO = Buffer.from([0])
const utf8 = new TextDecoder('utf-8', { fatal: true })

export class KeyStore {
  private current: { readonly key: string; readonly client: Etcd3; readonly cas: Etcd3 } | undefined
  private readonly retired = new Set<Etcd3>()
  private readonly watches = new Set<() => void>()
  private closed = false

  /** `endpoints` gives the "127.0.0.1:PORT" of the running nodes' client listeners. */
  constructor(private readonly endpoints: () => string[]) {}

  /** A client of the running nodes; replaced whenever that set changes. */
  private client(): Etcd3 {
    return this.clients().client
  }

  /**
   * The same nodes through a client that never repeats a call by itself: etcd3 retries a call
   * that failed with "unavailable" (as "leader changed" and "request timed out" do), and a
   * compare-and-swap repeated behind our back would report its own earlier success as a
   * conflict. compareAndSwap below repeats it knowingly.
   */
  private casClient(): Etcd3 {
    return this.clients().cas
  }

  private clients(): { readonly client: Etcd3; readonly cas: Etcd3 } {
    if (this.closed) throw new Error('the key store is closed')
    const hosts = [...this.endpoints()].sort()
    if (hosts.length === 0) {
      throw new Error('no node is running: start the cluster (or a node) to read and write keys')
    }
    const key = hosts.join(',')
    if (this.current?.key === key) return this.current
    if (this.current) {
      this.retire(this.current.client)
      this.retire(this.current.cas)
    }
    const options = {
      hosts: hosts.map((h) => (h.includes('://') ? h : `http://${h}`)),
      dialTimeout: 3000,
    }
    this.current = {
      key,
      client: new Etcd3(options),
      cas: new Etcd3({ ...options, faultHandling: { global: noop } }),
    }
    return this.current
  }

  private retire(client: Etcd3): void {
    this.retired.add(client)
    setTimeout(() => {
      if (this.retired.delete(client)) client.close()
    }, RETIRE_AFTER_MS).unref()
  }

  /**
   * One Txn: `op` if `key` is still at `modRevision` (0: absent), else a read of it. A try
   * whose outcome is unknown (see UNKNOWN_OUTCOME) is made again: the compare keeps a repeat
   * from writing twice, and `retried` tells the caller to recognise its own earlier write.
   * `found` is the key as the failure branch read it (undefined when absent or on success).
   */
  private async compareAndSwap(
    key: Buffer,
    modRevision: number,
    op: { request_put: IPutRequest } | { request_delete_range: { key: Buffer } },
  ): Promise<{ res: ITxnResponse; retried: boolean; found: IKeyValue | undefined }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.casClient().kv.txn({
          compare: [
            {
              key,
              target: CompareTarget.Mod,
              result: CompareResult.Equal,
              mod_revision: modRevision,
            },
          ],
          success: [op],
          failure: [{ request_range: { key } }],
        })
        const found = res.succeeded ? undefined : res.responses[0]?.response_range?.kvs[0]
        return { res, retried: attempt > 1, found }
      } catch (cause) {
        if (attempt >= CAS_ATTEMPTS || !UNKNOWN_OUTCOME.test(String(cause))) throw cause
        await new Promise((r) => setTimeout(r, 200 * attempt))
      }
    }
  }

  /** Keys under a prefix in key order, one page after the cursor, and how many match in all. */
  async list(q: KeyListQuery): Promise<KeyPage> {
    const prefix = Buffer.from(q.prefix ?? '')
    const limit = q.limit ?? DEFAULT_PAGE
    const [from, end] = prefixRange(prefix)
    const start = q.after !== undefined ? Buffer.concat([Buffer.from(q.after), ZERO]) : from
    const kv = this.client().kv
    const page = await kv.range({
      key: Buffer.compare(start, from) > 0 ? start : from,
      range_end: end,
      limit,
      sort_order: SortOrder.Ascend,
      sort_target: SortTarget.Key,
      keys_only: q.keysOnly === true,
    })
    const revision = rev(page.header)
    // The count is taken at the page's revision, so page and count describe the same moment.
    const all = await kv.range({ key: from, range_end: end, count_only: true, revision })
    const keys = page.kvs.map(keyView)
    return {
      keys,
      count: Number(all.count),
      cursor: page.more && keys.length > 0 ? (keys.at(-1)?.key ?? null) : null,
      revision,
    }
  }

  /** A key with its metadata, its history back to the compaction point and its lease's TTL. */
  async get(key: string): Promise<KeyDetail> {
    const client = this.client()
    const k = Buffer.from(key)
    const res = await client.kv.range({ key: k })
    const revision = rev(res.header)
    const found = res.kvs[0]
    const kv = found ? keyView(found) : null
    let history = await keyHistory(client, k, revision, kv?.modRevision)
    // The replay may come from a node that has not applied the latest write yet: ask again.
    for (let tries = 0; kv && tries < 5 && lastModOf(history) < kv.modRevision; tries++) {
      await new Promise((r) => setTimeout(r, 100))
      history = await keyHistory(client, k, revision, kv.modRevision)
    }
    let leaseTtl: number | null = null
    if (kv && kv.lease !== 0) {
      const ttl = await client.leaseClient.leaseTimeToLive({ ID: kv.lease })
      leaseTtl = Number(ttl.TTL)
    }
    return {
      kv,
      history: history.events
        .map((e): KeyRevisionView => ({
          modRevision: Number(e.kv.mod_revision),
          version: e.type === 'delete' ? 0 : Number(e.kv.version),
          value: e.type === 'delete' ? null : Buffer.from(e.kv.value).toString('base64'),
        }))
        .reverse(),
      revision,
      compactRevision: history.compactRevision,
      leaseTtl,
    }
  }

  /**
   * Writes a key. With expectModRevision the write is a compare-and-swap in one Txn: it happens
   * only if the key's mod_revision is still that (0: only if the key does not exist), and
   * otherwise the result says ok: false and shows what is there now.
   */
  async put(i: KeyPutInput): Promise<KeyWriteResult> {
    const client = this.client()
    const key = Buffer.from(i.key)
    const value =
      i.base64 === true ? decodeBase64(i.value, `the value of ${i.key}`) : Buffer.from(i.value)
    let lease = 0
    if (i.ttl !== undefined) {
      const granted = await client.leaseClient.leaseGrant({ TTL: i.ttl, ID: 0 })
      lease = Number(granted.ID)
    }
    const put = { key, value, lease, prev_kv: true }
    if (i.expectModRevision === undefined) {
      const res = await client.kv.put(put)
      const revision = rev(res.header)
      return { ok: true, revision, current: written(i.key, value, lease, revision, res.prev_kv) }
    }
    const { res, retried, found } = await this.compareAndSwap(key, i.expectModRevision, {
      request_put: put,
    })
    const revision = rev(res.header)
    // A try that failed after one whose outcome was unknown: if the key holds exactly what this
    // write put there, the earlier try is what happened.
    if (
      !res.succeeded &&
      retried &&
      found !== undefined &&
      Buffer.from(found.value).equals(value) &&
      Number(found.lease) === lease
    ) {
      return { ok: true, revision: Number(found.mod_revision), current: keyView(found) }
    }
    if (!res.succeeded) {
      // The lease was made for this write only; nothing will ever be attached to it.
      if (lease !== 0) await client.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined)
      return { ok: false, revision, current: found ? keyView(found) : null }
    }
    const prev = res.responses[0]?.response_put?.prev_kv
    return { ok: true, revision, current: written(i.key, value, lease, revision, prev) }
  }

  /** Deletes one key, every key under a prefix, or one key only if unchanged (CAS). */
  async delete(i: KeyDeleteInput): Promise<KeyWriteResult & { deleted: number }> {
    const client = this.client()
    const key = Buffer.from(i.key)
    if (i.prefix === true && i.expectModRevision !== undefined) {
      throw new Error(
        `expectModRevision guards a single key; it cannot be combined with prefix (key ${i.key})`,
      )
    }
    if (i.expectModRevision === undefined) {
      const range = i.prefix === true ? prefixRange(key) : [key]
      const res = await client.kv.deleteRange({ key: range[0], range_end: range[1] })
      return { ok: true, revision: rev(res.header), current: null, deleted: Number(res.deleted) }
    }
    const { res, retried, found } = await this.compareAndSwap(key, i.expectModRevision, {
      request_delete_range: { key },
    })
    const revision = rev(res.header)
    // As for put: a key already gone after an unknown outcome was deleted by the earlier try.
    if (!res.succeeded && retried && found === undefined && i.expectModRevision !== 0) {
      return { ok: true, revision, current: null, deleted: 1 }
    }
    if (!res.succeeded) {
      return { ok: false, revision, current: found ? keyView(found) : null, deleted: 0 }
    }
    const deleted = Number(res.responses[0]?.response_delete_range?.deleted ?? 0)
    return { ok: true, revision, current: null, deleted }
  }

  /**
   * Writes every key of a dump in Txns of at most etcd's op limit, reporting progress after
   * each. A key that appears twice keeps its last value (a Txn may not write a key twice).
   */
  async importKeys(d: KeyDump, progress?: (p: Progress) => void): Promise<ImportResult> {
    const dump = parseDump(d)
    const last = new Map<string, Buffer>()
    dump.keys.forEach((k, n) => {
      last.set(
        k.key,
        k.base64 === true ? decodeBase64(k.value, `keys[${n}].value`) : Buffer.from(k.value),
      )
    })
    const total = last.size
    const report = (done: number, message: string): void =>
      progress?.({ task: 'import', done, total, message })
    report(0, `importing ${total} keys`)
    let done = 0
    let revision = 0
    let batch: { key: Buffer; value: Buffer }[] = []
    let bytes = 0
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const res = await this.client().kv.txn({
        success: batch.map((p) => ({ request_put: p })),
      })
      revision = rev(res.header)
      done += batch.length
      batch = []
      bytes = 0
      report(done, `imported ${done} of ${total} keys`)
    }
    for (const [key, value] of last) {
      const size = Buffer.byteLength(key) + value.length + 16
      if (batch.length >= TXN_MAX_OPS || (batch.length > 0 && bytes + size > TXN_MAX_BYTES)) {
        await flush()
      }
      batch.push({ key: Buffer.from(key), value })
      bytes += size
    }
    await flush()
    if (revision === 0)
      revision = rev((await this.client().kv.range({ key: ZERO, count_only: true })).header)
    return { keys: total, revision }
  }

  /** Every key under a prefix (all keys by default) as one consistent dump. */
  async exportKeys(prefix?: string): Promise<KeyDump> {
    const kv = this.client().kv
    const [from, end] = prefixRange(Buffer.from(prefix ?? ''))
    const keys: KeyDump['keys'] = []
    let start = from
    let revision = 0
    for (;;) {
      const page = await kv.range({
        key: start,
        range_end: end,
        limit: EXPORT_PAGE,
        sort_order: SortOrder.Ascend,
        sort_target: SortTarget.Key,
        // Every page at the first page's revision: one snapshot even while others write.
        ...(revision > 0 ? { revision } : {}),
      })
      if (revision === 0) revision = rev(page.header)
      for (const k of page.kvs) keys.push(dumpEntry(k))
      const lastKey = page.kvs.at(-1)?.key
      if (!page.more || !lastKey) break
      start = Buffer.concat([Buffer.from(lastKey), ZERO])
    }
    return { keys }
  }

  /** Reports every change to any key until the returned function is called. */
  watch(onChange: (c: KeyChange) => void): () => void {
    const stop = watchEverything(() => this.client(), onChange)
    this.watches.add(stop)
    return () => {
      this.watches.delete(stop)
      stop()
    }
  }

  close(): Promise<void> {
    for (const stop of this.watches) stop()
    this.watches.clear()
    this.closed = true
    this.current?.client.close()
    this.current?.cas.close()
    this.current = undefined
    for (const c of this.retired) c.close()
    this.retired.clear()
    return Promise.resolve()
  }
}

/** [key, range_end) of every key that starts with `prefix`; the empty prefix is every key. */
export function prefixRange(prefix: Buffer): [Buffer, Buffer] {
  if (prefix.length === 0) return [ZERO, ZERO]
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return [prefix, end.subarray(0, i + 1)]
    }
  }
  // All 0xff: no key after the prefix ends it, so the range runs to the end of the keyspace.
  return [prefix, ZERO]
}

function lastModOf(h: KeyHistory): number {
  const last = h.events.at(-1)
  return last ? Number(last.kv.mod_revision) : 0
}

function rev(h: IResponseHeader): number {
  return Number(h.revision)
}

function keyView(kv: IKeyValue): KeyView {
  const value = Buffer.from(kv.value ?? [])
  return {
    key: Buffer.from(kv.key).toString(),
    value: value.toString('base64'),
    size: value.length,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: Number(kv.lease),
  }
}

/** What a put left behind, from its revision and the previous value it returned. */
function written(
  key: string,
  value: Buffer,
  lease: number,
  revision: number,
  prev: IKeyValue | null | undefined,
): KeyView {
  return {
    key,
    value: value.toString('base64'),
    size: value.length,
    createRevision: prev ? Number(prev.create_revision) : revision,
    modRevision: revision,
    version: prev ? Number(prev.version) + 1 : 1,
    lease,
  }
}

/** Text stays text in a dump, so a person can read and edit it; anything else is base64. */
function dumpEntry(kv: IKeyValue): KeyDump['keys'][number] {
  const key = Buffer.from(kv.key).toString()
  const value = Buffer.from(kv.value ?? [])
  try {
    return { key, value: utf8.decode(value) }
  } catch {
    return { key, value: value.toString('base64'), base64: true }
  }
}

function parseDump(d: KeyDump): KeyDump {
  const r = keyDumpSchema.safeParse(d)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  throw new Error(
    `not a key dump (${where}${issue?.message ?? 'invalid'}); expected { "keys": [{ "key", "value", "base64"? }] }`,
  )
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw new Error(`${what} is marked base64 but is not valid base64`)
  return Buffer.from(text, 'base64')
}

/**
 * A key call's failure as the user should read it. etcd3 stops calling a node for 5 s after
 * three recoverable failures in a row (its circuit breaker), and then fails every call with
 * cockatiel's "Execution prevented because the circuit breaker is open": after a no-leader
 * failure, that is what the cluster is. Anything else passes through unchanged.
 */
export function plainKeyError(e: unknown): never {
  if (e instanceof Error && (e as { isBrokenCircuitError?: boolean }).isBrokenCircuitError) {
    throw new Error(
      'etcdserver: no leader (or no node answers): the last calls failed, so calls are held ' +
        'back for a few seconds; `raftlab status` shows whether a majority of voters is up and ' +
        'a leader elected',
    )
  }
  throw e
}
