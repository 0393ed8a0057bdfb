// A chaos run: the workload and the nemesis against a live cluster for a while, then heal,
// wait for the nodes to converge, and judge. The verdict rests on three checks:
//   1. the history the clients recorded is linearizable (with one final read of every key
//      after the heal, so an acknowledged write that vanished shows up as a violation);
//   2. that final state is the one the linearization allows (the same check, through those
//      final reads: every acknowledged write is present, or was overwritten or deleted later);
//   3. every node's applied state is identical: the same revision and the same hash of its
//      keyspace, read with serializable (node-local) reads from each node.

import { createHash } from 'node:crypto'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClusterApi, ClusterStatus } from '../../../shared/api'
import {
  checkHistory,
  describeOperation,
  HistoryRecorder,
  type CheckResult,
  type Operation,
} from '../linearize'
import { dataDirOf } from '../workspace'
import { Nemesis, type FaultKind, type FaultRecord, type NemesisApi } from './nemesis'
import { execute, plainClient, runWorkload, type WorkloadStats } from './workload'

export type ChaosApi = NemesisApi & Pick<ClusterApi, 'exportNodeLog'>

export interface ChaosOptions {
  readonly seed: number
  readonly durationMs: number
  readonly clients: number
  /** How many keys the clients share (default 4: few enough that operations conflict). */
  readonly keys?: number
  readonly faults?: readonly FaultKind[]
  readonly holdMs?: readonly [number, number]
  readonly quietMs?: readonly [number, number]
  readonly opTimeoutMs?: number
  /** Time for the checker (default 60 s). */
  readonly checkBudgetMs?: number
  /** How long the healed cluster may take to converge (default 30 s). */
  readonly convergeTimeoutMs?: number
  /** Where a failed run leaves its history and every node's log. */
  readonly out?: string
  readonly log?: (line: string) => void
}

export type Verdict = 'ok' | 'violation' | 'unknown'

export interface ChaosReport {
  readonly seed: number
  readonly verdict: Verdict
  /** Sentences saying why the verdict is not ok. */
  readonly reasons: readonly string[]
  readonly operations: number
  /** Writes the clients were told took effect (puts, deletes, successful txns). */
  readonly acknowledgedWrites: number
  readonly stats: WorkloadStats
  readonly faults: readonly FaultRecord[]
  readonly injected: number
  readonly check: CheckResult
  /** Per node id: its revision and the hash of its keyspace. */
  readonly nodes: Readonly<Record<string, { revision: number; hash: string }>>
  readonly keys: readonly string[]
  /** Set when the run wrote its evidence to disk. */
  readonly outDir?: string
}

