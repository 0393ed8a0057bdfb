// How a command reaches the cluster of a workspace: through the manager that holds it (found by
// its manager.json), over the same WebSocket API the browser uses.

import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { WebSocket } from 'ws'
import { DEFAULT_WORKSPACE } from '../cluster/workspace'
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
    super(
      holder !== undefined
        ? `workspace ${workspace} is held by process ${holder}, which serves no API that ` +
            `\`raftlab ${command}\` can use; stop it, then run \`raftlab up --workspace ${workspace}\`.`
        : `no cluster manager is running for workspace ${workspace}, so \`raftlab ${command}\` ` +
            `cannot reach the cluster.\nStart one in another terminal with ` +
            `\`raftlab up --workspace ${workspace}\` (or \`raftlab web --workspace ${workspace}\`).`,
    )
    this.name = 'NoManagerError'
  }
}

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
  const api = await connectManager(workspace)
  if (!api) throw new NoManagerError(workspace, command, await lockHolder(workspace))
  return api
}
