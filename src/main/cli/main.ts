#!/usr/bin/env node
// The `raftlab` command. `raftlab up` runs a cluster of real node processes in the foreground.

import { resolve } from 'node:path'
import { ClusterManager } from '../cluster/manager'
import { DEFAULT_WORKSPACE } from '../cluster/workspace'

const HELP = `usage: raftlab <command> [options]

commands:
  up [--nodes N] [--workspace DIR] [--base-port P] [--json]
      start a cluster (a new one: N nodes, default 3; an existing workspace: its nodes)
      in the foreground; Ctrl-C stops every node cleanly.

options:
  --workspace DIR   where cluster.json and the nodes' data live (default ~/.raftlab)
  --base-port P     client port of node 1; node i uses P+2(i-1) (client) and P+2(i-1)+1 (peer)
  --json            print one JSON line with the nodes once a leader is elected
`

interface Args {
  readonly command: string | undefined
  readonly flags: Map<string, string | true>
}

function parse(argv: readonly string[]): Args {
  const flags = new Map<string, string | true>()
  let command: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (a.startsWith('--')) {
      const next = argv[i + 1]
      if (next !== undefined && !next.startsWith('--') && a !== '--json' && a !== '--help') {
        flags.set(a.slice(2), next)
        i++
      } else {
        flags.set(a.slice(2), true)
      }
    } else if (command === undefined) {
      command = a
    } else {
      throw new Error(`unexpected argument "${a}"`)
    }
  }
  return { command, flags }
}

function intFlag(flags: Map<string, string | true>, name: string): number | undefined {
  const v = flags.get(name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (v === true || !Number.isInteger(n)) throw new Error(`--${name} needs a whole number`)
  return n
}

async function up(flags: Map<string, string | true>): Promise<number> {
  const json = flags.has('json')
  const workspaceFlag = flags.get('workspace')
  if (workspaceFlag === true) throw new Error('--workspace needs a directory')
  const workspace = resolve(typeof workspaceFlag === 'string' ? workspaceFlag : DEFAULT_WORKSPACE)
  const nodes = intFlag(flags, 'nodes') ?? 3
  const basePort = intFlag(flags, 'base-port')
  const manager = await ClusterManager.open(
    { workspace },
    { nodes, ...(basePort !== undefined ? { basePort } : {}) },
  )
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    if (!json) process.stderr.write(`\n${why}: stopping every node...\n`)
    void manager.close().finally(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('interrupted'))
  process.on('SIGTERM', () => stop('terminated'))
  manager.onExit = (e) => {
    if (!stopping && !json) {
      process.stderr.write(
        `node ${e.id} exited (code ${e.code}, signal ${e.signal})\n${e.lastLines.slice(-5).join('\n')}\n`,
      )
    }
  }
  try {
    await manager.startAll()
    await manager.waitForLeader(15_000)
  } catch (e) {
    await manager.close()
    throw e
  }
  const info = manager.nodes()
  if (json) {
    process.stdout.write(
      JSON.stringify({
        workspace,
        nodes: info.map((n) => ({ id: n.id, pid: n.pid, client: n.client, peer: n.peer })),
      }) + '\n',
    )
  } else {
    process.stdout.write(`RaftLab cluster "${manager.clusterFile.name}" in ${workspace}\n\n`)
    process.stdout.write('  ID  PID      ROLE       CLIENT               PEER\n')
    for (const n of info) {
      process.stdout.write(
        `  ${String(n.id).padEnd(3)} ${String(n.pid ?? '-').padEnd(8)} ${(n.state?.role ?? '-').padEnd(10)} ${n.client.padEnd(20)} ${n.peer}\n`,
      )
    }
    process.stdout.write(
      `\ntry: etcdctl --endpoints=${info.map((n) => n.client).join(',')} put hello world\nCtrl-C stops the cluster.\n`,
    )
  }
  return new Promise(() => {}) // runs until a signal
}

async function main(): Promise<void> {
  const { command, flags } = parse(process.argv.slice(2))
  if (!command || flags.has('help') || command === 'help') {
    process.stdout.write(HELP)
    process.exit(command || flags.has('help') ? 0 : 2)
  }
  switch (command) {
    case 'up':
      await up(flags)
      break
    default:
      throw new Error(`unknown command "${command}"\n\n${HELP}`)
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`raftlab: ${(e as Error).message}\n`)
  process.exit(1)
})
