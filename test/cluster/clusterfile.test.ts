// cluster.json is checked when it is read: a hand-edited file that no cluster could run from is
// refused with an error naming the file and the field, before any node is started.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  clusterFilePath,
  newClusterFile,
  readClusterFile,
  type ClusterFile,
} from '../../src/main/cluster/workspace'

let workspace: string
let good: ClusterFile

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'raftlab-clusterfile-'))
  good = await newClusterFile({ nodes: 3 })
})

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true })
})

async function readWith(c: unknown): Promise<ClusterFile | undefined> {
  await writeFile(clusterFilePath(workspace), JSON.stringify(c))
  return readClusterFile(workspace)
}

describe('readClusterFile', () => {
  it('accepts the file a new cluster writes', async () => {
    expect(await readWith(good)).toEqual(good)
  })

  it('refuses nonsense, naming cluster.json and the field', async () => {
    const node = (i: number, change: Record<string, unknown>): unknown[] =>
      good.nodes.map((n, j) => (j === i ? { ...n, ...change } : n))
    const cases: [unknown, RegExp][] = [
      [{ ...good, nodes: node(1, { id: 1 }) }, /nodes\[1\]\.id 1 is used by another node/],
      [{ ...good, nodes: node(0, { id: 0 }) }, /nodes\[0\]\.id must be a whole number from 1/],
      [
        { ...good, timing: { ...good.timing, tickMs: -5 } },
        /timing\.tickMs must be 1 to 10000, not -5/,
      ],
      [
        { ...good, timing: { ...good.timing, electionTicks: 2, heartbeatTicks: 2 } },
        /timing\.electionTicks must be 2 to 1000 and greater than timing\.heartbeatTicks/,
      ],
      [{ ...good, nodes: [] }, /nodes must list at least one node/],
      [
        { ...good, nodes: node(0, { client: 'nohost' }) },
        /nodes\[0\]\.client "nohost" is not host:port/,
      ],
      [
        { ...good, nodes: node(2, { peer: '127.0.0.1:65540' }) },
        /nodes\[2\]\.peer "127\.0\.0\.1:65540" is not host:port/,
      ],
      [
        { ...good, nodes: node(1, { client: good.nodes[0]?.client }) },
        new RegExp(`nodes\\[1\\]\\.client ${good.nodes[0]?.client} is also nodes\\[0\\]\\.client`),
      ],
      [{ ...good, snapshotCount: 0 }, /snapshotCount must be a whole number from 1/],
      [{ ...good, running: [9] }, /running lists 9, which is no node's id/],
    ]
    for (const [c, message] of cases) {
      const read = readWith(c)
      await expect(read).rejects.toThrow(message)
      await expect(read).rejects.toThrow(`${clusterFilePath(workspace)}: `)
    }
  })
})
