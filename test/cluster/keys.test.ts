// KeyStore against a real three-node cluster: every call goes through the etcd3 client and the
// nodes' gRPC API, as the Keys view's calls do.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyStore, prefixRange, type KeyChange } from '../../src/main/cluster/keys'
import { base64ToBytes, bytesToBase64, type KeyView } from '../../src/shared/api'
import { eventually, removeWorkspace, startCluster, type TestCluster } from '../support/cluster'
import { startEtcd, type RealEtcd } from '../support/etcd'

let cluster: TestCluster
let store: KeyStore

const text = (b64: string): string => Buffer.from(b64, 'base64').toString()

beforeAll(async () => {
  cluster = await startCluster()
  store = new KeyStore(() => cluster.endpoints())
}, 60_000)

afterAll(async () => {
  await store?.close()
  await cluster?.close()
  if (cluster) await removeWorkspace(cluster.workspace)
})

describe('KeyStore', () => {
  it('pages a prefix in key order with a cursor and counts every match', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => ({
      key: `page/${String(i).padStart(3, '0')}`,
      value: `v${i}`,
    }))
    await store.importKeys({ keys: [...keys, { key: 'pagf', value: 'outside' }] })

    const seen: string[] = []
    let after: string | undefined
    let pages = 0
    for (;;) {
      const page = await store.list({ prefix: 'page/', limit: 100, ...(after ? { after } : {}) })
      expect(page.count).toBe(250)
      seen.push(...page.keys.map((k) => k.key))
      pages++
      if (page.cursor === null) break
      after = page.cursor
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(keys.map((k) => k.key))
    const first = await store.list({ prefix: 'page/', limit: 1 })
    expect(first.keys[0]).toMatchObject({ key: 'page/000', size: 2 })
    expect(text(first.keys[0]?.value ?? '')).toBe('v0')
    const keysOnly = await store.list({ prefix: 'page/', limit: 5, keysOnly: true })
    expect(keysOnly.keys.map((k) => k.value)).toEqual(['', '', '', '', ''])
  })

  it('refuses a stale compare-and-swap and shows what is there', async () => {
    const a = await store.put({ key: 'cas/a', value: 'one' })
    expect(a.ok).toBe(true)
    expect(a.current).toMatchObject({ key: 'cas/a', version: 1, modRevision: a.revision })
    const b = await store.put({ key: 'cas/a', value: 'two', expectModRevision: a.revision })
    expect(b.ok).toBe(true)
    expect(b.current).toMatchObject({ version: 2, createRevision: a.revision })

    const stale = await store.put({ key: 'cas/a', value: 'three', expectModRevision: a.revision })
    expect(stale.ok).toBe(false)
    expect(stale.current?.modRevision).toBe(b.revision)
    expect(text(stale.current?.value ?? '')).toBe('two')

    const notAbsent = await store.put({ key: 'cas/a', value: 'x', expectModRevision: 0 })
    expect(notAbsent.ok).toBe(false)
    const absent = await store.put({ key: 'cas/new', value: 'x', expectModRevision: 0 })
    expect(absent.ok).toBe(true)

    const staleDelete = await store.delete({ key: 'cas/a', expectModRevision: a.revision })
    expect(staleDelete).toMatchObject({ ok: false, deleted: 0 })
    const del = await store.delete({ key: 'cas/a', expectModRevision: b.revision })
    expect(del).toMatchObject({ ok: true, deleted: 1 })
    expect((await store.get('cas/a')).kv).toBeNull()
  })

  it('deletes by prefix and leaves other keys alone', async () => {
    for (const k of ['del/a', 'del/b', 'del/c/d', 'dem']) await store.put({ key: k, value: k })
    const r = await store.delete({ key: 'del/', prefix: true })
    expect(r).toMatchObject({ ok: true, deleted: 3 })
    expect((await store.list({ prefix: 'del/' })).count).toBe(0)
    expect((await store.get('dem')).kv?.key).toBe('dem')
    const single = await store.delete({ key: 'dem' })
    expect(single.deleted).toBe(1)
  })

  it('attaches a new lease for a ttl and reports its remaining time', async () => {
    const r = await store.put({ key: 'ttl/a', value: 'x', ttl: 60 })
    const d = await store.get('ttl/a')
    expect(d.kv?.lease).not.toBe(0)
    expect(d.kv?.lease).toBe(r.current?.lease)
    expect(d.leaseTtl).toBeGreaterThan(0)
    expect(d.leaseTtl).toBeLessThanOrEqual(60)
    expect((await store.get('page/001')).leaseTtl).toBeNull()
  })

  it('shows a key history newest first, deletes included, back to the compaction point', async () => {
    const v1 = await store.put({ key: 'hist/k', value: 'v1' })
    const v2 = await store.put({ key: 'hist/k', value: 'v2' })
    const del = await store.delete({ key: 'hist/k' })
    const v3 = await store.put({ key: 'hist/k', value: 'v3' })
    const d = await store.get('hist/k')
    expect(d.kv?.modRevision).toBe(v3.revision)
    expect(d.compactRevision).toBe(0)
    expect(d.history.map((h) => [h.modRevision, h.value === null ? null : text(h.value)])).toEqual([
      [v3.revision, 'v3'],
      [del.revision, null],
      [v2.revision, 'v2'],
      [v1.revision, 'v1'],
    ])
    expect(d.history[0]?.version).toBe(1)

    // Compacting at v2's revision keeps v2 as the state then, but its event is history no more.
    await cluster.all().kv.compact({ revision: v2.revision })
    const after = await store.get('hist/k')
    expect(after.compactRevision).toBe(v2.revision)
    expect(after.history.map((h) => h.modRevision)).toEqual([v3.revision, del.revision])

    const gone = await store.get('hist/never')
    expect(gone).toMatchObject({ kv: null, history: [], leaseTtl: null })
  })

  it('exports and imports keys as JSON, text as text and binary as base64', async () => {
    const binary = new Uint8Array([0, 255, 128, 10, 13])
    await store.put({ key: 'dump/text', value: 'héllo\nworld' })
    await store.put({ key: 'dump/bin', value: bytesToBase64(binary), base64: true })
    await store.put({ key: 'dump/json', value: '{"a":[1,2]}' })
    const dump = await store.exportKeys('dump/')
    expect(dump.keys).toEqual([
      { key: 'dump/bin', value: bytesToBase64(binary), base64: true },
      { key: 'dump/json', value: '{"a":[1,2]}' },
      { key: 'dump/text', value: 'héllo\nworld' },
    ])

    await store.delete({ key: 'dump/', prefix: true })
    const progress: number[] = []
    const imported = await store.importKeys(
      { keys: dump.keys.map((k) => ({ ...k, key: k.key.replace('dump/', 'copy/') })) },
      (p) => progress.push(p.done),
    )
    expect(imported.keys).toBe(3)
    expect(progress.at(-1)).toBe(3)
    const copy = await store.exportKeys('copy/')
    expect(copy.keys.map((k) => ({ ...k, key: k.key.replace('copy/', 'dump/') }))).toEqual(
      dump.keys,
    )
    const bin = (await store.get('copy/bin')).kv as KeyView
    expect([...base64ToBytes(bin.value)]).toEqual([...binary])
  })

  it('imports in batches and keeps the last value of a repeated key', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => ({ key: `batch/${i % 290}`, value: `${i}` }))
    const progress: number[] = []
    const r = await store.importKeys({ keys }, (p) => progress.push(p.done))
    expect(r.keys).toBe(290)
    expect(progress.length).toBeGreaterThan(3) // the announcement and one report per Txn
    expect((await store.list({ prefix: 'batch/' })).count).toBe(290)
    expect(text((await store.get('batch/5')).kv?.value ?? '')).toBe('295')
  })

  it('rejects bad input with a message that names it', async () => {
    await expect(store.put({ key: 'bad', value: 'not base64!', base64: true })).rejects.toThrow(
      /the value of bad is marked base64/,
    )
    await expect(store.delete({ key: 'x/', prefix: true, expectModRevision: 3 })).rejects.toThrow(
      /cannot be combined with prefix/,
    )
    await expect(store.importKeys({ keys: [{ key: '', value: 'x' }] } as never)).rejects.toThrow(
      /keys\.0\.key/,
    )
    const none = new KeyStore(() => [])
    await expect(none.list({})).rejects.toThrow(/no node is running/)
    await none.close()
  })

  it('watches every key, sees writes made through another node, and survives a restart', async () => {
    const ids = cluster.manager.nodes().map((n) => n.id)
    const [first, second, third] = ids as [number, number, number]
    const clientOf = (id: number): string =>
      cluster.manager.nodes().find((n) => n.id === id)?.client ?? ''
    let endpoints = [clientOf(first)]
    const watching = new KeyStore(() => endpoints)
    const changes: KeyChange[] = []
    const stop = watching.watch((c) => changes.push(c))
    try {
      // The watch starts from "now" once its stream is up; a put loop finds that moment.
      await eventually(async () => {
        await cluster.client(third).put('watch/probe').value('x')
        if (!changes.some((c) => c.key === 'watch/probe')) throw new Error('not yet')
      }, 15_000)
      const put = await cluster.client(third).put('watch/a').value('1')
      await eventually(async () => {
        expect(changes).toContainEqual({
          key: 'watch/a',
          type: 'put',
          modRevision: Number(put.header.revision),
        })
      })
      await cluster.client(second).delete().key('watch/a')
      await eventually(async () => {
        expect(changes.some((c) => c.key === 'watch/a' && c.type === 'delete')).toBe(true)
      })

      await cluster.manager.killNode(first)
      // Written while the watched node is down: the resumed watch must still report it.
      const missed = await cluster.client(third).put('watch/while-down').value('2')
      await cluster.manager.startNode(first)
      await eventually(async () => {
        expect(changes).toContainEqual({
          key: 'watch/while-down',
          type: 'put',
          modRevision: Number(missed.header.revision),
        })
      }, 20_000)

      // A new endpoint set means a new client; the watch moves over to it.
      endpoints = [clientOf(second)]
      const moved = await cluster.client(third).put('watch/moved').value('3')
      await eventually(async () => {
        expect(changes).toContainEqual({
          key: 'watch/moved',
          type: 'put',
          modRevision: Number(moved.header.revision),
        })
      }, 20_000)
      const revisions = changes.map((c) => c.modRevision)
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b))
      expect(new Set(changes.map((c) => `${c.key}@${c.modRevision}`)).size).toBe(changes.length)
    } finally {
      stop()
      await watching.close()
      await cluster.manager.startNode(first)
    }
  }, 60_000)
})

