// The workload: several clients of the etcd3 package, each pinned to one node, running get,
// put, delete and compare-and-set transactions on a few keys (so that they conflict), and
// recording every operation's call, answer and return into one history.
//
// The etcd3 client's own retries are off: a retried write whose first attempt was applied
// would come back as a second answer to one request and read as a lie. A request is sent once;
// its outcome is what came back, or unknown.

import { noop } from 'cockatiel'
import { Etcd3 } from 'etcd3'
import type { HistoryRecorder, KvInput, KvOutput } from '../linearize'
import { seededRandom } from '../../raft/rng'

export interface WorkloadOptions {
  readonly seed: number
  readonly clients: number
  readonly keys: readonly string[]
  /** The client addresses ("127.0.0.1:PORT") of the nodes to spread clients over, now. */
  readonly endpoints: () => readonly string[]
  readonly recorder: HistoryRecorder
  /** A request unanswered after this long has an unknown outcome. */
  readonly opTimeoutMs?: number
}

/** An etcd3 client of the given endpoints that never retries and never opens a breaker. */
export function plainClient(endpoints: readonly string[], dialTimeout = 2000): Etcd3 {
  return new Etcd3({
    hosts: endpoints.map((e) => `http://${e}`),
    dialTimeout,
    faultHandling: { host: () => noop, global: noop },
  })
}

/**
 * Answers that say a write never took effect: etcd refused it before proposing it, or the
 * connection was never established, so the request never left this process.
 */
function definitelyNotApplied(e: unknown): boolean {
  return /etcdserver: no leader|rpc not supported for learner|ECONNREFUSED|No connection established/.test(
    (e as Error).message ?? '',
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Runs one operation and returns the client's answer; throws what the client threw. */
export async function execute(
  client: Etcd3,
  key: string,
  input: KvInput,
  timeoutMs: number,
): Promise<KvOutput> {
  const options = { deadline: Date.now() + timeoutMs }
  switch (input.type) {
    case 'get': {
      const value = await client.get(key).options(options).string()
      return { type: 'get', value }
    }
    case 'put':
      await client.put(key).value(input.value).options(options).exec()
      return { type: 'put' }
    case 'delete': {
      const r = await client.delete().key(key).options(options).exec()
      return { type: 'delete', deleted: Number(r.deleted) }
    }
    case 'txn': {
      const cmp =
        input.expect === null
          ? client.if(key, 'Create', '==', 0)
          : client.if(key, 'Value', '==', input.expect)
      const write =
        input.value === null ? client.delete().key(key) : client.put(key).value(input.value)
      const r = await cmp.then(write).else(client.get(key)).options(options).commit()
      if (r.succeeded) return { type: 'txn', succeeded: true }
      const kv = r.responses[0]?.response_range?.kvs?.[0]
      return { type: 'txn', succeeded: false, value: kv ? kv.value.toString() : null }
    }
  }
}

export interface WorkloadStats {
  ok: number
  failed: number
  unknown: number
}

/** Runs the clients until `signal` aborts; resolves once every client has stopped. */
export async function runWorkload(
  opts: WorkloadOptions,
  signal: AbortSignal,
): Promise<WorkloadStats> {
  const stats: WorkloadStats = { ok: 0, failed: 0, unknown: 0 }
  const timeout = opts.opTimeoutMs ?? 2000
  const runClient = async (c: number): Promise<void> => {
    const rnd = seededRandom((opts.seed * 7919 + c * 104_729) >>> 0)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T
    const lastSeen = new Map<string, string | null>()
    let address = ''
    let client: Etcd3 | undefined
    let seq = 0
    try {
      while (!signal.aborted) {
        const eps = opts.endpoints()
        if (eps.length === 0) {
          await sleep(100)
          continue
        }
        const want = eps[c % eps.length] as string
        if (want !== address || !client) {
          client?.close()
          address = want
          client = plainClient([address])
        }
        const key = pick(opts.keys)
        const value = `c${c}-${++seq}`
        const r = rnd()
        const input: KvInput =
          r < 0.4
            ? { type: 'get' }
            : r < 0.65
              ? { type: 'put', value }
              : r < 0.72
                ? { type: 'delete' }
                : {
                    type: 'txn',
                    expect: lastSeen.has(key) ? (lastSeen.get(key) ?? null) : null,
                    value: rnd() < 0.9 ? value : null,
                  }
        const id = opts.recorder.invoke(c, key, input)
        try {
          const out = await execute(client, key, input, timeout)
          opts.recorder.ok(id, out)
          stats.ok++
          if (out.type === 'get') lastSeen.set(key, out.value)
          if (out.type === 'txn' && !out.succeeded && out.value !== undefined) {
            lastSeen.set(key, out.value)
          }
          if (input.type === 'put') lastSeen.set(key, input.value)
        } catch (e) {
          if (input.type === 'get' || definitelyNotApplied(e)) {
            opts.recorder.failed(id)
            stats.failed++
          } else {
            opts.recorder.unknown(id)
            stats.unknown++
          }
          // A node that is down answers at once: do not turn its outage into a flood. Each
          // unknown outcome stays open to the end of the history and widens the checker's
          // search, so a client that met one waits longer.
          const unknown = input.type !== 'get' && !definitelyNotApplied(e)
          await sleep((unknown ? 300 : 50) + Math.floor(rnd() * 100))
        }
      }
    } finally {
      client?.close()
    }
  }
  await Promise.all(Array.from({ length: opts.clients }, (_, c) => runClient(c + 1)))
  return stats
}
