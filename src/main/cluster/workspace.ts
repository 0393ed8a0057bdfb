// The workspace on disk: cluster.json (what the cluster is), one data directory per node, and a
// lock so that two managers never drive the same nodes. Reopening a workspace brings back the
// same cluster: same ids, same ports, same data.

import { createServer, type AddressInfo, type Server } from 'node:net'
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { Timing } from '../node/config'
import { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING } from '../node/config'
import { TIMING_LIMITS } from '../../shared/defaults'
import { processCommandLine, takePidLock } from '../node/pidlock'

export interface NodeSpec {
  readonly id: number
  readonly name: string
  readonly peer: string
  readonly client: string
  /** A node added after the cluster was founded starts empty and waits to be added. */
  readonly join: boolean
  /** Removed from the membership: kept for its data and its log, never started again. */
  readonly removed?: boolean
  /** Started at least once: from then on its data directory must hold its log (hasRun). */
  readonly hasRun?: boolean
}

export interface ClusterFile {
  readonly version: 1
  readonly name: string
  readonly nodes: readonly NodeSpec[]
  readonly timing: Timing
  readonly snapshotCount: number
  /** Multiplies tickMs in what the nodes are told (1 when absent). */
  readonly slowMotion?: number
  /** The nodes that were running when the manager last changed them: reopening restarts them. */
  readonly running?: readonly number[]
}

/** The timing the nodes run with: tickMs stretched by the slow-motion factor. */
export function effectiveTiming(c: ClusterFile): Timing {
  return { ...c.timing, tickMs: Math.max(1, Math.round(c.timing.tickMs * (c.slowMotion ?? 1))) }
}

export const DEFAULT_WORKSPACE = join(homedir(), '.raftlab')

export function clusterFilePath(workspace: string): string {
  return join(workspace, 'cluster.json')
}

export function dataDirOf(workspace: string, id: number): string {
  return join(workspace, 'nodes', `node-${id}`)
}

