// The help texts: the command list, and one page per command.

import { commands } from './commands/index'
import type { Command } from './commands/types'

const GLOBAL_OPTIONS = `global options:
  --workspace DIR   the workspace (default $RAFTLAB_WORKSPACE, else ~/.raftlab)
  --json            print one JSON document on stdout, for scripts
  --help            help on a command

exit codes: 0 ok, 1 the operation failed, 2 wrong usage`

export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')
  return `usage: raftlab <command> [arguments] [options]

A cluster runs under one manager: \`raftlab up\` (or \`raftlab web\`) in one terminal, the other
commands in another.

commands:
${list}

${GLOBAL_OPTIONS}
\`raftlab <command> --help\` explains a command.
`
}

export function commandHelp(c: Command): string {
  const details = c.details ? `\n${c.details}\n` : ''
  return `usage: raftlab ${c.name}${c.usage ? ` ${c.usage}` : ''}

${c.summary}
${details}
${GLOBAL_OPTIONS}
`
}
