// Every `raftlab` command, in the order the help lists them.

import { faultCommands } from './faults'
import { hostCommands } from './host'
import { keyCommands } from './keys'
import { logCommands } from './logs'
import { nodeCommands } from './nodes'
import { statusCommands } from './status'
import type { Command } from './types'

const chaos: Command = {
  name: 'chaos',
  summary: 'run a seeded chaos test and check linearizability (see raftlab chaos --help)',
  usage: '[options]',
  flags: {},
  ownArgs: true,
  // Loaded on use: the chaos runner brings the etcd client with it.
  run: async (ctx) => (await import('../chaos')).chaosCommand(ctx.argv),
}

export const commands: readonly Command[] = [
  ...hostCommands,
  ...statusCommands,
  ...keyCommands,
  ...nodeCommands,
  ...faultCommands,
  ...logCommands,
  chaos,
]

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name)
}
