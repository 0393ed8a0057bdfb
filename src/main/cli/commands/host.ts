// The commands that own a workspace: `up` (a cluster in the foreground) and `web` (the same,
// with the GUI served to a browser). Both serve the API and write manager.json, so that other
// `raftlab` commands reach them.

import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClusterStatus, CreateClusterInput } from '../../../shared/api'
import type { ClusterService } from '../../cluster/service'
import { hostWorkspace, type WorkspaceHost } from '../../server/host'
import { UsageError } from '../args'
import { print, printTable, warn } from '../output'
import type { Command, Context } from './types'

const LEADER_TIMEOUT_MS = 15_000

/** Set once a signal asked the host to stop: the node exits that follow are expected. */
let stopping = false

async function waitForLeader(service: ClusterService, timeoutMs: number): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await service.status()
    if (s.leader !== null) return s
    if (Date.now() > deadline) {
      throw new Error(
        `no leader was elected within ${timeoutMs / 1000} s; \`raftlab status\` and the nodes' ` +
          `logs in ${join(s.workspace, 'nodes')} say why`,
      )
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

function createInput(ctx: Context, nodes: number): CreateClusterInput {
  const basePort = ctx.flags.int('base-port', 1, 65_535)
  const tickMs = ctx.flags.int('tick-ms', 1, 10_000)
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
  await mkdir(ctx.workspace, { recursive: true })
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
    const { service, host } = await openHosted(
      ctx,
      'cli',
      async (s) => {
        const before = await s.status()
        if (!before.exists) {
          await s.createCluster(createInput(ctx, nodes))
        } else {
          if (ctx.flags.has('nodes') && before.nodes.length !== nodes) {
            warn(
              `workspace ${ctx.workspace} already holds a cluster of ${before.nodes.length} node(s); --nodes is ignored`,
            )
          }
          await s.startAll()
        }
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
  usage: '[--port P] [--nodes N] [--tick-ms MS]',
  details: [
    'Prints a URL with a token made for this run: only a browser given that URL gets in.',
    '--nodes N   create a cluster of N nodes if the workspace has none (otherwise the GUI',
    '            offers to create one)',
    '--port P    the port to serve on (default: any free one)',
    '--json      one JSON line {"url", "port", "workspace"} once serving',
  ].join('\n'),
  flags: { port: 'int', nodes: 'int', 'base-port': 'int', 'tick-ms': 'int' },
  run: async (ctx) => {
    if (ctx.args.length > 0) throw new UsageError('raftlab web takes only flags')
    const nodes = ctx.flags.int('nodes', 1, 7)
    const port = ctx.flags.int('port', 1, 65_535)
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
        if (nodes !== undefined && !(await s.status()).exists) {
          await s.createCluster(createInput(ctx, nodes))
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
