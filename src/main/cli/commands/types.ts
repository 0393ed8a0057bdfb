// What every command is: a name, its help, the flags it accepts, and a function that returns
// the exit code.

import type { ClusterApi } from '../../../shared/api'
import type { FlagSpec, Flags } from '../args'
import { requireManager } from '../connect'

export interface Context {
  readonly command: string
  /** Positional arguments after the command name. */
  readonly args: readonly string[]
  readonly flags: Flags
  /** Absolute path of the workspace. */
  readonly workspace: string
  /** --json: one JSON document on stdout and nothing else. */
  readonly json: boolean
  /** The raw arguments after the command name (for commands that parse their own). */
  readonly argv: readonly string[]
  /** out/main, where cli.js and node.js are built (out/renderer is beside it). */
  readonly programDir: string
}

export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The arguments, as `raftlab <name> <usage>`. */
  readonly usage: string
  /** More help: what the flags mean. */
  readonly details?: string
  readonly flags: FlagSpec
  /** Parses its own arguments (raftlab chaos). */
  readonly ownArgs?: boolean
  run(ctx: Context): Promise<number>
}

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** Runs `work` against the workspace's running manager; refuses clearly when none runs. */
export async function onManager(
  ctx: Context,
  work: (api: ClusterApi) => Promise<number>,
): Promise<number> {
  const api = await requireManager(ctx.workspace, ctx.command)
  try {
    return await work(api)
  } finally {
    api.close()
  }
}
