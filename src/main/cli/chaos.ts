// `raftlab chaos`: a fresh cluster in a temporary (or given, empty) workspace, a seeded chaos
// run against it (src/main/cluster/chaos/runner.ts), a summary, and an exit code a script can
// test: 0 linearizable and converged, 1 a violation, 3 undecided, 2 a usage error.

import { existsSync, realpathSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseFaultKinds, type FaultKind } from '../cluster/chaos/nemesis'
import { formatSummary, runChaos, type ChaosReport } from '../cluster/chaos/runner'
import { ClusterService } from '../cluster/service'
import { readClusterFile } from '../cluster/workspace'

export const CHAOS_HELP = `usage: raftlab chaos [options]

Runs clients against a fresh local cluster while a nemesis kills, pauses, partitions,
slows and reconfigures it; then heals it and checks that the history the clients saw is
linearizable, that no acknowledged write was lost, and that every node applied the same state.

options:
  --seed S          the seed of the fault schedule and the workload (default: random, printed)
  --duration D      how long faults strike: 60s, 2m, 1500ms (default 60s)
  --clients N       concurrent clients (default 8)
  --nodes 3|5       cluster size (default 3)
  --keys N          keys the clients share (default 4)
  --faults LIST     kill,pause,isolateLeader,partition,bridge,delay,drop,membership,transfer
                    (default: all)
  --workspace DIR   an empty directory for the cluster (default: a temporary one, removed after)
  --out DIR         where a failed run writes its history and node logs
                    (default: a raftlab-chaos-SEED directory in the system's temp folder)
  --hold MIN-MAX    how long each fault is held, e.g. 800ms-2500ms (the default)
  --tick-ms MS      Raft tick of the cluster (default 20)
  --json            print the report as one JSON object instead of the summary

exit codes: 0 ok, 1 violation, 3 unknown (the checker ran out of time, or no convergence)
`

export interface ChaosArgs {
  readonly seed: number
  readonly durationMs: number
  readonly clients: number
  readonly nodes: number
  readonly keys: number
  readonly faults: readonly FaultKind[] | undefined
  readonly holdMs: readonly [number, number] | undefined
  readonly workspace: string | undefined
  readonly out: string | undefined
  readonly tickMs: number | undefined
  readonly json: boolean
  readonly unsafe: string | undefined
  readonly help: boolean
}

/** "60s", "2m", "1500ms", "90" (seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!m) throw new Error(`--duration: "${text}" is not a duration like 60s, 2m or 1500ms`)
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const ms = n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000)
  if (ms < 1000) throw new Error(`--duration: ${text} is too short; give at least 1s`)
  return Math.round(ms)
}

/** "800ms-2500ms", "2s-4s" → [min, max] ms. */
export function parseHold(text: string): [number, number] {
  const parts = text.split('-')
  const ms = (t: string): number => {
    const m = /^(\d+)(ms|s)?$/.exec(t.trim())
    if (!m) throw new Error(`--hold: "${text}" is not a range like 800ms-2500ms or 2s-4s`)
    return Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  }
  if (parts.length !== 2) throw new Error(`--hold: "${text}" is not a range like 2s-4s`)
  const lo = ms(parts[0] ?? '')
  const hi = ms(parts[1] ?? '')
  if (lo < 1 || hi <= lo) throw new Error(`--hold: ${text} needs 0 < MIN < MAX`)
  return [lo, hi]
}

function whole(flag: string, v: string, min: number, max: number): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${flag} needs a whole number from ${min} to ${max}, not "${v}"`)
  }
  return n
}

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  const flags = new Map<string, string>()
  let json = false
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (a === 'chaos' && i === 0) continue
    if (a === '--json') json = true
    else if (a === '--help' || a === '-h') help = true
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2)
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i]
      if (value === undefined) throw new Error(`--${name} needs a value`)
      flags.set(name, value)
    } else throw new Error(`unexpected argument "${a}"`)
  }
  const known = [
    'seed',
    'duration',
    'clients',
    'nodes',
    'keys',
    'faults',
    'workspace',
    'out',
    'tick-ms',
    'hold',
    'unsafe',
  ]
  for (const k of flags.keys()) {
    if (!known.includes(k)) throw new Error(`unknown option --${k}`)
  }
  const get = (k: string): string | undefined => flags.get(k)
  const seedText = get('seed')
  const nodes = whole('nodes', get('nodes') ?? '3', 1, 7)
  if (nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, not ${nodes}`)
  const faultsText = get('faults')
  const ws = get('workspace')
  const out = get('out')
  const tick = get('tick-ms')
  const hold = get('hold')
  return {
    seed:
      seedText === undefined
        ? Math.floor(Math.random() * 2 ** 31)
        : whole('seed', seedText, 0, 2 ** 32 - 1),
    durationMs: parseDuration(get('duration') ?? '60s'),
    clients: whole('clients', get('clients') ?? '8', 1, 256),
    nodes,
    keys: whole('keys', get('keys') ?? '4', 1, 1000),
    faults: faultsText === undefined ? undefined : parseFaultKinds(faultsText),
    holdMs: hold === undefined ? undefined : parseHold(hold),
    workspace: ws === undefined ? undefined : resolve(ws),
    out: out === undefined ? undefined : resolve(out),
    tickMs: tick === undefined ? undefined : whole('tick-ms', tick, 1, 10_000),
    json,
    unsafe: get('unsafe'),
    help,
  }
}

