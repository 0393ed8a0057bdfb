// A node's configuration: from a JSON file (`--config node.json`), from flags, or both (flags
// win). Every field is checked, and a bad one is named in the error.

import { MAX_CLUSTER_NAME_BYTES } from './transport/codec'
import { readFileSync } from 'node:fs'
import { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING } from '../../shared/defaults'

export interface MemberAddress {
  readonly id: number
  readonly name: string
  /** "host:port" of the Raft peer listener. */
  readonly peer: string
  /** "host:port" of the etcd v3 gRPC listener. */
  readonly client: string
}

export interface Timing {
  /** Milliseconds per Raft tick. The slow-motion factor of the GUI multiplies it. */
  readonly tickMs: number
  /** Ticks without a leader before a follower campaigns (the timeout is drawn from [n, 2n)). */
  readonly electionTicks: number
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTicks: number
}

export interface NodeConfig extends Timing {
  readonly id: number
  readonly name: string
  /** Nodes refuse peers of another cluster; also hashed into etcd's cluster_id. */
  readonly clusterName: string
  readonly dataDir: string
  readonly peerAddr: string
  readonly clientAddr: string
  /** Founding members, used only when the data directory is new and `join` is false. */
  readonly initialCluster: readonly MemberAddress[]
  /** Start with an empty log and wait to be added to an existing cluster (etcd's "existing" state). */
  readonly join: boolean
  /**
   * This node has run before (the manager knows): its data directory must hold its log. One
   * that lost its data is refused rather than bootstrapped or joined with an empty log as the
   * same member, which could vote for a leader that lacks acknowledged writes.
   */
  readonly hasRun?: boolean
  /** Applied entries between snapshots; the log is truncated below each snapshot. */
  readonly snapshotCount: number
}

// The defaults live in src/shared, where the GUI's create form reads them too; the manager
// and the CLI keep importing them from here.
export { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING }

const FLAGS: Record<string, keyof NodeConfig | 'config'> = {
  '--config': 'config',
  '--id': 'id',
  '--name': 'name',
  '--cluster-name': 'clusterName',
  '--data-dir': 'dataDir',
  '--peer-addr': 'peerAddr',
  '--client-addr': 'clientAddr',
  '--initial-cluster': 'initialCluster',
  '--join': 'join',
  '--tick-ms': 'tickMs',
  '--election-ticks': 'electionTicks',
  '--heartbeat-ticks': 'heartbeatTicks',
  '--snapshot-count': 'snapshotCount',
}

export const USAGE = `usage: node out/main/node.js [--config node.json] [flags]
  --id N                 this node's id (a positive integer)
  --name NAME            a name for people (default: node-N)
  --cluster-name NAME    peers of another cluster are refused (default: raftlab)
  --data-dir DIR         where the log, hard state and snapshots live
  --peer-addr HOST:PORT  Raft peer listener (default 127.0.0.1:2380)
  --client-addr HOST:PORT etcd v3 gRPC listener (default 127.0.0.1:2379)
  --initial-cluster LIST founding members: id=name@peerHost:port@clientHost:port,...
  --join                 start empty and wait to be added (etcdctl member add)
  --tick-ms MS --election-ticks N --heartbeat-ticks N --snapshot-count N`

/** "1=node-1@127.0.0.1:2380@127.0.0.1:2379,2=..." → members. */
export function parseInitialCluster(text: string): MemberAddress[] {
  return text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((item) => {
      const m = /^(\d+)=([^@]*)@([^@]+:\d+)@([^@]+:\d+)$/.exec(item.trim())
      if (!m) {
        throw new Error(`--initial-cluster: "${item}" is not id=name@peerHost:port@clientHost:port`)
      }
      const id = Number(m[1])
      return { id, name: m[2] || `node-${id}`, peer: m[3] ?? '', client: m[4] ?? '' }
    })
}

export function formatInitialCluster(members: readonly MemberAddress[]): string {
  return members.map((m) => `${m.id}=${m.name}@${m.peer}@${m.client}`).join(',')
}

