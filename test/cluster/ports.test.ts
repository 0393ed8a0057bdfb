// Ports for new nodes: free, distinct, below the operating systems' ranges for outgoing
// connections, and never one the cluster gave out already.

import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { freePorts, newClusterFile, PORT_RANGE } from '../../src/main/cluster/workspace'

const servers: Server[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => {
      servers.push(s)
      resolve(s)
    })
  })
}

const inRange = (p: number): boolean => p >= PORT_RANGE.low && p < PORT_RANGE.high

describe('freePorts', () => {
  it('gives distinct ports below 32768 that can be listened on', async () => {
    const ports = await freePorts(6)
    expect(new Set(ports).size).toBe(6)
    expect(ports.every(inRange)).toBe(true)
    for (const p of ports) await listen(p) // throws if taken
  })

  it('passes over ports in use and ports it is told to avoid', async () => {
    // Find a run of ports, then take the first and forbid the second: a search starting
    // at the first gives neither.
    const [a, b] = (await freePorts(2)) as [number, number]
    await listen(a)
    const got = await freePorts(4, [b], a)
    expect(got).toHaveLength(4)
    expect(got).not.toContain(a)
    expect(got).not.toContain(b)
    // Without the rules it would have started right there.
    expect((await freePorts(1, [], b))[0]).toBe(b)
  })

  it('gives a new cluster its ports from that range, two per node', async () => {
    const file = await newClusterFile({ nodes: 3 })
    const ports = file.nodes.flatMap((n) => [n.client, n.peer].map((x) => Number(x.split(':')[1])))
    expect(new Set(ports).size).toBe(6)
    expect(ports.every(inRange)).toBe(true)
  })
})