describe('prefixRange', () => {
  it('makes a compare-and-swap again when an election leaves its outcome unknown', async () => {
    const leader = await cluster.leader()
    const follower = cluster.manager.nodes().find((n) => n.id !== leader)
    if (follower?.client === undefined) throw new Error('no follower to write through')
    const through = new KeyStore(() => [follower.client ?? ''])
    try {
      const first = await through.put({ key: 'cas/election', value: 'a', expectModRevision: 0 })
      expect(first.ok).toBe(true)
      // The follower hands the write to a leader that never answers; the node that follows
      // it reports "leader changed", and the store tries again under the new leader.
      cluster.manager.pauseNode(leader)
      try {
        const next = await through.put({
          key: 'cas/election',
          value: 'b',
          expectModRevision: first.revision,
        })
        expect(next).toMatchObject({ ok: true, current: { version: 2 } })
        expect(next.revision).toBeGreaterThan(first.revision)
      } finally {
        cluster.manager.resumeNode(leader)
      }
      const now = await through.get('cas/election')
      expect(text(now.kv?.value ?? '')).toBe('b')
      expect(now.kv?.version).toBe(2)
    } finally {
      await through.close()
    }
  }, 30_000)

  it('ends a prefix after its last byte that can grow', () => {
    expect(prefixRange(Buffer.from('a/'))[1].toString()).toBe('a0')
    expect([...prefixRange(Buffer.from([0x61, 0xff]))[1]]).toEqual([0x62])
    expect([...prefixRange(Buffer.from([0xff]))[1]]).toEqual([0])
    expect([...prefixRange(Buffer.alloc(0))[0]]).toEqual([0])
  })
})