export const KEY_PREFIX = '/chaos/'

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function members(s: ClusterStatus): ClusterStatus['nodes'] {
  return s.nodes.filter((n) => n.member !== 'removed' && n.member !== null)
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  f: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`,
      )
    }
    await sleep(100)
  }
}

/** The keyspace of one node as it has applied it: a serializable read served by that node. */
async function nodeHash(address: string): Promise<{ revision: number; hash: string }> {
  const client = plainClient([address])
  try {
    const r = await client
      .getAll()
      .serializable(true)
      .options({ deadline: Date.now() + 3000 })
      .exec()
    const h = createHash('sha256')
    for (const kv of r.kvs) {
      h.update(
        JSON.stringify([
          kv.key.toString('base64'),
          kv.value.toString('base64'),
          kv.create_revision,
          kv.mod_revision,
          kv.version,
        ]),
      )
      h.update('\n')
    }
    return { revision: Number(r.header.revision), hash: h.digest('hex').slice(0, 16) }
  } finally {
    client.close()
  }
}

export async function runChaos(api: ChaosApi, opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {})
  const keys = Array.from({ length: opts.keys ?? 4 }, (_, i) => `${KEY_PREFIX}${i}`)
  // Times in the history count from the start of the run, which makes them readable.
  const t0 = performance.now()
  const recorder = new HistoryRecorder(() => performance.now() - t0)
  const convergeMs = opts.convergeTimeoutMs ?? 30_000

  await waitFor('the cluster elected no leader', 15_000, async () => {
    const s = await api.status()
    return s.leader ?? undefined
  })
  let status = await api.status()
  const refresh = setInterval(() => {
    void api.status().then(
      (s) => (status = s),
      () => {},
    )
  }, 200)
  const nemesis = new Nemesis(api, {
    seed: opts.seed,
    ...(opts.faults ? { kinds: opts.faults } : {}),
    ...(opts.holdMs ? { holdMs: opts.holdMs } : {}),
    ...(opts.quietMs ? { quietMs: opts.quietMs } : {}),
    log,
    now: () => performance.now() - t0,
  })
  const stop = new AbortController()
  let stats: WorkloadStats
  try {
    log(`chaos: seed ${opts.seed}, ${opts.clients} clients, ${opts.durationMs} ms`)
    const workload = runWorkload(
      {
        seed: opts.seed,
        clients: opts.clients,
        keys,
        recorder,
        ...(opts.opTimeoutMs ? { opTimeoutMs: opts.opTimeoutMs } : {}),
        // Clients follow the membership; a stopped node is left alone until it is back (a
        // client cannot tell a paused node from a slow one, so paused ones stay).
        endpoints: () =>
          members(status)
            .filter((n) => n.process === 'running' || n.process === 'paused')
            .map((n) => n.client),
      },
      stop.signal,
    )
    const faults = nemesis.run(stop.signal)
    await sleep(opts.durationMs)
    stop.abort()
    ;[stats] = await Promise.all([workload, faults])
  } finally {
    clearInterval(refresh)
  }

  // Heal, then wait until every member runs, one leader leads them, and all applied alike.
  log('chaos: healing and waiting for the nodes to converge')
  const reasons: string[] = []
  await nemesis.healAll()
  let converged = true
  try {
    await waitFor('the healed cluster did not converge', convergeMs, async () => {
      const s = await api.status()
      const ms = members(s)
      const applied = new Set(ms.map((n) => n.raft?.applied))
      const allUp = ms.every((n) => n.process === 'running' && n.raft !== null)
      return s.leader !== null && allUp && applied.size === 1 ? s : undefined
    })
  } catch (e) {
    converged = false
    reasons.push((e as Error).message)
  }

  // One final linearizable read of each key, part of the history: what was acknowledged must
  // be there now, unless the history says it was overwritten or deleted since.
  const reader = plainClient(members(await api.status()).map((n) => n.client))
  try {
    for (const key of keys) {
      await waitFor(`the final read of ${key} did not succeed`, convergeMs, async () => {
        const id = recorder.invoke(0, key, { type: 'get' })
        try {
          recorder.ok(id, await execute(reader, key, { type: 'get' }, 3000))
          return true
        } catch (e) {
          recorder.failed(id)
          throw e
        }
      })
    }
  } catch (e) {
    reasons.push((e as Error).message)
  } finally {
    reader.close()
  }

  // Identical applied state on every member. Nodes may still be applying the last entries:
  // retry until they agree or the time is up.
  let nodes: Record<string, { revision: number; hash: string }> = {}
  const agree = await waitFor('never', convergeMs, async () => {
    const ms = members(await api.status())
    const hashes = await Promise.all(ms.map((n) => nodeHash(n.client).catch(() => undefined)))
    nodes = {}
    ms.forEach((n, i) => {
      const h = hashes[i]
      if (h) nodes[String(n.id)] = h
    })
    const distinct = new Set(Object.values(nodes).map((h) => `${h.revision}/${h.hash}`))
    return Object.keys(nodes).length === ms.length && distinct.size === 1 ? true : undefined
  }).catch(() => false)
  if (!agree) {
    reasons.push(
      `the nodes' applied states differ: ${Object.entries(nodes)
        .map(([id, h]) => `node ${id} revision ${h.revision} hash ${h.hash}`)
        .join('; ')}`,
    )
  }

  const history = recorder.history()
  log(`chaos: checking ${history.length} operations`)
  const check = checkHistory(history, { budgetMs: opts.checkBudgetMs ?? 60_000 })
  if (check.verdict === 'violation') reasons.unshift(check.explanation)
  if (check.verdict === 'unknown') reasons.push(check.reason)
  const verdict: Verdict =
    check.verdict === 'violation' || !agree
      ? 'violation'
      : check.verdict === 'unknown' || !converged
        ? 'unknown'
        : 'ok'
  const report: ChaosReport = {
    seed: opts.seed,
    verdict,
    reasons,
    operations: history.length,
    acknowledgedWrites: history.filter(
      (o) =>
        o.output !== null &&
        (o.output.type === 'put' ||
          o.output.type === 'delete' ||
          (o.output.type === 'txn' && o.output.succeeded)),
    ).length,
    stats,
    faults: nemesis.faults,
    injected: nemesis.injected().length,
    check,
    nodes,
    keys,
  }
  if (verdict !== 'ok' && opts.out) {
    return { ...report, outDir: await writeEvidence(api, opts.out, report, history) }
  }
  return report
}

/** Writes what a reader needs to see why a run failed: the history, the faults, every log. */
async function writeEvidence(
  api: ChaosApi,
  dir: string,
  report: ChaosReport,
  history: readonly Operation[],
): Promise<string> {
  await mkdir(dir, { recursive: true })
  await writeFile(
    join(dir, 'history.ndjson'),
    history
      .map((o) => JSON.stringify({ ...o, ret: Number.isFinite(o.ret) ? o.ret : null }))
      .join('\n') + '\n',
  )
  await writeFile(join(dir, 'history.txt'), history.map(describeOperation).join('\n') + '\n')
  await writeFile(join(dir, 'faults.json'), JSON.stringify(report.faults, null, 2) + '\n')
  const { check: _check, ...rest } = report
  await writeFile(join(dir, 'report.json'), JSON.stringify(rest, null, 2) + '\n')
  await writeFile(join(dir, 'verdict.txt'), [report.verdict, ...report.reasons].join('\n\n') + '\n')
  const s = await api.status()
  for (const n of s.nodes) {
    // The node's Raft log (entries), then what the process itself wrote: its structured log
    // and its stdout and stderr.
    await api
      .exportNodeLog({
        node: n.id,
        format: 'ndjson',
        path: join(dir, `node-${n.id}.raft-log.ndjson`),
      })
      .catch((e: unknown) =>
        writeFile(join(dir, `node-${n.id}.raft-log.error.txt`), `${(e as Error).message}\n`),
      )
    for (const file of ['node.log', 'process.log']) {
      await copyFile(
        join(dataDirOf(s.workspace, n.id), file),
        join(dir, `node-${n.id}.${file}`),
      ).catch(() => {})
    }
  }
  return dir
}

/** The summary a person reads at the end of a run. */
export function formatSummary(r: ChaosReport): string {
  const byKind = new Map<string, number>()
  for (const f of r.faults) {
    if (f.error !== undefined || f.detail.startsWith('skipped')) continue
    byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1)
  }
  const lines = [
    `seed         ${r.seed}`,
    `operations   ${r.operations} checked (${r.stats.ok} ok, ${r.stats.failed} failed, ${r.stats.unknown} unknown outcome)`,
    `writes       ${r.acknowledgedWrites} acknowledged; ${r.check.verdict === 'ok' ? 'each one present in the final state or overwritten later' : 'see the verdict'}`,
    `faults       ${r.injected} injected${byKind.size > 0 ? `: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`,
    `nodes        ${Object.entries(r.nodes)
      .map(([id, h]) => `${id}@${h.revision}:${h.hash}`)
      .join(' ')}`,
    ...r.faults
      .filter((f) => f.error !== undefined)
      .map((f) => `fault failed ${f.kind} at ${f.at} ms (${f.detail || 'not struck'}): ${f.error}`),
    `verdict      ${r.verdict.toUpperCase()}`,
    ...r.reasons.map((x) => `\n${x}`),
    ...(r.outDir ? [`\nhistory and node logs written to ${r.outDir}`] : []),
  ]
  return lines.join('\n') + '\n'
}
