// The commands that own a workspace: `up` (a cluster in the foreground) and `web` (the same,
// with the GUI served to a browser). Both serve the API and write manager.json, so that other
// `raftlab` commands reach them.

import { TIMING_LIMITS } from '../../../shared/defaults'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { ClusterStatus, CreateClusterInput } from '../../../shared/api'
import type { ClusterService } from '../../cluster/service'
import { basePortsBeyond, makeWorkspaceDir } from '../../cluster/workspace'
import { hostWorkspace, type WorkspaceHost } from '../../server/host'
import { UsageError } from '../args'
import { print, printTable, warn } from '../output'
import type { Command, Context } from './types'

const LEADER_TIMEOUT_MS = 15_000

/** Set once a signal asked the host to stop: the node exits that follow are expected. */
let stopping = false

async function waitForLeader(
  service: ClusterService,
  timeoutMs: number,
  hint = (s: ClusterStatus) =>
    `\`raftlab status\` and the nodes' logs in ${join(s.workspace, 'nodes')} say why`,
): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await service.status()
    if (s.leader !== null) return s
    if (Date.now() > deadline) {
      throw new Error(`no leader was elected within ${timeoutMs / 1000} s; ${hint(s)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** --base-port and --tick-ms, checked before anything is written. */
function newClusterFlags(ctx: Context, nodes: number): { basePort?: number; tickMs?: number } {
  const basePort = ctx.flags.int('base-port', 1, 65_535)
  const tickMs = ctx.flags.int('tick-ms', TIMING_LIMITS.tickMs.min, TIMING_LIMITS.tickMs.max)
  const beyond = basePort === undefined ? undefined : basePortsBeyond(basePort, nodes)
  if (beyond !== undefined) throw new UsageError(`--base-port ${basePort} ${beyond}`)
  return {
    ...(basePort !== undefined ? { basePort } : {}),
    ...(tickMs !== undefined ? { tickMs } : {}),
  }
}

function createInput(ctx: Context, nodes: number): CreateClusterInput {
  const { basePort, tickMs } = newClusterFlags(ctx, nodes)
  return {
    nodes,
    ...(basePort !== undefined ? { basePort } : {}),
    ...(tickMs !== undefined ? { timing: { tickMs } } : {}),
    start: true,
  }
}

/**
 * Runs until SIGINT or SIGTERM, then closes the server (removing manager.json) and stops the
 * nodes gracefully. Never resolves: the process exits from the handler.
 */
function serveUntilSignal(
  ctx: Context,
  service: ClusterService,
  host: WorkspaceHost,
): Promise<number> {
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    if (!ctx.json) warn(`\n${why}: stopping every node...`)
    void host
      .close()
      .catch(() => {})
      .then(() => service.close())
      .catch((e: unknown) => warn(`raftlab: ${(e as Error).message}`))
      .finally(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('interrupted'))
  process.on('SIGTERM', () => stop('terminated'))
  process.on('SIGHUP', () => stop('hung up'))
  return new Promise(() => {})
}

/** Opens the workspace's service; on failure nothing is left running. */
async function openHosted(
  ctx: Context,
  kind: 'cli' | 'browser',
  prepare: (service: ClusterService) => Promise<void>,
  serve: (service: ClusterService) => Promise<WorkspaceHost>,
): Promise<{ service: ClusterService; host: WorkspaceHost }> {
  await makeWorkspaceDir(ctx.workspace)
  // Loaded only here: the engine pulls in the etcd client and gRPC, which take seconds to load
  // on a busy machine, and most commands never need them.
  const { ClusterService } = await import('../../cluster/service')
  const service = await ClusterService.open({
    workspace: ctx.workspace,
    nodeEntry: join(ctx.programDir, 'node.js'),
    host: kind,
  })
  let host: WorkspaceHost | undefined
  try {
    // Served before the cluster is up, so that other commands can watch it come up.
    host = await serve(service)
    await prepare(service)
    return { service, host }
  } catch (e) {
    await host?.close().catch(() => {})
    await service.close()
    throw e
  }
}

/** Node exits and errors on stderr while a host runs in the foreground. */
function reportTrouble(ctx: Context, service: ClusterService): void {
  if (ctx.json) return
  service.on('event', (e) => {
    if (!stopping && (e.kind === 'nodeExited' || e.kind === 'error'))
      warn(`${e.kind}: ${e.message}`)
  })
}

/**
 * Creates the cluster and waits for its first leader. A cluster that never got one is deleted
 * again: kept, its cluster.json would pin the next `up` to the ports or timing that failed,
 * and that `up`'s --base-port and --tick-ms would not apply.
 */
async function createAndElect(
  ctx: Context,
  service: ClusterService,
  input: CreateClusterInput,
): Promise<void> {
  try {
    // Started here rather than by createCluster, which would wait for a leader of its own.
    await service.createCluster({ ...input, start: false })
    await service.startAll()
    // The nodes' logs go with the cluster below: events.ndjson, which stays, is where to look.
    await waitForLeader(
      service,
      LEADER_TIMEOUT_MS,
      () => `${join(ctx.workspace, 'events.ndjson')} says what the nodes did`,
    )
  } catch (e) {
    // Refused before anything was written (a base port in use, say): nothing to undo.
    if (!(await service.status()).exists) throw e
    const kept = await service
      .destroyCluster()
      .then(() => false)
      .catch(() => true)
    throw new Error(
      `${(e as Error).message}\n` +
        (kept
          ? `The new cluster could not be removed: delete ${join(ctx.workspace, 'cluster.json')} and ${join(ctx.workspace, 'nodes')} before trying again.`
          : `The new cluster was not kept (its cluster.json and nodes' data are removed): the next \`raftlab ${ctx.command}\` creates it again from its flags.`),
    )
  }
}

