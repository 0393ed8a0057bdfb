// The bridge in front of the real engine: a ClusterService on real node processes, served over
// WebSocket. What a client reads over the wire must be what the service answers in process, and
// the cluster's events must reach the client.

import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { ClusterService } from '../../src/main/cluster/service'
import { startServer, type ApiServer } from '../../src/main/server/server'
import type { ClusterEvent, ClusterStatus } from '../../src/shared/api'
import { connectWire, type WireClient } from '../../src/shared/wireclient'
import { NODE_ENTRY, TEST_TIMING, eventually, tempWorkspace } from '../support/cluster'

let workspace: string
let service: ClusterService | undefined
let server: ApiServer | undefined
let client: WireClient | undefined

beforeAll(async () => {
  workspace = await tempWorkspace()
  service = await ClusterService.open({ workspace, nodeEntry: NODE_ENTRY, host: 'browser' })
  await service.createCluster({ nodes: 3, timing: TEST_TIMING })
  server = await startServer({ api: service })
  const ws = new WebSocket(server.wsUrl, { headers: { authorization: `Bearer ${server.token}` } })
  client = await connectWire(ws)
  await eventually(async () => expect((await service?.status())?.leader).not.toBeNull(), 15_000)
}, 60_000)

afterAll(async () => {
  client?.close()
  await server?.close()
  await service?.close()
  await rm(workspace, { recursive: true, force: true })
}, 30_000)

function api(): { wire: WireClient; local: ClusterService } {
  if (!client || !service) throw new Error('the cluster did not start')
  return { wire: client, local: service }
}

/** Both sides read the same state; a heartbeat or election in between means: read again. */
async function same<T>(read: (a: WireClient | ClusterService) => Promise<T>): Promise<T> {
  const { wire, local } = api()
  return eventually(async () => {
    const [w, l] = [await read(wire), await read(local)]
    expect(w).toEqual(l)
    return w
  })
}

describe('the bridge over a real cluster', () => {
  it('answers status, keys, logs and events as the service does in process', async () => {
    const { wire } = api()
    expect(await wire.appInfo()).toEqual({ ...(await api().local.appInfo()) })
    const put = await wire.putKey({ key: '/bridge/a', value: 'one' })
    expect(put.ok).toBe(true)
    await api().local.putKey({ key: '/bridge/b', value: 'two' })

    const status = await same((a) => a.status())
    expect(status.nodes).toHaveLength(3)
    const keys = await same((a) => a.listKeys({ prefix: '/bridge/' }))
    expect(keys.keys.map((k) => k.key)).toEqual(['/bridge/a', '/bridge/b'])
    const detail = await same((a) => a.getKey('/bridge/a'))
    expect(detail.kv?.modRevision).toBe(put.revision)
    const leader = status.leader ?? 1
    const log = await same((a) => a.readLog({ node: leader, key: '/bridge/', prefix: true }))
    expect(log.entries.map((e) => e.keys)).toEqual([['/bridge/a'], ['/bridge/b']])
    await same((a) => a.compareLogs({ nodes: [1, 2, 3] }))
    await same((a) => a.events({ kinds: ['clusterCreated'] }))
    await same((a) => a.exportKeys({ prefix: '/bridge/' }))
  })

  it('sends back the service errors with their messages', async () => {
    const { wire, local } = api()
    const message = await local.killNode(99).then(
      () => 'resolved',
      (e: Error) => e.message,
    )
    await expect(wire.killNode(99)).rejects.toThrow(message)
  })

  it('pushes the cluster events and status to the client', async () => {
    const { wire } = api()
    const events: ClusterEvent[] = []
    const statuses: ClusterStatus[] = []
    const offE = wire.on('event', (e) => events.push(e))
    const offS = wire.on('status', (s) => statuses.push(s))
    try {
      const s = await wire.status()
      const follower = s.nodes.find((n) => n.id !== s.leader)?.id ?? 1
      await wire.pauseNode(follower)
      await wire.resumeNode(follower)
      await eventually(() => {
        expect(events.map((e) => [e.kind, e.node])).toEqual(
          expect.arrayContaining([
            ['nodePaused', follower],
            ['nodeResumed', follower],
          ]),
        )
        expect(statuses.length).toBeGreaterThan(0)
        return Promise.resolve()
      })
      const seqs = events.map((e) => e.seq)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    } finally {
      offE()
      offS()
    }
  })
})
