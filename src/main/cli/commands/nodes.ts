// Supervision and membership: start, stop, kill, pause, resume, restart, add, remove, promote,
// transfer.

import type { ApiMethodName, ClusterApi, NodeView } from '../../../shared/api'
import { nodeIdArg, UsageError } from '../args'
import { print, printJson, printTable } from '../output'
import { withProgress } from '../progress'
import { nodeRows, NODE_HEADERS } from './status'
import { EXIT_OK, onManager, type Command, type Context } from './types'

type NodeMethod = 'killNode' | 'pauseNode' | 'resumeNode' | 'restartNode' | 'promoteNode'

function describeNode(n: NodeView): string {
  const pid = n.pid !== null ? ` (pid ${n.pid})` : ''
  const exit =
    n.process === 'stopped' && n.lastExit
      ? `, exit ${n.lastExit.signal ?? `code ${n.lastExit.code ?? '?'}`}`
      : ''
  const member = n.member ? `, ${n.member}` : ''
  return `node ${n.id}: ${n.process}${pid}${exit}${member}`
}

function onNode(
  ctx: Context,
  call: (api: ClusterApi, id: number) => Promise<NodeView>,
): Promise<number> {
  if (ctx.args.length > 1) throw new UsageError(`raftlab ${ctx.command} takes one NODE`)
  const id = nodeIdArg(ctx.args[0])
  return onManager(ctx, async (api) => {
    const view = await call(api, id)
    if (ctx.json) printJson(view)
    else print(describeNode(view))
    return EXIT_OK
  })
}

function nodeCommand(name: string, method: NodeMethod, summary: string): Command {
  return {
    name,
    summary,
    usage: 'NODE',
    flags: {},
    run: (ctx) => onNode(ctx, (api, id) => api[method](id)),
  }
}

/** start/stop with a NODE act on it, without one on every node. */
function allOrOne(
  name: string,
  one: Extract<ApiMethodName, 'startNode' | 'stopNode'>,
  all: Extract<ApiMethodName, 'startAll' | 'stopAll'>,
  summary: string,
): Command {
  return {
    name,
    summary,
    usage: '[NODE]',
    details: `Without NODE, every node of the cluster.`,
    flags: {},
    run: (ctx) => {
      if (ctx.args.length > 0) return onNode(ctx, (api, id) => api[one](id))
      return onManager(ctx, async (api) => {
        const status = await api[all]()
        if (ctx.json) printJson(status)
        else printTable(NODE_HEADERS, nodeRows(status))
        return EXIT_OK
      })
    },
  }
}

export const nodeCommands: readonly Command[] = [
  allOrOne('start', 'startNode', 'startAll', 'start a stopped node (or every node)'),
  allOrOne(
    'stop',
    'stopNode',
    'stopAll',
    'stop a node gracefully, a leader handing over first (or every node)',
  ),
  nodeCommand('kill', 'killNode', 'kill a node process with SIGKILL'),
  nodeCommand('pause', 'pauseNode', 'freeze a node process with SIGSTOP'),
  nodeCommand('resume', 'resumeNode', 'wake a paused node with SIGCONT'),
  nodeCommand('restart', 'restartNode', 'stop a node and start it again'),
  nodeCommand('promote', 'promoteNode', 'promote a learner to voter'),
  {
    name: 'add',
    summary: 'add a node: started as a learner, caught up, then promoted',
    usage: '',
    flags: {},
    run: (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab add takes no arguments')
      return onManager(ctx, async (api) => {
        const view = await withProgress(api, () => api.addNode())
        if (ctx.json) printJson(view)
        else print(`added ${describeNode(view)}, client ${view.client}, peer ${view.peer}`)
        return EXIT_OK
      })
    },
  },
  {
    name: 'remove',
    summary: 'remove a node from the membership (the leader too) and stop it',
    usage: 'NODE',
    flags: {},
    run: (ctx) => {
      const id = nodeIdArg(ctx.args[0])
      if (ctx.args.length > 1) throw new UsageError('raftlab remove takes one NODE')
      return onManager(ctx, async (api) => {
        const status = await withProgress(api, () => api.removeNode(id))
        if (ctx.json) printJson(status)
        else {
          print(`node ${id} removed`)
          printTable(NODE_HEADERS, nodeRows(status))
        }
        return EXIT_OK
      })
    },
  },
  {
    name: 'transfer',
    summary: 'transfer leadership to a node',
    usage: 'NODE',
    flags: {},
    run: (ctx) => {
      const id = nodeIdArg(ctx.args[0])
      if (ctx.args.length > 1) throw new UsageError('raftlab transfer takes one NODE')
      return onManager(ctx, async (api) => {
        const status = await api.transferLeadership(id)
        if (ctx.json) printJson(status)
        else print(`leader: node ${status.leader ?? 'none'} (term ${status.term})`)
        return EXIT_OK
      })
    },
  },
]
