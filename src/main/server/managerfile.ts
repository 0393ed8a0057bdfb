// <workspace>/manager.json: how `raftlab` commands in other terminals find the manager that owns
// a workspace (`raftlab up`, `raftlab web`, the desktop app). It holds the API server's port and
// token, so it is readable by its owner only, and it is removed when that manager exits. A file
// left by a manager that crashed names a pid that is gone (or reused by a process that is no
// manager), and is ignored.

import { readFileSync, unlinkSync } from 'node:fs'
import { readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { holderKind, readIfExists, writeFileAtomic } from '../cluster/workspace'
import { processAlive } from '../node/pidlock'

export interface ManagerInfo {
  readonly pid: number
  readonly port: number
  readonly token: string
}

const managerInfoSchema = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65_535),
  token: z.string().min(1),
})

export function managerFilePath(workspace: string): string {
  return join(workspace, 'manager.json')
}

/** Owner-only: the file holds the API token. */
export async function writeManagerFile(workspace: string, info: ManagerInfo): Promise<void> {
  await writeFileAtomic(managerFilePath(workspace), JSON.stringify(info) + '\n', 0o600)
}

function owns(text: string, token: string): boolean {
  try {
    return (JSON.parse(text) as { token?: unknown }).token === token
  } catch {
    return false
  }
}

/** Removes the file if it is still ours (a newer manager may have replaced it). */
export async function removeManagerFile(workspace: string, token: string): Promise<void> {
  const path = managerFilePath(workspace)
  const text = await readFile(path, 'utf8').catch(() => '')
  if (owns(text, token)) await unlink(path).catch(() => {})
}

/** The same, for process 'exit' handlers, where nothing asynchronous runs any more. */
export function removeManagerFileSync(workspace: string, token: string): void {
  const path = managerFilePath(workspace)
  try {
    if (owns(readFileSync(path, 'utf8'), token)) unlinkSync(path)
  } catch {
    // Already gone.
  }
}

/**
 * The manager that holds the workspace now, or undefined when none runs (no file, or a file a
 * dead process left). A file that is not what a manager writes is an error naming it.
 */
export async function findManager(workspace: string): Promise<ManagerInfo | undefined> {
  const path = managerFilePath(workspace)
  const text = await readIfExists(path)
  if (text === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // A manager writes the file by rename, so a torn file is someone else's: say so.
    throw new Error(`${path} is not valid JSON; remove it if no RaftLab manager is running`)
  }
  const r = managerInfoSchema.safeParse(parsed)
  if (!r.success) {
    throw new Error(`${path} is not a RaftLab manager file; remove it if no manager is running`)
  }
  // Its pid may have been reused by now, by a process that is not a manager at all.
  return processAlive(r.data.pid) && holderKind(r.data.pid) !== 'foreign' ? r.data : undefined
}
