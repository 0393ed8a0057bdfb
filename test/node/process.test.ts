// Real node processes on 127.0.0.1: elections, crash recovery, catch-up by log and by
// snapshot, whole-cluster restart, torn and corrupt log files, and garbage on both ports.

import { appendFile, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { noop } from 'cockatiel'
import { Etcd3 } from 'etcd3'
import { afterEach, describe, expect, it } from 'vitest'
import { dataDirOf } from '../../src/main/cluster/workspace'
import {
  eventually,
  openCluster,
  removeWorkspace,
  startCluster,
  tempWorkspace,
  TEST_TIMING,
  type TestCluster,
} from '../support/cluster'

let cluster: TestCluster | undefined
const workspaces: string[] = []

afterEach(async () => {
  await cluster?.close()
  cluster = undefined
  for (const w of workspaces.splice(0)) await removeWorkspace(w)
})

async function start(opts: Parameters<typeof startCluster>[0] = {}): Promise<TestCluster> {
  cluster = await startCluster(opts)
  workspaces.push(cluster.workspace)
  return cluster
}

/** Every key in `keys` as node `id` sees it locally (a serializable read). */
async function valuesOn(
  c: TestCluster,
  id: number,
  prefix: string,
): Promise<Record<string, string>> {
  return c.client(id).getAll().prefix(prefix).serializable(true).strings()
}

/** A client of node `id` that never retries by itself: the answer seen is the node's first. */
function firstAnswers(c: TestCluster, id: number): Etcd3 {
  const n = c.manager.nodes().find((x) => x.id === id)
  return new Etcd3({ hosts: `http://${n?.client}`, faultHandling: { global: noop } })
}

function expected(prefix: string, n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]))
}

async function putMany(c: TestCluster, prefix: string, from: number, to: number): Promise<void> {
  const client = c.all()
  for (let i = from; i < to; i++) await client.put(`${prefix}${i}`).value(`v${i}`)
}