/** The flags that shape a new cluster do nothing to the one a workspace holds: say so. */
function warnIgnoredFlags(ctx: Context, has: number, nodes: number): void {
  const ignored = [
    ...(ctx.flags.has('nodes') && has !== nodes ? ['--nodes'] : []),
    ...(ctx.flags.has('base-port') ? ['--base-port'] : []),
    ...(ctx.flags.has('tick-ms') ? ['--tick-ms'] : []),
  ]
  if (ignored.length === 0) return
  warn(
    `workspace ${ctx.workspace} already holds a cluster of ${has} node(s), whose ports and timing ` +
      `are in ${join(ctx.workspace, 'cluster.json')}; ${ignored.join(', ')} apply only to a new ` +
      `cluster and are ignored (\`raftlab timing\` changes the timing; to start over, delete ` +
      `cluster.json and nodes/ in the workspace)`,
  )
}

const up: Command = {
  name: 'up',
  summary: 'run a cluster in the foreground (creating it on first use)',
  usage: '[--nodes N] [--base-port P] [--tick-ms MS] [--port P]',
  details: [
    'A new workspace gets a cluster of N nodes (default 3); an existing one starts its nodes.',
    'Ctrl-C stops every node cleanly. While it runs, other raftlab commands on the same',
    'workspace go through it.',
    '--base-port P  client port of node 1; node i uses P+2(i-1) (client) and P+2(i-1)+1 (peer);',
    '               without it, free ports between 20000 and 32767 (below the ports the OS',
    '               gives to outgoing connections, so a restarting node finds its ports free)',
    '--tick-ms MS   milliseconds per Raft tick of a new cluster',
    '--port P       the port of the manager API (default: any free one)',
    '--json         one JSON line with the nodes once a leader is elected',
  ].join('\n'),
  flags: { nodes: 'int', 'base-port': 'int', 'tick-ms': 'int', port: 'int' },
  run: async (ctx) => {
    if (ctx.args.length > 0) throw new UsageError('raftlab up takes only flags')
    const nodes = ctx.flags.int('nodes', 1, 7) ?? 3
    const port = ctx.flags.int('port', 1, 65_535)
    const input = createInput(ctx, nodes)
    const { service, host } = await openHosted(
      ctx,
      'cli',
      async (s) => {
        const before = await s.status()
        if (!before.exists) {
          await createAndElect(ctx, s, input)
          return
        }
        warnIgnoredFlags(ctx, before.nodes.length, nodes)
        await s.startAll()
        await waitForLeader(s, LEADER_TIMEOUT_MS)
      },
      (s) =>
        hostWorkspace({
          api: s,
          workspace: ctx.workspace,
          ...(port !== undefined ? { port } : {}),
        }),
    )
    reportTrouble(ctx, service)
    const status = await service.status()
    const running = status.nodes.filter((n) => n.pid !== null)
    if (ctx.json) {
      process.stdout.write(
        JSON.stringify({
          workspace: ctx.workspace,
          nodes: running.map((n) => ({ id: n.id, pid: n.pid, client: n.client, peer: n.peer })),
        }) + '\n',
      )
    } else {
      print(`RaftLab cluster "${status.name}" in ${ctx.workspace}`)
      print()
      printTable(
        ['ID', 'PID', 'ROLE', 'CLIENT', 'PEER'],
        running.map((n) => [n.id, n.pid, n.raft?.role, n.client, n.peer]),
      )
      print()
      print(`try: etcdctl --endpoints=${running.map((n) => n.client).join(',')} put hello world`)
      print(`or, in another terminal: raftlab status --workspace ${ctx.workspace}`)
      print('Ctrl-C stops the cluster.')
    }
    return serveUntilSignal(ctx, service, host)
  },
}

