// Looking at the cluster: status, events, timing.

import { TIMING_LIMITS as L } from '../../../shared/defaults'
import {
  clusterEventKinds,
  eventMatches,
  type ClusterEvent,
  type ClusterEventKind,
  type ClusterStatus,
  type EventQuery,
  type TimingInput,
} from '../../../shared/api'
import { nodeIdArg, UsageError } from '../args'
import { connectManager, lockHolder } from '../connect'
import { offlineStatus } from '../offline'
import { print, printJson, printTable, warn, type Cell } from '../output'
import { EXIT_OK, onManager, type Command } from './types'

export const NODE_HEADERS = [
  'ID',
  'NAME',
  'PROCESS',
  'PID',
  'ROLE',
  'TERM',
  'LEADER',
  'COMMIT',
  'APPLIED',
  'LAST',
  'MEMBER',
  'CLIENT',
  'PEER',
]

export function nodeRows(s: ClusterStatus): Cell[][] {
  return s.nodes.map((n) => [
    n.id,
    n.name,
    n.process,
    n.pid,
    n.raft?.role,
    n.raft?.term,
    n.raft ? n.raft.leader || null : null,
    n.raft?.commit,
    n.raft?.applied,
    n.raft?.lastIndex,
    n.member,
    n.client,
    n.peer,
  ])
}

function faultsLine(s: ClusterStatus): string | null {
  const parts: string[] = []
  const f = s.faults
  if (f.partitions.length > 0) {
    parts.push(`partitioned ${f.partitions.map((g) => `{${g.join(',')}}`).join(' ')}`)
  }
  if (f.paused.length > 0) parts.push(`paused ${f.paused.join(',')}`)
  for (const l of f.links) {
    const what = [
      l.blocked ? 'blocked' : '',
      l.drop > 0 ? `drop ${l.drop}` : '',
      l.delayMs > 0 ? `delay ${l.delayMs} ms` : '',
    ].filter((x) => x !== '')
    if (what.length > 0) parts.push(`${l.from}→${l.to} ${what.join(' ')}`)
  }
  return parts.length > 0 ? parts.join('; ') : null
}

export function printStatus(s: ClusterStatus): void {
  if (!s.exists) {
    print(`workspace ${s.workspace} holds no cluster yet; \`raftlab up\` creates one`)
    return
  }
  const leader = s.leader !== null ? `node ${s.leader}` : 'none'
  print(`cluster "${s.name}" in ${s.workspace}: leader ${leader}, term ${s.term}`)
  print()
  printTable(NODE_HEADERS, nodeRows(s))
  print()
  const t = s.timing
  print(
    `timing:  tick ${t.tickMs} ms × ${t.slowMotion}, election ${t.electionTicks} ticks, ` +
      `heartbeat ${t.heartbeatTicks} ticks, snapshot every ${t.snapshotCount} entries`,
  )
  print(`faults:  ${faultsLine(s) ?? 'none'}`)
  if (s.pendingChange !== null) print(`pending: ${s.pendingChange}`)
}

function eventKindArg(kind: string): ClusterEventKind {
  const known = clusterEventKinds.find((k) => k === kind)
  if (!known) {
    throw new UsageError(`--kind: no event kind "${kind}"; kinds: ${clusterEventKinds.join(', ')}`)
  }
  return known
}

function printEvent(e: ClusterEvent): void {
  const at = new Date(e.at).toISOString().slice(11, 23)
  print(`${String(e.seq).padStart(6)}  ${at}  ${e.kind.padEnd(17)}  ${e.message}`)
}