describe('KeyStore against a real etcd', () => {
  let etcd: RealEtcd
  let real: KeyStore

  beforeAll(async () => {
    etcd = await startEtcd()
    real = new KeyStore(() => [etcd.endpoint])
  }, 30_000)
  afterAll(async () => {
    await real?.close()
    await etcd?.close()
  })

  it('pages, swaps, reads history and round-trips a dump the same way', async () => {
    await real.importKeys({
      keys: [
        { key: 'r/1', value: 'a' },
        { key: 'r/2', value: 'b' },
        { key: 'r/3', value: 'c' },
      ],
    })
    const page = await real.list({ prefix: 'r/', limit: 2 })
    expect(page.keys.map((k) => k.key)).toEqual(['r/1', 'r/2'])
    expect(page).toMatchObject({ count: 3, cursor: 'r/2' })
    const rest = await real.list({ prefix: 'r/', limit: 2, after: 'r/2' })
    expect(rest).toMatchObject({ cursor: null, keys: [{ key: 'r/3' }] })

    const v1 = await real.put({ key: 'r/cas', value: 'one', expectModRevision: 0 })
    expect(v1.ok).toBe(true)
    const stale = await real.put({ key: 'r/cas', value: 'x', expectModRevision: 0 })
    expect(stale).toMatchObject({ ok: false, current: { modRevision: v1.revision } })
    const del = await real.delete({ key: 'r/cas' })
    const v2 = await real.put({ key: 'r/cas', value: 'two' })
    const d = await real.get('r/cas')
    expect(d.history.map((h) => h.modRevision)).toEqual([v2.revision, del.revision, v1.revision])
    expect(d.compactRevision).toBe(0)

    expect((await real.exportKeys('r/')).keys).toContainEqual({ key: 'r/cas', value: 'two' })
  }, 30_000)
})