const web: Command = {
  name: 'web',
  summary: 'serve the GUI to a browser on 127.0.0.1 (browser mode)',
  usage: '[--port P] [--nodes N] [--base-port P] [--tick-ms MS]',
  details: [
    'Prints a URL with a token made for this run: only a browser given that URL gets in.',
    '--nodes N      create a cluster of N nodes if the workspace has none (otherwise the GUI',
    '               offers to create one)',
    '--base-port P  with --nodes: client port of node 1, as for `raftlab up`',
    '--tick-ms MS   with --nodes: milliseconds per Raft tick of the new cluster',
    '--port P       the port to serve on (default: any free one)',
    '--json         one JSON line {"url", "port", "workspace"} once serving',
  ].join('\n'),
  flags: { port: 'int', nodes: 'int', 'base-port': 'int', 'tick-ms': 'int' },
  run: async (ctx) => {
    if (ctx.args.length > 0) throw new UsageError('raftlab web takes only flags')
    const nodes = ctx.flags.int('nodes', 1, 7)
    const port = ctx.flags.int('port', 1, 65_535)
    if (nodes === undefined && (ctx.flags.has('base-port') || ctx.flags.has('tick-ms'))) {
      throw new UsageError('--base-port and --tick-ms shape a new cluster: give --nodes N too')
    }
    const input = nodes !== undefined ? createInput(ctx, nodes) : undefined
    const dir = join(ctx.programDir, '..', 'renderer')
    if (!existsSync(join(dir, 'index.html'))) {
      throw new Error(
        `the GUI is not built (${join(dir, 'index.html')} is missing); run \`npm run build\``,
      )
    }
    const { service, host } = await openHosted(
      ctx,
      'browser',
      async (s) => {
        const before = await s.status()
        if (input !== undefined && !before.exists) {
          await createAndElect(ctx, s, input)
        } else if (before.exists) {
          warnIgnoredFlags(ctx, before.nodes.length, nodes ?? before.nodes.length)
        }
      },
      (s) =>
        hostWorkspace({
          api: s,
          workspace: ctx.workspace,
          rendererDir: dir,
          ...(port !== undefined ? { port } : {}),
        }),
    )
    reportTrouble(ctx, service)
    const { url } = host.server
    if (ctx.json) {
      process.stdout.write(
        JSON.stringify({ url, port: host.server.port, workspace: ctx.workspace }) + '\n',
      )
    } else {
      print(`RaftLab is serving workspace ${ctx.workspace}. Open:`)
      print()
      print(`  ${url}`)
      print()
      print(
        'The token in the URL is the password of this run. Ctrl-C stops the server and the nodes.',
      )
    }
    return serveUntilSignal(ctx, service, host)
  },
}

export const hostCommands: readonly Command[] = [up, web]