export const statusCommands: readonly Command[] = [
  {
    name: 'status',
    summary: 'show the cluster: nodes, roles, terms, indexes, faults, timing',
    usage: '',
    details:
      'Without a running manager, shows the cluster as cluster.json describes it (every node stopped).',
    flags: {},
    run: async (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab status takes no arguments')
      const api = await connectManager(ctx.workspace)
      let status: ClusterStatus
      if (api) {
        try {
          status = await api.status()
        } finally {
          api.close()
        }
      } else {
        status = await offlineStatus(ctx.workspace)
        const holder = await lockHolder(ctx.workspace)
        warn(
          holder !== undefined
            ? `process ${holder} holds ${ctx.workspace} but serves no API: showing cluster.json only`
            : `no cluster manager is running for ${ctx.workspace}: no node is running`,
        )
      }
      if (ctx.json) printJson(status)
      else printStatus(status)
      return EXIT_OK
    },
  },
  {
    name: 'events',
    summary: 'show the event timeline (elections, exits, faults, ...)',
    usage: '[--after SEQ] [--before SEQ] [--limit N] [--node N] [--kind K,K] [--text T] [--follow]',
    details:
      'Prints the newest events that match (--limit, default 1000), oldest first; --before SEQ\n' +
      'pages back through older ones. --text keeps events whose message contains T (any case).\n' +
      '--follow keeps printing new events until Ctrl-C (with --json: one JSON line each).\n' +
      `Kinds: ${clusterEventKinds.join(', ')}.`,
    flags: {
      after: 'int',
      before: 'int',
      limit: 'int',
      node: 'string',
      kind: 'string',
      text: 'string',
      follow: 'bool',
    },
    run: (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab events takes no arguments')
      const node = ctx.flags.string('node')
      const kinds = ctx.flags.list('kind')?.map(eventKindArg)
      const text = ctx.flags.string('text')
      const q: EventQuery = {
        ...(ctx.flags.has('after') ? { after: ctx.flags.int('after', 0) } : {}),
        ...(ctx.flags.has('before') ? { before: ctx.flags.int('before', 1) } : {}),
        ...(ctx.flags.has('limit') ? { limit: ctx.flags.int('limit', 1, 10_000) } : {}),
        ...(node !== undefined ? { node: nodeIdArg(node, '--node') } : {}),
        ...(kinds ? { kinds } : {}),
        ...(text !== undefined ? { text } : {}),
      }
      return onManager(ctx, async (api) => {
        const follow = ctx.flags.bool('follow')
        const past = await api.events(q)
        // A node no event mentions and the cluster does not have is a typo, not an empty list
        // (with --follow it may be one about to be added).
        if (q.node !== undefined && past.length === 0 && !follow) {
          const [counts, status] = await Promise.all([api.eventCounts({}), api.status()])
          const known = [...new Set([...counts.nodes, ...status.nodes.map((n) => n.id)])]
          if (!known.includes(q.node)) {
            throw new UsageError(
              `--node ${q.node}: no such node in this cluster or its history (nodes: ${known.sort((a, b) => a - b).join(', ') || 'none'})`,
            )
          }
        }
        if (!follow) {
          if (ctx.json) printJson(past)
          else past.forEach(printEvent)
          return EXIT_OK
        }
        const show = (e: ClusterEvent): void => {
          if (ctx.json) process.stdout.write(JSON.stringify(e) + '\n')
          else printEvent(e)
        }
        past.forEach(show)
        let last = past.at(-1)?.seq ?? q.after ?? 0
        api.on('event', (e) => {
          if (e.seq <= last || !eventMatches(e, q)) return
          last = e.seq
          show(e)
        })
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve())
          process.once('SIGTERM', () => resolve())
        })
        return EXIT_OK
      })
    },
  },
  {
    name: 'timing',
    summary: 'show or change the timing (tick, election, heartbeat, snapshots, slow motion)',
    usage:
      '[--tick-ms N] [--election-ticks N] [--heartbeat-ticks N] [--snapshot-count N] [--slow-motion X]',
    details:
      'Without flags, shows the timing. --slow-motion 20 makes an election take seconds; 1 is real time.',
    flags: {
      'tick-ms': 'int',
      'election-ticks': 'int',
      'heartbeat-ticks': 'int',
      'snapshot-count': 'int',
      'slow-motion': 'number',
    },
    run: (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab timing takes no arguments')
      const f = ctx.flags
      const t: TimingInput = {
        // The bounds of the API's timing schema, checked here so that a bad value is wrong usage.
        ...(f.has('tick-ms') ? { tickMs: f.int('tick-ms', L.tickMs.min, L.tickMs.max) } : {}),
        ...(f.has('election-ticks')
          ? { electionTicks: f.int('election-ticks', L.electionTicks.min, L.electionTicks.max) }
          : {}),
        ...(f.has('heartbeat-ticks')
          ? { heartbeatTicks: f.int('heartbeat-ticks', L.heartbeatTicks.min, L.heartbeatTicks.max) }
          : {}),
        ...(f.has('snapshot-count')
          ? { snapshotCount: f.int('snapshot-count', L.snapshotCount.min, L.snapshotCount.max) }
          : {}),
        ...(f.has('slow-motion')
          ? { slowMotion: f.number('slow-motion', L.slowMotion.min, L.slowMotion.max) }
          : {}),
      }
      if (
        t.electionTicks !== undefined &&
        t.heartbeatTicks !== undefined &&
        t.electionTicks <= t.heartbeatTicks
      ) {
        throw new UsageError(
          `--election-ticks ${t.electionTicks} must be greater than --heartbeat-ticks ${t.heartbeatTicks}`,
        )
      }
      return onManager(ctx, async (api) => {
        const view =
          Object.keys(t).length > 0 ? await api.setTiming(t) : (await api.status()).timing
        if (ctx.json) printJson(view)
        else {
          printTable(
            ['TICK MS', 'SLOW MOTION', 'ELECTION TICKS', 'HEARTBEAT TICKS', 'SNAPSHOT COUNT'],
            [
              [
                view.tickMs,
                view.slowMotion,
                view.electionTicks,
                view.heartbeatTicks,
                view.snapshotCount,
              ],
            ],
          )
        }
        return EXIT_OK
      })
    },
  },
]
