// How a command reaches the cluster of a workspace: through the manager that holds it (found by
// its manager.json), over the same WebSocket API the browser uses.

import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { WebSocket } from 'ws'
import { DEFAULT_WORKSPACE, holderKind, staleLockAdvice } from '../cluster/workspace'
import { API_PATH } from '../server/server'
import { findManager } from '../server/managerfile'
import { connectWire, type WireClient } from '../../shared/wireclient'
import type { Flags } from './args'

const CONNECT_TIMEOUT_MS = 15_000

/** --workspace, else $RAFTLAB_WORKSPACE, else ~/.raftlab. */
export function workspaceOf(flags: Flags): string {
  const dir = flags.string('workspace') ?? process.env.RAFTLAB_WORKSPACE ?? DEFAULT_WORKSPACE
  return resolve(dir)
}

/**
 * The live process holding the workspace lock without serving the API (a program that opened
 * the engine in process), or undefined.
 */
export async function lockHolder(workspace: string): Promise<number | undefined> {
  const text = await readFile(join(workspace, 'manager.lock'), 'utf8').catch(() => '')
  const pid = Number(text.trim())
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

/** The command needs a running manager and there is none. */
export class NoManagerError extends Error {
  constructor(workspace: string, command: string, holder?: number) {
    const up = `\`raftlab up --workspace ${workspace}\``
    const messages = {
      none:
        `no cluster manager is running for workspace ${workspace}, so \`raftlab ${command}\` ` +
        `cannot reach the cluster.\nStart one in another terminal with ${up} ` +
        `(or \`raftlab web --workspace ${workspace}\`).`,
      starting:
        `workspace ${workspace} is held by a RaftLab manager (process ${holder}) that did not ` +
        `serve its API within ${STARTING_WAIT_MS / 1000} s: it is probably still starting its ` +
        `nodes. Try again once it has printed them.`,
      node:
        `workspace ${workspace} is held by process ${holder}, which serves no API that ` +
        `\`raftlab ${command}\` can use (a program that opened the workspace itself, or a ` +
        `manager still starting). Once it has let go of the workspace, run ${up}.`,
      foreign: `${staleLockAdvice(workspace, holder ?? 0)}, then run ${up}.`,
    }
    super(messages[holder === undefined ? 'none' : kindOf(holder)])
    this.name = 'NoManagerError'
  }
}

function kindOf(pid: number): 'starting' | 'node' | 'foreign' {
  const kind = holderKind(pid)
  return kind === 'unknown' ? 'node' : kind
}

/** How long a command waits for a manager that holds the workspace but is still starting. */
const STARTING_WAIT_MS = 10_000

/** The API of the workspace's running manager, or undefined when none runs. */
export async function connectManager(workspace: string): Promise<WireClient | undefined> {
  const info = await findManager(workspace)
  if (!info) return undefined
  const ws = new WebSocket(`ws://127.0.0.1:${info.port}${API_PATH}`, {
    headers: { authorization: `Bearer ${info.token}` },
    handshakeTimeout: CONNECT_TIMEOUT_MS,
  })
  try {
    return await connectWire(ws, `the RaftLab manager (pid ${info.pid}) on port ${info.port}`)
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\nThe manager of workspace ${workspace} does not answer; ` +
        `if it hangs, stop it (kill ${info.pid}) and start it again with \`raftlab up\`.`,
    )
  }
}

/** Like connectManager, but a missing manager is an error that says how to start one. */
export async function requireManager(workspace: string, command: string): Promise<WireClient> {
  const deadline = Date.now() + STARTING_WAIT_MS
  for (;;) {
    const api = await connectManager(workspace)
    if (api) return api
    // `raftlab up` takes the lock seconds before it serves its API: wait for it, a while.
    const holder = await lockHolder(workspace)
    if (holder === undefined || holderKind(holder) !== 'starting' || Date.now() > deadline) {
      throw new NoManagerError(workspace, command, holder)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