describe('a cluster of real node processes', () => {
  it('elects a leader that a majority follows', async () => {
    const c = await start()
    const leader = await c.leader()
    const states = c.manager.nodes().map((n) => n.state)
    expect(states.filter((s) => s?.role === 'leader').map((s) => s?.id)).toEqual([leader])
    // A majority followed it already; the last node hears of it with the next heartbeat.
    await expect
      .poll(() => c.manager.nodes().every((n) => n.state?.leader === leader), { timeout: 5000 })
      .toBe(true)
  })

  it('takes writes through a follower: the leader proposes them, the follower answers once it applied them', async () => {
    const c = await start()
    const leader = await c.leader()
    const follower = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    const client = c.client(follower)
    const puts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.put(`via/${i}`).value(`v${i}`).exec()),
    )
    // Each answer is the follower's own (etcd's headers name the member that answered), and
    // each write got a revision of its own.
    expect(new Set(puts.map((p) => p.header.member_id))).toEqual(new Set([String(follower)]))
    expect(new Set(puts.map((p) => p.header.revision)).size).toBe(40)
    // Applied on the follower before it answered: a serializable read there sees every one.
    const local = await client.getAll().prefix('via/').serializable(true).strings()
    expect(Object.keys(local)).toHaveLength(40)
    expect(await c.client(leader).get('via/39').string()).toBe('v39')
    // A compare-and-set through the follower gets the follower's view of the outcome.
    const txn = await client
      .if('via/0', 'Value', '==', 'v0')
      .then(client.put('via/0').value('changed'))
      .commit()
    expect(txn.succeeded).toBe(true)
    expect(await c.client(leader).get('via/0').string()).toBe('changed')
  })

  it('a follower whose leader dies answers its writes at once, and takes writes again under the next leader', async () => {
    const c = await start()
    const leader = await c.leader()
    const follower = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    const client = c.client(follower)
    await client.put('before').value('1').exec()
    await c.manager.killNode(leader)
    // A write handed to a dead leader must not wait for the request timeout (7 s): it fails
    // over with the leader ("leader changed") or is never sent and waits for the next leader.
    const started = Date.now()
    const first = await client
      .put('after')
      .value('2')
      .exec()
      .then(
        () => 'ok',
        (e: Error) => e.message,
      )
    expect(first).not.toMatch(/timed out/)
    expect(Date.now() - started).toBeLessThan(5000)
    await eventually(() => client.put('after').value('2').exec())
    expect(await client.get('after').string()).toBe('2')
  })

  it('holds a linearizable read on a follower across the death of its leader and answers it under the next one', async () => {
    const c = await start()
    const leader = await c.leader()
    const follower = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    const client = firstAnswers(c, follower)
    try {
      await client.put('held').value('yes').exec()
      await c.manager.killNode(leader)
      // The first read's ReadIndex may go to the dead leader, the later ones arrive while
      // the cluster has no leader; each waits for the next leader instead of failing.
      const reads = await Promise.all(
        [0, 300, 600].map(async (delay) => {
          await new Promise((r) => setTimeout(r, delay))
          return client
            .get('held')
            .string()
            .catch((e: Error) => e.message)
        }),
      )
      expect(reads).toEqual(['yes', 'yes', 'yes'])
    } finally {
      client.close()
    }
  })

  it("a transfer to a node that cannot take over is given up after an election timeout, with etcd's error", async () => {
    const c = await start()
    const leader = await c.leader()
    const target = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    const client = firstAnswers(c, leader)
    try {
      c.manager.pauseNode(target)
      const r = await client.maintenance
        .moveLeader({ targetID: String(target) })
        .then(() => 'moved')
        .catch((e: Error) => e.message)
      expect(r).toMatch(/etcdserver: request timed out, leader transfer took too long/)
      // The leader went on leading, and takes writes.
      expect(await c.leader()).toBe(leader)
      await client.put('after').value('transfer').exec()
    } finally {
      c.manager.resumeNode(target)
      client.close()
    }
  })

  it('keeps every acknowledged write when the leader is killed, and the restarted node catches up', async () => {
    const c = await start()
    await putMany(c, 'k', 0, 50)
    const old = await c.leader()
    await c.manager.killNode(old)
    // The survivors elect a new leader and keep accepting writes.
    await eventually(() => putMany(c, 'k', 50, 51))
    await putMany(c, 'k', 51, 100)
    expect(await c.leader()).not.toBe(old)
    await c.manager.startNode(old)
    for (const n of c.manager.nodes()) {
      await eventually(async () => expect(await valuesOn(c, n.id, 'k')).toEqual(expected('k', 100)))
    }
  })

  it('keeps every acknowledged write when a follower is killed', async () => {
    const c = await start()
    const leader = await c.leader()
    const follower = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    await putMany(c, 'f', 0, 20)
    await c.manager.killNode(follower)
    await putMany(c, 'f', 20, 40)
    await c.manager.startNode(follower)
    await eventually(async () =>
      expect(await valuesOn(c, follower, 'f')).toEqual(expected('f', 40)),
    )
  })

  it('catches up a node that is behind the compacted log by sending it a snapshot', async () => {
    const c = await start({ snapshotCount: 30 })
    const leader = await c.leader()
    const follower = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    await c.manager.stopNode(follower)
    await putMany(c, 's', 0, 120)
    const installed: number[] = []
    c.manager.onEvent = (id, e) => {
      if (e.type === 'snapshotInstalled' && id === follower) installed.push(e.index)
    }
    await c.manager.startNode(follower)
    await eventually(async () =>
      expect(await valuesOn(c, follower, 's')).toEqual(expected('s', 120)),
    )
    expect(installed.length).toBeGreaterThan(0)
  })

  it('keeps every acknowledged write across a restart of the whole cluster', async () => {
    const workspace = await tempWorkspace()
    workspaces.push(workspace)
    cluster = await openCluster(workspace, { nodes: 3, snapshotCount: 40, timing: TEST_TIMING })
    await putMany(cluster, 'r', 0, 100)
    await cluster.close()
    cluster = await openCluster(workspace, { nodes: 3 })
    for (const n of cluster.manager.nodes()) {
      await eventually(async () =>
        expect(await valuesOn(cluster as TestCluster, n.id, 'r')).toEqual(expected('r', 100)),
      )
    }
    // And the cluster still takes writes.
    await cluster.all().put('after').value('restart')
    expect(await cluster.all().get('after').string()).toBe('restart')
  })

  it('drops a torn last line of the log (a crash mid-append) and starts', async () => {
    const c = await start()
    await putMany(c, 't', 0, 10)
    const leader = await c.leader()
    const victim = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    await c.manager.stopNode(victim)
    const logFile = join(dataDirOf(c.workspace, victim), 'log.db')
    await appendFile(logFile, '{"_id":999,"term":2,"ty')
    await c.manager.startNode(victim)
    await putMany(c, 't', 10, 12)
    await eventually(async () => expect(await valuesOn(c, victim, 't')).toEqual(expected('t', 12)))
    const log = await readFile(join(dataDirOf(c.workspace, victim), 'node.log'), 'utf8')
    expect(log).toMatch(/torn/)
  })

  it('refuses to start on a corrupt line in the middle of the log, naming the file and line', async () => {
    const c = await start()
    await putMany(c, 'c', 0, 10)
    const leader = await c.leader()
    const victim = c.manager.nodes().find((n) => n.id !== leader)?.id ?? 0
    await c.manager.stopNode(victim)
    const logFile = join(dataDirOf(c.workspace, victim), 'log.db')
    const lines = (await readFile(logFile, 'utf8')).split('\n')
    lines[2] = '{"_id":3,"term":"x"garbage'
    await writeFile(logFile, lines.join('\n'))
    await expect(c.manager.startNode(victim)).rejects.toThrow(/log\.db line 3/)
    // The rest of the cluster is unharmed.
    await c.all().put('still').value('fine')
  })

  it('rejects garbage on the peer port and the client port without harm', async () => {
    const c = await start()
    const target = c.manager.nodes()[0]
    if (!target) throw new Error('no node')
    for (const addr of [target.peer, target.client]) {
      const [host, port] = [
        addr.slice(0, addr.lastIndexOf(':')),
        Number(addr.slice(addr.lastIndexOf(':') + 1)),
      ]
      await new Promise<void>((resolve) => {
        const s = connect(port, host, () => {
          s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
          s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]))
        })
        s.on('error', () => resolve())
        s.on('close', () => resolve())
        setTimeout(() => {
          s.destroy()
          resolve()
        }, 1000)
      })
    }
    expect(c.manager.nodes()[0]?.running).toBe(true)
    await c.client(target.id).put('after-garbage').value('ok')
    expect(await c.client(target.id).get('after-garbage').string()).toBe('ok')
  })
})
