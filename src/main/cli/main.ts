#!/usr/bin/env node
// The `raftlab` command: finds the command, parses its arguments and turns the outcome into an
// exit code (0 ok, 1 the operation failed, 2 wrong usage).

import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgv, UsageError } from './args'
import { findCommand } from './commands/index'
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from './commands/types'
import { workspaceOf } from './connect'
import { commandHelp, mainHelp } from './help'

// Resolved here, in the entry itself: shared code may be bundled into out/main/chunks/, where
// its own import.meta.url would point one folder too deep.
const programDir = dirname(fileURLToPath(import.meta.url))

function fail(code: number, message: string, json: boolean): number {
  process.stderr.write(`raftlab: ${message}\n`)
  if (json) process.stdout.write(JSON.stringify({ error: message, exitCode: code }) + '\n')
  return code
}

async function run(argv: readonly string[]): Promise<number> {
  const name = argv[0]
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const about = argv[1] !== undefined ? findCommand(argv[1]) : undefined
    process.stdout.write(about ? commandHelp(about) : mainHelp())
    return name === undefined ? EXIT_USAGE : EXIT_OK
  }
  const json = argv.includes('--json')
  const command: Command | undefined = findCommand(name)
  if (!command) {
    return fail(
      EXIT_USAGE,
      `unknown command "${name}"; \`raftlab --help\` lists the commands`,
      json,
    )
  }
  const rest = argv.slice(1)
  if (command.ownArgs) {
    return command.run({
      command: name,
      args: [],
      flags: parseArgv([], {}, name).flags,
      workspace: '',
      json,
      argv: rest,
      programDir,
    })
  }
  try {
    const { positionals, flags } = parseArgv(rest, command.flags, name)
    if (flags.bool('help')) {
      process.stdout.write(commandHelp(command))
      return EXIT_OK
    }
    return await command.run({
      command: name,
      args: positionals,
      flags,
      workspace: workspaceOf(flags),
      json: flags.bool('json'),
      argv: rest,
      programDir,
    })
  } catch (e) {
    if (e instanceof UsageError) {
      return fail(
        EXIT_USAGE,
        `${e.message}\nusage: raftlab ${name} ${command.usage}\n(see raftlab ${name} --help)`,
        json,
      )
    }
    return fail(EXIT_FAILED, (e as Error).message, json)
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`raftlab: ${(e as Error).stack ?? String(e)}\n`)
    process.exit(EXIT_FAILED)
  },
)