export interface ChaosRunOptions {
  /** out/main/node.js; defaults to the node.js next to the CLI bundle. */
  readonly nodeEntry?: string
  readonly log?: (line: string) => void
}

/** Creates the cluster, runs the chaos, closes and cleans up. The library face of the command. */
export async function chaosRun(args: ChaosArgs, opts: ChaosRunOptions = {}): Promise<ChaosReport> {
  const temporary = args.workspace === undefined
  const workspace = args.workspace ?? (await mkdtemp(join(tmpdir(), 'raftlab-chaos-')))
  if (!temporary && (await readClusterFile(workspace))) {
    throw new Error(
      `workspace ${workspace} already holds a cluster; a chaos run needs a fresh one (give an empty directory)`,
    )
  }
  // Test-only: node processes read RAFTLAB_UNSAFE (src/main/node/grpc/unsafe.ts) at start.
  const before = process.env.RAFTLAB_UNSAFE
  if (args.unsafe !== undefined) process.env.RAFTLAB_UNSAFE = args.unsafe
  let service: ClusterService | undefined
  try {
    service = await ClusterService.open({
      workspace,
      host: 'cli',
      ...(opts.nodeEntry ? { nodeEntry: opts.nodeEntry } : {}),
    })
    await service.createCluster({
      nodes: args.nodes,
      name: `chaos-${args.seed}`,
      ...(args.tickMs !== undefined ? { timing: { tickMs: args.tickMs } } : {}),
    })
    return await runChaos(service, {
      seed: args.seed,
      durationMs: args.durationMs,
      clients: args.clients,
      keys: args.keys,
      out: args.out ?? join(tmpdir(), `raftlab-chaos-${args.seed}-${Date.now()}`),
      ...(args.faults ? { faults: args.faults } : {}),
      ...(args.holdMs ? { holdMs: args.holdMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    })
  } finally {
    await service?.close().catch(() => {})
    if (args.unsafe !== undefined) {
      if (before === undefined) delete process.env.RAFTLAB_UNSAFE
      else process.env.RAFTLAB_UNSAFE = before
    }
    if (temporary) await rm(workspace, { recursive: true, force: true }).catch(() => {})
  }
}

export const EXIT_CODES = { ok: 0, violation: 1, unknown: 3 } as const

/**
 * The node program beside the running cli.js. This module may be bundled into a chunk of its
 * own, so the directory of the command's script, not of this module, is the one to look in.
 */
function nodeEntryBesideScript(): string | undefined {
  const script = process.argv[1]
  if (!script) return undefined
  try {
    const candidate = join(dirname(realpathSync(script)), 'node.js')
    return existsSync(candidate) ? candidate : undefined
  } catch {
    return undefined
  }
}

export async function chaosCommand(argv: readonly string[]): Promise<number> {
  let args: ChaosArgs
  try {
    args = parseChaosArgs(argv)
  } catch (e) {
    process.stderr.write(`raftlab chaos: ${(e as Error).message}\n\n${CHAOS_HELP}`)
    return 2
  }
  if (args.help) {
    process.stdout.write(CHAOS_HELP)
    return 0
  }
  const log = args.json
    ? undefined
    : (line: string): void => {
        process.stderr.write(`${line}\n`)
      }
  const nodeEntry = nodeEntryBesideScript()
  const report = await chaosRun(args, {
    ...(log ? { log } : {}),
    ...(nodeEntry ? { nodeEntry } : {}),
  })
  if (args.json) {
    const { check, ...rest } = report
    process.stdout.write(JSON.stringify({ ...rest, check: check.verdict }) + '\n')
  } else {
    process.stdout.write(formatSummary(report))
  }
  return EXIT_CODES[report.verdict]
}
