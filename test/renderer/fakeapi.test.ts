// @vitest-environment happy-dom
// The fake ClusterApi is what every component test stands on: it must keep the contract's
// promises (validation, elections, CAS, paging, logs) or the views' tests prove nothing.

import { describe, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/shared/api'
import { createFakeApi } from './support/fakeapi'

describe('fake ClusterApi', () => {
  it('starts with a leader and re-elects when the leader is killed', async () => {
    const api = createFakeApi({ nodes: 3 })
    const before = await api.status()
    expect(before.leader).not.toBeNull()
    const old = before.leader as number
    const pushes: ClusterStatus[] = []
    api.on('status', (s) => pushes.push(s))
    await api.killNode(old)
    const after = await api.status()
    expect(after.leader).not.toBeNull()
    expect(after.leader).not.toBe(old)
    expect(after.term).toBeGreaterThan(before.term)
    expect(after.nodes.find((n) => n.id === old)?.process).toBe('stopped')
    expect(pushes.at(-1)?.leader).toBe(after.leader)
  })

  it('loses the leader when no partition group holds a majority', async () => {
    const api = createFakeApi({ nodes: 3 })
    await api.partition([[1], [2], [3]])
    const s = await api.status()
    expect(s.leader).toBeNull()
    expect(s.faults.partitions).toEqual([[1], [2], [3]])
    await api.heal()
    expect((await api.status()).leader).not.toBeNull()
  })

  it('isolating a follower keeps the leader and makes the follower a pre-candidate', async () => {
    const api = createFakeApi({ nodes: 3 })
    const { leader } = await api.status()
    const follower = [1, 2, 3].find((id) => id !== leader) as number
    const faults = await api.isolate(follower)
    expect(faults.partitions).toContainEqual([follower])
    const s = await api.status()
    expect(s.leader).toBe(leader)
    expect(s.nodes.find((n) => n.id === follower)?.raft?.role).toBe('preCandidate')
  })

  it('validates arguments with the contract’s schemas', async () => {
    const api = createFakeApi()
    await expect(api.createCluster({ nodes: 9, replace: true })).rejects.toThrow(/nodes/)
    await expect(api.killNode(42)).rejects.toThrow(/node 42 is not in cluster/)
  })

  it('refuses a stale compare-and-swap and pages keys in order', async () => {
    const api = createFakeApi({ keys: { '/b': '2', '/a': '1', '/c': '3' } })
    const a = await api.getKey('/a')
    const rev = a.kv?.modRevision as number
    expect((await api.putKey({ key: '/a', value: 'x', expectModRevision: rev })).ok).toBe(true)
    const stale = await api.putKey({ key: '/a', value: 'y', expectModRevision: rev })
    expect(stale.ok).toBe(false)
    expect(stale.current?.modRevision).toBeGreaterThan(rev)
    const p1 = await api.listKeys({ prefix: '/', limit: 2 })
    expect(p1.keys.map((k) => k.key)).toEqual(['/a', '/b'])
    expect(p1.count).toBe(3)
    const p2 = await api.listKeys({ prefix: '/', limit: 2, after: p1.cursor ?? '' })
    expect(p2.keys.map((k) => k.key)).toEqual(['/c'])
    expect(p2.cursor).toBeNull()
  })

  it('replicates writes into every reachable node’s log', async () => {
    const api = createFakeApi()
    await api.putKey({ key: 'k', value: 'v' })
    const page = await api.readLog({ node: 2, key: 'k' })
    expect(page.entries).toHaveLength(1)
    expect(page.entries[0]?.summary).toContain('put k')
    expect(page.entries[0]?.committed).toBe(true)
  })

  it('keeps the event timeline in order and filters it', async () => {
    const api = createFakeApi()
    await api.pauseNode(3)
    const all = await api.events({})
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b))
    const paused = await api.events({ kinds: ['nodePaused'] })
    expect(paused).toHaveLength(1)
    expect(paused[0]?.node).toBe(3)
  })
})
