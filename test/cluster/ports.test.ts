// Ports for new nodes: free, distinct, below the operating systems' ranges for outgoing
// connections, and never one the cluster gave out already.

import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { basePorts, freePorts, newClusterFile, PORT_RANGE } from '../../src/main/cluster/workspace'

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

describe('basePorts', () => {
  it('refuses a base port whose range runs past 65535, naming the highest that fits', async () => {
    await expect(newClusterFile({ nodes: 3, basePort: 65_535 })).rejects.toThrow(
      'base port 65535 gives 3 node(s) the ports 65535..65540, beyond 65535; the highest base port for 3 node(s) is 65530',
    )
  })

  it('refuses a base port whose range holds a port in use, naming that port', async () => {
    const [base = 0] = await freePorts(1)
    await listen(base + 3)
    await expect(basePorts(base, 2)).rejects.toThrow(
      `port ${base + 3} on 127.0.0.1 is in use, and base port ${base} gives 2 node(s) the ports ${base}..${base + 3}`,
    )
  })

  it('gives 2n consecutive ports from the base when they are free', async () => {
    const [base = 0] = await freePorts(1)
    const file = await newClusterFile({ nodes: 2, basePort: base })
    expect(file.nodes.map((n) => [n.client, n.peer])).toEqual([
      [`127.0.0.1:${base}`, `127.0.0.1:${base + 1}`],
      [`127.0.0.1:${base + 2}`, `127.0.0.1:${base + 3}`],
    ])
  })
})