export async function readClusterFile(workspace: string): Promise<ClusterFile | undefined> {
  const path = clusterFilePath(workspace)
  const text = await readIfExists(path)
  if (text === undefined) return undefined
  let parsed: ClusterFile
  try {
    parsed = JSON.parse(text) as ClusterFile
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); fix or remove it`)
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.nodes)) {
    throw new Error(`${path} is not a RaftLab cluster file (version ${String(parsed.version)})`)
  }
  const problem = clusterFileProblem(parsed)
  if (problem !== undefined) throw new Error(`${path}: ${problem}; fix or remove it`)
  return parsed
}

/**
 * What makes a parsed cluster.json unusable, naming the field, or undefined when nothing does.
 * Checked on read: a hand-edited file must fail here, naming cluster.json, not later as a node
 * that will not start or a cluster that never elects a leader.
 */
export function clusterFileProblem(c: ClusterFile): string | undefined {
  const wholeIn = (v: unknown, min: number, max: number): boolean =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
  if (typeof c.name !== 'string' || c.name === '') return 'name must be a non-empty string'
  if (c.nodes.filter((n) => typeof n === 'object' && n !== null && !n.removed).length === 0) {
    return 'nodes must list at least one node that is not removed'
  }
  const ids = new Set<number>()
  const addrs = new Map<string, string>()
  for (const [i, n] of c.nodes.entries()) {
    const at = `nodes[${i}]`
    if (typeof n !== 'object' || n === null) return `${at} must be an object`
    if (!wholeIn(n.id, 1, 2 ** 31))
      return `${at}.id must be a whole number from 1, not ${JSON.stringify(n.id)}`
    if (ids.has(n.id)) return `${at}.id ${n.id} is used by another node`
    ids.add(n.id)
    if (typeof n.name !== 'string' || n.name === '') return `${at}.name must be a non-empty string`
    for (const field of ['peer', 'client'] as const) {
      const addr: unknown = n[field]
      const m = typeof addr === 'string' ? /^(.+):(\d+)$/.exec(addr) : null
      if (!m || !wholeIn(Number(m[2]), 1, 65_535)) {
        return `${at}.${field} ${JSON.stringify(addr)} is not host:port (such as 127.0.0.1:2379)`
      }
      const other = addrs.get(addr as string)
      if (other !== undefined) return `${at}.${field} ${addr as string} is also ${other}`
      addrs.set(addr as string, `${at}.${field}`)
    }
    if (typeof n.join !== 'boolean') return `${at}.join must be true or false`
    for (const flag of ['removed', 'hasRun'] as const) {
      if (n[flag] !== undefined && typeof n[flag] !== 'boolean') {
        return `${at}.${flag} must be true or false when present`
      }
    }
  }
  const t = c.timing as Partial<Timing> | undefined
  if (typeof t !== 'object' || t === null) return 'timing must be an object'
  const { tickMs, heartbeatTicks, electionTicks, snapshotCount, slowMotion } = TIMING_LIMITS
  if (!wholeIn(t.tickMs, tickMs.min, tickMs.max)) {
    return `timing.tickMs must be ${tickMs.min} to ${tickMs.max}, not ${JSON.stringify(t.tickMs)}`
  }
  if (!wholeIn(t.heartbeatTicks, heartbeatTicks.min, heartbeatTicks.max)) {
    return `timing.heartbeatTicks must be ${heartbeatTicks.min} to ${heartbeatTicks.max}, not ${JSON.stringify(t.heartbeatTicks)}`
  }
  if (
    !wholeIn(t.electionTicks, electionTicks.min, electionTicks.max) ||
    (t.electionTicks ?? 0) <= (t.heartbeatTicks ?? 0)
  ) {
    return `timing.electionTicks must be ${electionTicks.min} to ${electionTicks.max} and greater than timing.heartbeatTicks, not ${JSON.stringify(t.electionTicks)}`
  }
  // From 1, as a node accepts any positive count; only the API asks for at least 10.
  if (!wholeIn(c.snapshotCount, 1, snapshotCount.max)) {
    return `snapshotCount must be a whole number from 1, not ${JSON.stringify(c.snapshotCount)}`
  }
  if (
    c.slowMotion !== undefined &&
    !(
      typeof c.slowMotion === 'number' &&
      c.slowMotion >= slowMotion.min &&
      c.slowMotion <= slowMotion.max
    )
  ) {
    return `slowMotion must be ${slowMotion.min} to ${slowMotion.max} when present, not ${JSON.stringify(c.slowMotion)}`
  }
  if (c.running !== undefined) {
    if (!Array.isArray(c.running)) return 'running must be a list of node ids when present'
    const stray = c.running.find((id) => !ids.has(id))
    if (stray !== undefined) return `running lists ${JSON.stringify(stray)}, which is no node's id`
  }
  return undefined
}

/**
 * Creates the workspace directory (and its parents) if missing. A failure names the workspace
 * and the real cause: Node's recursive mkdir reports EEXIST for a file in the way and ENOENT
 * for a parent it could not create (on a read-only disk, say), so the first missing parent is
 * created on its own to learn why.
 */
export async function makeWorkspaceDir(workspace: string): Promise<void> {
  try {
    await mkdir(workspace, { recursive: true })
    return
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new Error(`workspace ${workspace} is not a directory (a file is in the way)`)
    }
    let missing = workspace
    while (dirname(missing) !== missing && !(await isDir(dirname(missing)))) {
      missing = dirname(missing)
    }
    const cause = await mkdir(missing).then(
      () => e as NodeJS.ErrnoException,
      (again: NodeJS.ErrnoException) => again,
    )
    throw new Error(
      `cannot create workspace ${workspace}: ${cause.code ?? cause.message} creating ${missing}`,
    )
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true
}

export async function writeClusterFile(workspace: string, c: ClusterFile): Promise<void> {
  await makeWorkspaceDir(workspace)
  await writeFileAtomic(clusterFilePath(workspace), JSON.stringify(c, null, 2) + '\n')
}

