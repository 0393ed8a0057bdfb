// manager.json: how commands find the manager of a workspace, and why a crashed one's file
// does not fool them.

import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  findManager,
  managerFilePath,
  removeManagerFile,
  writeManagerFile,
} from '../../src/main/server/managerfile'

let workspace: string

beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'raftlab-managerfile-'))
})

afterEach(async () => {
  await rm(workspace, { recursive: true, force: true })
})

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', ''])
  if (!r.pid) throw new Error('could not run node')
  return r.pid
}

describe('manager.json', () => {
  it('is written readable by its owner only and found while its process lives', async () => {
    const info = { pid: process.pid, port: 4321, token: 'secret-token' }
    await writeManagerFile(workspace, info)
    expect((await stat(managerFilePath(workspace))).mode & 0o777).toBe(0o600)
    expect(await findManager(workspace)).toEqual(info)
  })

  it('names no manager when there is no file or its process is gone', async () => {
    expect(await findManager(workspace)).toBeUndefined()
    await writeManagerFile(workspace, { pid: deadPid(), port: 4321, token: 't' })
    expect(await findManager(workspace)).toBeUndefined()
  })

  it('is removed only by the manager that wrote it', async () => {
    await writeManagerFile(workspace, { pid: process.pid, port: 1, token: 'newer' })
    await removeManagerFile(workspace, 'older')
    expect(await findManager(workspace)).toMatchObject({ token: 'newer' })
    await removeManagerFile(workspace, 'newer')
    expect(await findManager(workspace)).toBeUndefined()
  })

  it('reports a file that is not a manager file, naming it', async () => {
    await writeFile(managerFilePath(workspace), '{"pid": "x"}')
    await expect(findManager(workspace)).rejects.toThrow(
      `${managerFilePath(workspace)} is not a RaftLab manager file`,
    )
    await writeFile(managerFilePath(workspace), '{torn')
    await expect(findManager(workspace)).rejects.toThrow(/is not valid JSON/)
  })
})