export function splitHostPort(addr: string, what: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':')
  const host = addr.slice(0, i)
  const port = Number(addr.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${what} "${addr}" is not host:port`)
  }
  return { host, port }
}

function positiveInt(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`${what} must be a positive integer, got ${JSON.stringify(v)}`)
  }
  return n
}

function clusterNameOf(v: unknown): string {
  if (v === undefined || v === '') return 'raftlab'
  if (typeof v !== 'string')
    throw new Error(`clusterName must be a string, got ${JSON.stringify(v)}`)
  if (Buffer.byteLength(v) > MAX_CLUSTER_NAME_BYTES) {
    throw new Error(`clusterName is longer than ${MAX_CLUSTER_NAME_BYTES} bytes`)
  }
  return v
}

/** Builds and validates a configuration from a raw object (a parsed config file and flags). */
export function resolveConfig(raw: Record<string, unknown>): NodeConfig {
  const id = positiveInt(raw.id, 'id')
  if (typeof raw.dataDir !== 'string' || raw.dataDir === '') {
    throw new Error(
      'dataDir (--data-dir) is required: the directory for this node’s log and snapshots',
    )
  }
  const initial = raw.initialCluster
  const initialCluster =
    typeof initial === 'string'
      ? parseInitialCluster(initial)
      : Array.isArray(initial)
        ? (initial as MemberAddress[])
        : []
  const join = raw.join === true || raw.join === 'true'
  const peerAddr = typeof raw.peerAddr === 'string' ? raw.peerAddr : '127.0.0.1:2380'
  const clientAddr = typeof raw.clientAddr === 'string' ? raw.clientAddr : '127.0.0.1:2379'
  splitHostPort(peerAddr, 'peerAddr')
  splitHostPort(clientAddr, 'clientAddr')
  if (!join && initialCluster.length === 0) {
    initialCluster.push({ id, name: `node-${id}`, peer: peerAddr, client: clientAddr })
  }
  if (!join && !initialCluster.some((m) => m.id === id)) {
    throw new Error(`initial cluster does not include this node's id ${id}`)
  }
  const cfg: NodeConfig = {
    id,
    name: typeof raw.name === 'string' && raw.name !== '' ? raw.name : `node-${id}`,
    clusterName: clusterNameOf(raw.clusterName),
    dataDir: raw.dataDir,
    peerAddr,
    clientAddr,
    initialCluster,
    join,
    ...(raw.hasRun === true ? { hasRun: true } : {}),
    tickMs: raw.tickMs === undefined ? DEFAULT_TIMING.tickMs : positiveInt(raw.tickMs, 'tickMs'),
    electionTicks:
      raw.electionTicks === undefined
        ? DEFAULT_TIMING.electionTicks
        : positiveInt(raw.electionTicks, 'electionTicks'),
    heartbeatTicks:
      raw.heartbeatTicks === undefined
        ? DEFAULT_TIMING.heartbeatTicks
        : positiveInt(raw.heartbeatTicks, 'heartbeatTicks'),
    snapshotCount:
      raw.snapshotCount === undefined
        ? DEFAULT_SNAPSHOT_COUNT
        : positiveInt(raw.snapshotCount, 'snapshotCount'),
  }
  if (cfg.electionTicks <= cfg.heartbeatTicks) {
    throw new Error('electionTicks must be greater than heartbeatTicks')
  }
  return cfg
}

/** Reads `--config FILE` and flags from argv. */
export function parseArgs(argv: readonly string[]): NodeConfig {
  const raw: Record<string, unknown> = {}
  const flags: Record<string, unknown> = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? ''
    const key = FLAGS[flag]
    if (!key) throw new Error(`unknown flag ${flag}\n${USAGE}`)
    if (key === 'join') {
      flags.join = true
      continue
    }
    const value = argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`)
    if (key === 'config') {
      let text: string
      try {
        text = readFileSync(value, 'utf8')
      } catch (e) {
        throw new Error(`cannot read config file ${value}: ${(e as Error).message}`)
      }
      try {
        Object.assign(raw, JSON.parse(text) as Record<string, unknown>)
      } catch (e) {
        throw new Error(`config file ${value} is not valid JSON: ${(e as Error).message}`)
      }
    } else {
      flags[key] = value
    }
  }
  return resolveConfig({ ...raw, ...flags })
}