/** A file's text, or undefined when there is no such file; any other failure names the file. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`cannot read ${path}: ${(e as Error).message}`)
  }
}

/**
 * Writes a temporary file, syncs it and renames it over `path`: a reader never sees half
 * a file, and a crash never leaves one. `mode` (e.g. 0o600, owner only) is set on the temporary
 * file before anything is written to it, whatever the umask.
 */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const fh = await open(tmp, 'w', mode)
  try {
    if (mode !== undefined) await fh.chmod(mode)
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

/**
 * Where new nodes' ports come from: below the ranges operating systems hand out for outgoing
 * connections (Linux 32768-60999, macOS and Windows 49152-65535). A port from those ranges,
 * free when the cluster was made, can later be the local end of some connection just as its
 * node restarts, which then fails with "address in use".
 */
export const PORT_RANGE = { low: 20000, high: 32768 } as const

/**
 * `n` ports of PORT_RANGE that can be listened on right now, consecutive where they are free,
 * none of `avoid` (ports the cluster has given out already, whose nodes may be stopped). The
 * search starts at `from`, by default a random port (so clusters made side by side rarely try
 * the same ones), and wraps around the range.
 */
export async function freePorts(
  n: number,
  avoid: Iterable<number> = [],
  from?: number,
): Promise<number[]> {
  const skip = new Set(avoid)
  const span = PORT_RANGE.high - PORT_RANGE.low
  const start =
    from === undefined ? Math.floor(Math.random() * span) : (from - PORT_RANGE.low + span) % span
  const held: Server[] = []
  try {
    for (let i = 0; i < span && held.length < n; i++) {
      const port = PORT_RANGE.low + ((start + i) % span)
      if (skip.has(port)) continue
      const s = await listening(port)
      if (s) held.push(s)
    }
    if (held.length < n) {
      throw new Error(
        `found only ${held.length} of ${n} free ports on 127.0.0.1 between ${PORT_RANGE.low} and ${PORT_RANGE.high - 1}`,
      )
    }
    return held.map((s) => (s.address() as AddressInfo).port)
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))))
  }
}

/** A server listening on 127.0.0.1:`port`, or undefined when that port is taken. */
function listening(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(undefined))
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(s))
  })
}

/**
 * Why `base` cannot give n nodes their 2n ports (some would be past 65535), as the end of a
 * sentence that starts with the base port; undefined when it can.
 */
export function basePortsBeyond(base: number, n: number): string | undefined {
  const last = base + 2 * n - 1
  if (Number.isInteger(base) && base >= 1 && last <= 65_535) return undefined
  return (
    `gives ${n} node(s) the ports ${base}..${last}, beyond 65535; ` +
    `the highest base port for ${n} node(s) is ${65_536 - 2 * n}`
  )
}

/**
 * The 2n ports from `base` that --base-port gives a new cluster of n nodes, checked before the
 * cluster is written: all of them must exist and be free now, or the cluster would be saved
 * with ports its nodes cannot listen on.
 */
export async function basePorts(base: number, n: number): Promise<number[]> {
  const last = base + 2 * n - 1
  const beyond = basePortsBeyond(base, n)
  if (beyond !== undefined) throw new Error(`base port ${base} ${beyond}`)
  const ports = Array.from({ length: 2 * n }, (_, i) => base + i)
  const held: Server[] = []
  try {
    for (const port of ports) {
      const s = await listening(port)
      if (!s) {
        throw new Error(
          `port ${port} on 127.0.0.1 is in use, and base port ${base} gives ${n} node(s) the ` +
            `ports ${base}..${last}; choose another base port, or none for free ones`,
        )
      }
      held.push(s)
    }
    return ports
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))))
  }
}

export interface NewClusterOptions {
  readonly nodes: number
  readonly basePort?: number
  readonly name?: string
  readonly timing?: Partial<Timing>
  readonly snapshotCount?: number
  readonly slowMotion?: number
}

