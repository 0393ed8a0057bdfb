// Faults: partition, isolate, link, heal.

import type { FaultsView } from '../../../shared/api'
import { nodeIdArg, nodeListArg, UsageError } from '../args'
import { print, printJson } from '../output'
import { EXIT_OK, onManager, type Command, type Context } from './types'

export function describeFaults(f: FaultsView): string {
  const lines: string[] = []
  if (f.partitions.length > 0) {
    lines.push(`partitions: ${f.partitions.map((g) => `{${g.join(',')}}`).join(' ')}`)
  }
  for (const l of f.links) {
    const parts = [
      l.blocked ? 'blocked' : '',
      l.drop > 0 ? `drop ${l.drop}` : '',
      l.delayMs > 0 ? `delay ${l.delayMs} ms` : '',
    ].filter((x) => x !== '')
    if (parts.length > 0) lines.push(`link ${l.from}→${l.to}: ${parts.join(', ')}`)
  }
  if (f.paused.length > 0) lines.push(`paused: ${f.paused.join(', ')}`)
  return lines.length > 0 ? lines.join('\n') : 'no faults: the network is whole'
}

function showFaults(ctx: Context, f: FaultsView): number {
  if (ctx.json) printJson(f)
  else print(describeFaults(f))
  return EXIT_OK
}

export const faultCommands: readonly Command[] = [
  {
    name: 'partition',
    summary: 'split the cluster into groups that cannot reach each other',
    usage: 'GROUP [GROUP...]',
    details:
      'Each GROUP is a comma-separated list of node ids: `raftlab partition 1,2 3`.\n' +
      'Nodes not listed form one more group.',
    flags: {},
    run: (ctx) => {
      if (ctx.args.length === 0)
        throw new UsageError('raftlab partition needs at least one GROUP, such as 1,2')
      const groups = ctx.args.map((g) => nodeListArg(g, 'GROUP'))
      return onManager(ctx, async (api) => showFaults(ctx, await api.partition(groups)))
    },
  },
  {
    name: 'isolate',
    summary: 'cut one node off from all the others',
    usage: 'NODE',
    flags: {},
    run: (ctx) => {
      const id = nodeIdArg(ctx.args[0])
      if (ctx.args.length > 1) throw new UsageError('raftlab isolate takes one NODE')
      return onManager(ctx, async (api) => showFaults(ctx, await api.isolate(id)))
    },
  },
  {
    name: 'link',
    summary: 'set delay and drop on the link between two nodes',
    usage: 'FROM TO [--drop P] [--delay MS] [--one-way]',
    details:
      '--drop P      probability 0..1 that a message is dropped\n' +
      '--delay MS    delay of every message\n' +
      '--one-way     only FROM → TO (default: both directions)\n' +
      'Without --drop and --delay the link is cleared.',
    flags: { drop: 'number', delay: 'int', 'one-way': 'bool' },
    run: (ctx) => {
      const from = nodeIdArg(ctx.args[0], 'FROM')
      const to = nodeIdArg(ctx.args[1], 'TO')
      if (ctx.args.length > 2) throw new UsageError('raftlab link takes FROM and TO')
      const drop = ctx.flags.number('drop', 0, 1) ?? 0
      const delayMs = ctx.flags.int('delay', 0, 60_000) ?? 0
      return onManager(ctx, async (api) =>
        showFaults(
          ctx,
          await api.setLinkFault({ from, to, drop, delayMs, both: !ctx.flags.bool('one-way') }),
        ),
      )
    },
  },
  {
    name: 'heal',
    summary: 'remove every partition and link fault, and resume paused nodes',
    usage: '',
    flags: {},
    run: (ctx) => {
      if (ctx.args.length > 0) throw new UsageError('raftlab heal takes no arguments')
      return onManager(ctx, async (api) => showFaults(ctx, await api.heal()))
    },
  },
]