export async function newClusterFile(opts: NewClusterOptions): Promise<ClusterFile> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 7) {
    throw new Error(`a cluster has 1 to 7 nodes, not ${opts.nodes}`)
  }
  const ports =
    opts.basePort !== undefined
      ? await basePorts(opts.basePort, opts.nodes)
      : await freePorts(opts.nodes * 2)
  const nodes: NodeSpec[] = Array.from({ length: opts.nodes }, (_, i) => ({
    id: i + 1,
    name: `node-${i + 1}`,
    client: `127.0.0.1:${ports[2 * i]}`,
    peer: `127.0.0.1:${ports[2 * i + 1]}`,
    join: false,
  }))
  return {
    version: 1,
    name: opts.name ?? 'raftlab',
    nodes,
    timing: { ...DEFAULT_TIMING, ...opts.timing },
    snapshotCount: opts.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
    slowMotion: opts.slowMotion ?? 1,
    running: [],
  }
}

/**
 * What the live process `pid` named by a workspace's manager.lock or manager.json is, judged by
 * its command line, so that advice never says to kill a process that is not ours to kill:
 * - 'starting': `raftlab up` or `raftlab web`, which takes the lock seconds before it serves
 *   its API (on a loaded machine, while its nodes start);
 * - 'node': another Node.js or Electron program, which may hold the workspace in process;
 * - 'foreign': something else (the lock's owner died and its pid was reused);
 * - 'unknown': its command line cannot be read (no /proc, as on macOS).
 */
export type HolderKind = 'starting' | 'node' | 'foreign' | 'unknown'

export function holderKind(pid: number): HolderKind {
  const cmdline = processCommandLine(pid)
  if (cmdline === '') return 'unknown'
  if (/(cli\.js|raftlab)\s+(up|web)(\s|$)/.test(cmdline)) return 'starting'
  return /node|electron|raftlab/i.test(cmdline) ? 'node' : 'foreign'
}

/** The first words of process `pid`'s command line, to show in a message. */
export function commandOf(pid: number): string {
  const cmdline = processCommandLine(pid).trim()
  return cmdline.length > 60 ? `${cmdline.slice(0, 57)}...` : cmdline
}

/** The advice for a lock whose live owner `pid` is not a RaftLab manager. */
export function staleLockAdvice(workspace: string, pid: number): string {
  return (
    `${join(workspace, 'manager.lock')} names process ${pid}, which is not a RaftLab manager ` +
    `(it runs \`${commandOf(pid)}\`): a manager that crashed left the lock and its pid was ` +
    `reused. If no RaftLab manager runs on this workspace, delete ${join(workspace, 'manager.lock')}`
  )
}

/** Workspaces this process holds: its own pid in a lock file does not make the lock stale. */
const heldHere = new Set<string>()

/**
 * Takes the workspace lock: a file holding the owner's pid, created exclusively. A lock whose
 * owner is no longer running is stale and taken over, so a crashed manager never locks a
 * workspace for good.
 */
export async function lockWorkspace(workspace: string): Promise<() => Promise<void>> {
  const key = resolve(workspace)
  if (heldHere.has(key)) {
    throw new Error(
      `workspace ${workspace} is in use by another RaftLab manager in this process (pid ${process.pid}); close it first`,
    )
  }
  // Reserved before the first await, so two opens in one process cannot both pass.
  heldHere.add(key)
  try {
    return await takeLockFile(workspace, key)
  } catch (e) {
    heldHere.delete(key)
    throw e
  }
}

async function takeLockFile(workspace: string, key: string): Promise<() => Promise<void>> {
  await makeWorkspaceDir(workspace)
  const lock = await takePidLock(join(workspace, 'manager.lock'), {
    busy: (owner) =>
      new Error(
        holderKind(owner) === 'foreign'
          ? `${staleLockAdvice(workspace, owner)} and try again`
          : `workspace ${workspace} is in use by another RaftLab manager (pid ${owner}); stop it first`,
      ),
  })
  return async () => {
    heldHere.delete(key)
    await lock.release()
  }
}
