// The etcd v3 gRPC API over a fake one-node backend, through real gRPC on loopback: driven by
// the etcd3 package (what RaftLab's manager uses), by etcdctl 3.4 (what users type; its output
// is compared with what real etcd prints) and by a raw grpc-js client for what neither sends.

import * as grpc from '@grpc/grpc-js'
import { Etcd3, type IKeyValue } from 'etcd3'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  compact,
  createStore,
  decodeSnapshot,
  encodeSnapshot,
  put,
  range,
  type RangeResponse,
  type Store,
} from '../../src/main/kv'
import { startEtcdServer, type EtcdServer } from '../../src/main/node/grpc'
import { FORWARDED_BY } from '../../src/main/node/grpc/forward'
import { methodDefinition, type ServiceName } from '../../src/main/node/grpc/proto'
import { ErrPeerURLExist } from '../../src/main/node/errors'
import type { Level } from '../../src/main/node/logger'
import { createFakeBackend, type FakeBackend, type FakeBackendOptions } from './support/fakebackend'
import { isRetainedCopy } from '../../src/main/kv/slab'

const ETCDCTL = process.env.ETCDCTL ?? '/usr/bin/etcdctl'

// ---- fixtures: every server, client and child a test starts is torn down after it -----------

interface TestNode {
  readonly backend: FakeBackend
  readonly server: EtcdServer
  readonly endpoint: string
  readonly logs: { level: Level; msg: string; fields?: Record<string, unknown> }[]
}

const nodes: TestNode[] = []
const clients: Etcd3[] = []
const rawClients: grpc.Client[] = []
const children = new Set<ChildProcess>()

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const client of clients.splice(0)) client.close()
  for (const client of rawClients.splice(0)) client.close()
  await Promise.all(nodes.splice(0).map((node) => node.server.close()))
})

async function startNode(
  opts: FakeBackendOptions & { progressNotifyIntervalMs?: number; forwardTimeoutMs?: number } = {},
): Promise<TestNode> {
  const backend = createFakeBackend(opts)
  const logs: TestNode['logs'] = []
  const server = await startEtcdServer(backend, {
    host: '127.0.0.1',
    port: 0,
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    progressNotifyIntervalMs: opts.progressNotifyIntervalMs,
    forwardTimeoutMs: opts.forwardTimeoutMs,
  })
  const endpoint = `127.0.0.1:${server.port}`
  backend.setClientURL(`http://${endpoint}`)
  const node = { backend, server, endpoint, logs }
  nodes.push(node)
  return node
}

function etcd3(endpoint: string): Etcd3 {
  const client = new Etcd3({ hosts: endpoint })
  clients.push(client)
  return client
}

interface Run {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** Runs etcdctl to completion; `input` goes to its stdin (txn reads its ops from there). */
function etcdctl(endpoint: string, args: readonly string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=5s', ...args],
      { timeout: 15_000, env: { ...process.env, ETCDCTL_API: '3' } },
      (err, stdout, stderr) => {
        children.delete(child)
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`etcdctl ${args.join(' ')} did not run (${err.message}): ${stderr}`))
        } else {
          resolve({ stdout, stderr, code: err === null ? 0 : (err.code as number) })
        }
      },
    )
    children.add(child)
    child.stdin?.end(input)
  })
}

/** The last line etcdctl wrote to stderr: its "Error: ..." line, after clientv3's log lines. */
function errorLine(run: Run): string {
  return run.stderr.trim().split('\n').at(-1) ?? ''
}

async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A long-running etcdctl (watch), killed by afterEach whatever happens in the test. */
function etcdctlChild(endpoint: string, args: readonly string[]): { output: () => string } {
  const child = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.on('exit', () => children.delete(child))
  return { output: () => out }
}

function rawClient(endpoint: string): grpc.Client {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure())
  rawClients.push(client)
  return client
}

type Wire = Record<string, unknown>

/** One unary call as any client could make it, with fields etcd3 and etcdctl never send. */
function call(
  endpoint: string,
  service: ServiceName,
  method: string,
  request: object,
  metadata = new grpc.Metadata(),
): Promise<Wire> {
  const definition = methodDefinition(service, method)
  return new Promise((resolve, reject) => {
    rawClient(endpoint).makeUnaryRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, response) => (err ? reject(err) : resolve(response as Wire)),
    )
  })
}

async function failure(
  pending: Promise<unknown>,
): Promise<{ readonly code: grpc.status; readonly details: string }> {
  try {
    await pending
  } catch (err) {
    const { code, details } = err as grpc.ServiceError
    return { code, details }
  }
  throw new Error('expected the call to fail')
}

function watchStream(
  endpoint: string,
  metadata = new grpc.Metadata(),
): {
  stream: grpc.ClientDuplexStream<object, Wire>
  next: () => Promise<Wire>
  ended: Promise<grpc.StatusObject>
} {
  const definition = methodDefinition('Watch', 'Watch')
  const stream = rawClient(endpoint).makeBidiStreamRequest(
    definition.path,
    definition.requestSerialize,
    definition.responseDeserialize,
    metadata,
  ) as grpc.ClientDuplexStream<object, Wire>
  const received: Wire[] = []
  const waiting: ((response: Wire) => void)[] = []
  stream.on('data', (response: Wire) => {
    const waiter = waiting.shift()
    if (waiter) waiter(response)
    else received.push(response)
  })
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    stream.on('status', resolve)
    stream.on('error', () => {})
  })
  const next = (): Promise<Wire> => {
    const response = received.shift()
    if (response !== undefined) return Promise.resolve(response)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no watch response within 5 s')), 5_000)
      waiting.push((r) => {
        clearTimeout(timer)
        resolve(r)
      })
    })
  }
  return { stream, next, ended }
}

const text = (bytes: unknown): string => Buffer.from(bytes as Uint8Array).toString()
const b = (s: string): Buffer => Buffer.from(s)

// ---- KV ----------------------------------------------------------------------------------

describe('KV through etcdctl prints what etcd prints', () => {
  it('put, get, get --prefix, --keys-only, --rev, del and del --prefix', async () => {
    const { endpoint } = await startNode()
    expect((await etcdctl(endpoint, ['put', 'foo', 'bar'])).stdout).toBe('OK\n')
    expect((await etcdctl(endpoint, ['put', 'foo2', 'baz'])).stdout).toBe('OK\n')
    expect((await etcdctl(endpoint, ['put', 'foo', 'bar2'])).stdout).toBe('OK\n')
    expect((await etcdctl(endpoint, ['get', 'foo'])).stdout).toBe('foo\nbar2\n')
    expect((await etcdctl(endpoint, ['get', '--prefix', 'foo'])).stdout).toBe(
      'foo\nbar2\nfoo2\nbaz\n',
    )
    expect((await etcdctl(endpoint, ['get', '--prefix', '--keys-only', 'foo'])).stdout).toBe(
      'foo\n\nfoo2\n\n',
    )
    expect((await etcdctl(endpoint, ['get', 'foo', '--rev=2'])).stdout).toBe('foo\nbar\n')
    expect((await etcdctl(endpoint, ['get', 'missing'])).stdout).toBe('')
    expect((await etcdctl(endpoint, ['del', 'foo'])).stdout).toBe('1\n')
    expect((await etcdctl(endpoint, ['del', 'foo'])).stdout).toBe('0\n')
    await etcdctl(endpoint, ['put', 'foo3', 'x'])
    expect((await etcdctl(endpoint, ['del', '--prefix', 'foo'])).stdout).toBe('2\n')
    expect((await etcdctl(endpoint, ['get', '--prefix', 'foo'])).stdout).toBe('')
  })

  it('answers get -w json with the header of the member, term and revision', async () => {
    const { endpoint } = await startNode({ memberId: 7, clusterId: '12345678901234567890' })
    await etcdctl(endpoint, ['put', 'foo', 'bar'])
    const json = (await etcdctl(endpoint, ['get', 'foo', '-w', 'json'])).stdout
    // etcdctl prints the uint64s as JSON numbers; compare the text, not a parsed double.
    expect(json).toContain(
      '"header":{"cluster_id":12345678901234567890,"member_id":7,"revision":2,"raft_term":2}',
    )
    expect(json).toContain(
      '"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}],"count":1',
    )
  })

  it('runs txn from stdin: compares, then the success or the failure ops', async () => {
    const { endpoint } = await startNode()
    await etcdctl(endpoint, ['put', 'foo', 'bar'])
    const failed = await etcdctl(
      endpoint,
      ['txn', '--interactive=false'],
      'value("foo") = "x"\n\nput foo ok\n\nput foo no\nget foo\n\n',
    )
    expect(failed.stdout).toBe('FAILURE\n\nOK\n\nfoo\nno\n')
    const succeeded = await etcdctl(
      endpoint,
      ['txn', '--interactive=false'],
      'value("foo") = "no"\nmod("foo") > "0"\n\nput foo yes\ndel bar\n\n\n',
    )
    expect(succeeded.stdout).toBe('SUCCESS\n\nOK\n\n0\n')
    expect((await etcdctl(endpoint, ['get', 'foo'])).stdout).toBe('foo\nyes\n')
  })

  it('compacts, and refuses reads and compactions below the compacted revision', async () => {
    const { endpoint } = await startNode()
    for (const value of ['a', 'b', 'c', 'd']) await etcdctl(endpoint, ['put', 'k', value])
    expect((await etcdctl(endpoint, ['compaction', '3'])).stdout).toBe('compacted revision 3\n')
    const again = await etcdctl(endpoint, ['compaction', '3'])
    expect(again.code).not.toBe(0)
    expect(errorLine(again)).toBe('Error: etcdserver: mvcc: required revision has been compacted')
    expect(errorLine(await etcdctl(endpoint, ['get', 'k', '--rev=2']))).toBe(
      'Error: etcdserver: mvcc: required revision has been compacted',
    )
    expect((await etcdctl(endpoint, ['get', 'k', '--rev=3'])).stdout).toBe('k\nb\n')
    expect(errorLine(await etcdctl(endpoint, ['compaction', '100']))).toBe(
      'Error: etcdserver: mvcc: required revision is a future revision',
    )
  })

  it('refuses an empty key with etcd text', async () => {
    const { endpoint } = await startNode()
    const run = await etcdctl(endpoint, ['put', '', 'x'])
    expect(run.code).not.toBe(0)
    expect(errorLine(run)).toBe('Error: etcdserver: key is not provided')
  })
})

describe('KV through the etcd3 package', () => {
  it('puts, gets, lists by prefix, deletes and reports revisions', async () => {
    const { endpoint, backend } = await startNode()
    const client = etcd3(endpoint)
    const put = await client.put('a/1').value('one').exec()
    expect(put.header.revision).toBe('2')
    expect(put.header.member_id).toBe('1')
    await client.put('a/2').value('two')
    await client.put('b').value('bee')
    expect(await client.get('a/1').string()).toBe('one')
    expect(await client.getAll().prefix('a/').strings()).toEqual({ 'a/1': 'one', 'a/2': 'two' })
    expect(await client.getAll().prefix('a/').count()).toBe(2)
    const previous = await client.put('a/1').value('uno').getPrevious()
    expect(previous?.value.toString()).toBe('one')
    const deleted = await client.delete().prefix('a/').exec()
    expect(deleted.deleted).toBe('2')
    expect(await client.getAll().keys()).toEqual(['b'])
    expect(backend.store.revision).toBe(6)
    // What the store keeps is its own copy, not a view into a gRPC message.
    const kept = range(backend.store, { key: b('b') })
    const value = (kept as RangeResponse).kvs[0]?.value
    expect(value !== undefined && isRetainedCopy(value)).toBe(true)
    // Reads are linearizable unless asked otherwise: each waited for the barrier.
    expect(backend.readBarriers).toBeGreaterThanOrEqual(4)
  })

  it('runs a compare-and-swap txn on mod_revision', async () => {
    const { endpoint } = await startNode()
    const client = etcd3(endpoint)
    await client.put('k').value('v1')
    const stale = await client
      .if('k', 'Mod', '==', 1)
      .then(client.put('k').value('v2'))
      .else(client.get('k'))
      .commit()
    expect(stale.succeeded).toBe(false)
    const range = stale.responses[0]?.response_range as { kvs: IKeyValue[] }
    expect(range.kvs[0]?.value.toString()).toBe('v1')
    const fresh = await client.if('k', 'Mod', '==', 2).then(client.put('k').value('v2')).commit()
    expect(fresh.succeeded).toBe(true)
    expect(fresh.header.revision).toBe('3')
    expect(await client.get('k').string()).toBe('v2')
  })

  it('serves a read-only txn without a log entry', async () => {
    const { endpoint, backend } = await startNode()
    const client = etcd3(endpoint)
    await client.put('k').value('v')
    const proposals = backend.proposals.length
    const result = await client.if('k', 'Value', '==', 'v').then(client.get('k')).commit()
    expect(result.succeeded).toBe(true)
    expect(backend.proposals.length).toBe(proposals)
  })
})

describe('refusals carry etcd codes and texts', () => {
  it('for malformed ranges, puts and txns', async () => {
    const { endpoint } = await startNode()
    expect(await failure(call(endpoint, 'KV', 'Range', { key: b('a'), sort_order: 7 }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: invalid sort option',
    })
    expect(await failure(call(endpoint, 'KV', 'Range', { key: b('') }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: key is not provided',
    })
    expect(
      await failure(
        call(endpoint, 'KV', 'Put', { key: b('a'), value: b('x'), ignore_value: true }),
      ),
    ).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: value is provided' })
    expect(await failure(call(endpoint, 'KV', 'Put', { key: b('a'), lease: '99' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    })
    const twice = { request_put: { key: b('k'), value: b('v') } }
    expect(await failure(call(endpoint, 'KV', 'Txn', { success: [twice, twice] }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: duplicate key given in txn request',
    })
    const many = Array.from({ length: 129 }, (_, i) => ({
      request_put: { key: b(`k${i}`), value: b('v') },
    }))
    expect(await failure(call(endpoint, 'KV', 'Txn', { success: many }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: too many operations in txn request',
    })
    expect(await failure(call(endpoint, 'KV', 'Txn', { success: [{}] }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: key not found',
    })
  })

  it('for requests over the size limit, before they reach the log', async () => {
    const { endpoint, backend } = await startNode()
    const big = Buffer.alloc(1.6 * 1024 * 1024, 1)
    expect(await failure(call(endpoint, 'KV', 'Put', { key: b('big'), value: big }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: request is too large',
    })
    const huge = Buffer.alloc(3 * 1024 * 1024, 1)
    expect((await failure(call(endpoint, 'KV', 'Put', { key: b('huge'), value: huge }))).code).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    )
    expect(backend.proposals).toEqual([])
  })

  it('for numbers RaftLab cannot represent, naming the field', async () => {
    const { endpoint } = await startNode()
    expect(
      await failure(
        call(endpoint, 'KV', 'Range', { key: b('a'), revision: '9223372036854775807' }),
      ),
    ).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'raftlab: revision 9223372036854775807 is out of range: RaftLab keeps it below 2^53',
    })
  })

  it('for negative numbers, as etcd answers them', async () => {
    const { endpoint } = await startNode()
    expect(await failure(call(endpoint, 'KV', 'Compact', { revision: '-5' }))).toEqual({
      code: grpc.status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision has been compacted',
    })
    // etcd raises a TTL below the minimum to the minimum.
    expect(await call(endpoint, 'Lease', 'LeaseGrant', { TTL: '-1' })).toMatchObject({ TTL: '1' })
    expect(await failure(call(endpoint, 'KV', 'Put', { key: b('a'), lease: '-3' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    })
  })

  it('turns a failing handler into INTERNAL, logs it and keeps serving', async () => {
    const { endpoint, backend, logs } = await startNode()
    backend.status = () => {
      throw new Error('disk on fire')
    }
    expect(await failure(call(endpoint, 'Maintenance', 'Status', {}))).toEqual({
      code: grpc.status.INTERNAL,
      details: 'raftlab: internal error in Status: disk on fire',
    })
    expect(logs.some((l) => l.level === 'error' && String(l.fields?.error).includes('disk'))).toBe(
      true,
    )
    expect((await etcdctl(endpoint, ['put', 'still', 'here'])).stdout).toBe('OK\n')
  })
})

// ---- Watch -------------------------------------------------------------------------------

describe('Watch', () => {
  it('streams puts and deletes to etcdctl watch as etcd prints them', async () => {
    const { endpoint, backend } = await startNode()
    const watch = etcdctlChild(endpoint, ['watch', 'foo'])
    await eventually(() => backend.store.listeners.size === 1, 'etcdctl to start watching')
    const client = etcd3(endpoint)
    await client.put('foo').value('bar')
    await client.put('other').value('x')
    await client.delete().key('foo')
    await eventually(() => watch.output().includes('DELETE'), 'the delete event')
    expect(watch.output()).toBe('PUT\nfoo\nbar\nDELETE\nfoo\n\n')
  })

  it('tells etcdctl watch --rev below the compaction that it was compacted', async () => {
    const { endpoint } = await startNode()
    for (const value of ['a', 'b', 'c']) await etcdctl(endpoint, ['put', 'foo', value])
    await etcdctl(endpoint, ['compaction', '3'])
    const watch = etcdctlChild(endpoint, ['watch', '--rev=2', 'foo'])
    await eventually(() => watch.output().includes('canceled by the server'), 'the cancel')
    expect(watch.output()).toContain(
      'watch was canceled (etcdserver: mvcc: required revision has been compacted)',
    )
  })

  it('serves etcdctl watch --rev at exactly the compaction revision, as etcd does', async () => {
    const { endpoint } = await startNode()
    for (const value of ['a', 'b', 'c']) await etcdctl(endpoint, ['put', 'foo', value]) // 2, 3, 4
    await etcdctl(endpoint, ['compaction', '3'])
    const watch = etcdctlChild(endpoint, ['watch', '--rev=3', 'foo'])
    await eventually(() => watch.output().includes('PUT\nfoo\nc\n'), 'the replay')
    await etcdctl(endpoint, ['put', 'foo', 'd'])
    await eventually(() => watch.output().includes('PUT\nfoo\nd\n'), 'the live event')
    expect(watch.output()).toBe('PUT\nfoo\nb\nPUT\nfoo\nc\nPUT\nfoo\nd\n')
  })

  it('cancels etcdctl watch --rev=-1 as compacted once the store was compacted', async () => {
    const { endpoint } = await startNode()
    for (const value of ['a', 'b']) await etcdctl(endpoint, ['put', 'foo', value])
    await etcdctl(endpoint, ['compaction', '2'])
    const watch = etcdctlChild(endpoint, ['watch', '--rev=-1', 'foo'])
    await eventually(() => watch.output().includes('canceled by the server'), 'the cancel')
    expect(watch.output()).toContain(
      'watch was canceled (etcdserver: mvcc: required revision has been compacted)',
    )
  })

  it('delivers etcd3 watchers their events with previous values, from a past revision too', async () => {
    const { endpoint } = await startNode()
    const client = etcd3(endpoint)
    await client.put('w/a').value('0')
    const seen: string[] = []
    const watcher = await client.watch().prefix('w/').withPreviousKV().create()
    watcher.on('put', (kv, prev) => seen.push(`put ${kv.key} ${kv.value} (${prev?.value ?? '-'})`))
    watcher.on('delete', (kv, prev) => seen.push(`delete ${kv.key} (${prev?.value ?? '-'})`))
    await client.put('w/a').value('1')
    await client.put('x').value('not mine')
    await client.delete().key('w/a')
    await eventually(() => seen.length === 2, 'two events')
    expect(seen).toEqual(['put w/a 1 (0)', 'delete w/a (1)'])

    const replayed: string[] = []
    const fromPast = await client.watch().key('w/a').startRevision('2').create()
    fromPast.on('put', (kv) => replayed.push(`put ${kv.value}`))
    fromPast.on('delete', () => replayed.push('delete'))
    await eventually(() => replayed.length === 3, 'the replay')
    expect(replayed).toEqual(['put 0', 'put 1', 'delete'])
    await watcher.cancel()
    await fromPast.cancel()
  })

  it('answers create, cancel and progress requests as etcd does', async () => {
    const { endpoint, backend } = await startNode()
    const { stream, next } = watchStream(endpoint)
    stream.write({ create_request: { key: b('a') } })
    expect(await next()).toMatchObject({ watch_id: '0', created: true, canceled: false })
    stream.write({ create_request: { key: b('a'), range_end: b('c'), filters: ['Noput'] } })
    expect(await next()).toMatchObject({ watch_id: '1', created: true })
    stream.write({ create_request: { key: b('a'), watch_id: '1' } })
    expect(await next()).toMatchObject({
      watch_id: '-1',
      created: true,
      canceled: true,
      cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream',
    })
    stream.write({ create_request: { key: b('b'), range_end: b('a') } })
    expect(await next()).toMatchObject({
      canceled: true,
      cancel_reason: 'mvcc: watcher range is empty',
    })

    // One write of two keys is one revision: one response per watcher that sees any of it.
    await call(endpoint, 'KV', 'Txn', {
      success: [
        { request_put: { key: b('a'), value: b('1') } },
        { request_put: { key: b('b'), value: b('2') } },
      ],
    })
    const puts = await next()
    expect(puts).toMatchObject({ watch_id: '0', header: { revision: '2' } })
    expect((puts.events as Wire[]).map((e) => [e.type, text((e.kv as Wire).key)])).toEqual([
      ['Put', 'a'],
    ])
    await call(endpoint, 'KV', 'DeleteRange', { key: b('a'), range_end: b('c') })
    expect(await next()).toMatchObject({ watch_id: '0', events: [{ type: 'Delete' }] })
    // Watcher 1 filters out puts: the delete of both keys is the first it hears of.
    const deletes = await next()
    expect(deletes).toMatchObject({ watch_id: '1', header: { revision: '3' } })
    expect((deletes.events as Wire[]).map((e) => [e.type, text((e.kv as Wire).key)])).toEqual([
      ['Delete', 'a'],
      ['Delete', 'b'],
    ])

    stream.write({ progress_request: {} })
    expect(await next()).toMatchObject({ watch_id: '-1', header: { revision: '3' }, events: [] })
    stream.write({ cancel_request: { watch_id: '0' } })
    expect(await next()).toMatchObject({ watch_id: '0', canceled: true })
    expect(backend.store.listeners.size).toBe(1)
    stream.end()
    await eventually(() => backend.store.listeners.size === 0, 'the stream to clean up')
  })

  it('answers a watch from a compacted revision with compact_revision and cancels it', async () => {
    const { endpoint, backend } = await startNode()
    const client = etcd3(endpoint)
    for (const value of ['a', 'b', 'c']) await client.put('k').value(value)
    await client.put('k').value('d')
    await call(endpoint, 'KV', 'Compact', { revision: '4' })
    const { stream, next } = watchStream(endpoint)
    stream.write({ create_request: { key: b('k'), start_revision: '3' } })
    expect(await next()).toMatchObject({ watch_id: '0', created: true, canceled: false })
    expect(await next()).toMatchObject({
      watch_id: '0',
      canceled: true,
      compact_revision: '4',
      cancel_reason: 'etcdserver: mvcc: required revision has been compacted',
    })
    expect(backend.store.listeners.size).toBe(0)
    // From just above the compaction the history is whole.
    stream.write({ create_request: { key: b('k'), start_revision: '5' } })
    expect(await next()).toMatchObject({ watch_id: '1', created: true })
    const replay = await next()
    expect((replay.events as Wire[]).map((e) => text((e.kv as Wire).value))).toEqual(['d'])
    stream.cancel()
  })

  it('carries a watch across a snapshot installed under the store, or cancels it as compacted', async () => {
    const { endpoint, backend } = await startNode()
    // What RaftNode does: new contents, same Store object, same listeners.
    const install = (snapshot: Store): void => {
      const { listeners } = backend.store
      Object.assign(backend.store, decodeSnapshot(encodeSnapshot(snapshot)), { listeners })
    }
    const { stream, next } = watchStream(endpoint)
    stream.write({ create_request: { key: b('s'), range_end: b('t') } })
    expect(await next()).toMatchObject({ created: true })

    const ahead = createStore({ minLeaseTtl: 1 })
    for (const [key, value] of [
      ['s1', 'a'],
      ['x', 'b'],
      ['s2', 'c'],
    ] as const) {
      put(ahead, { key: b(key), value: b(value) })
    }
    install(ahead)
    await call(endpoint, 'KV', 'Put', { key: b('s3'), value: b('d') })
    const keysOf = (response: Wire): string[] =>
      (response.events as Wire[]).map((e) => text((e.kv as Wire).key))
    expect(keysOf(await next())).toEqual(['s1'])
    expect(keysOf(await next())).toEqual(['s2'])
    expect(keysOf(await next())).toEqual(['s3'])

    const compacted = decodeSnapshot(encodeSnapshot(backend.store))
    put(compacted, { key: b('s4'), value: b('e') })
    put(compacted, { key: b('s5'), value: b('f') })
    compact(compacted, { revision: compacted.revision })
    install(compacted)
    await call(endpoint, 'KV', 'Put', { key: b('s6'), value: b('g') })
    expect(await next()).toMatchObject({ canceled: true, compact_revision: '7' })
    expect(backend.store.listeners.size).toBe(0)
    stream.cancel()
  })

  it('notifies an idle progress_notify watcher of the current revision', async () => {
    const { endpoint } = await startNode({ progressNotifyIntervalMs: 50 })
    const { stream, next } = watchStream(endpoint)
    stream.write({ create_request: { key: b('idle'), progress_notify: true } })
    expect(await next()).toMatchObject({ created: true })
    expect(await next()).toMatchObject({ watch_id: '0', events: [], header: { revision: '1' } })
    stream.cancel()
  })

  it('refuses a watch that requires a leader on a node without one', async () => {
    const { endpoint } = await startNode({ role: 'no-leader' })
    const metadata = new grpc.Metadata()
    metadata.set('hasleader', 'true')
    const { ended } = watchStream(endpoint, metadata)
    expect(await ended).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: no leader',
    })
  })

  it('cleans up the subscriptions of a client that goes away, and ends streams on close', async () => {
    const node = await startNode()
    const client = etcd3(node.endpoint)
    const a = await client.watch().key('a').create()
    const b2 = await client.watch().key('b').create()
    expect(node.backend.store.listeners.size).toBe(2)
    await a.cancel()
    expect(node.backend.store.listeners.size).toBe(1)
    // etcd3 cancels the stream itself once its last watcher is gone.
    await b2.cancel()
    await eventually(() => node.backend.store.listeners.size === 0, 'unsubscribe')
    const gone = watchStream(node.endpoint)
    gone.stream.write({ create_request: { key: b('c') } })
    await gone.next()
    expect(node.backend.store.listeners.size).toBe(1)
    gone.stream.cancel()
    await eventually(() => node.backend.store.listeners.size === 0, 'unsubscribe on cancel')

    const { stream, next, ended } = watchStream(node.endpoint)
    stream.write({ create_request: { key: b('a') } })
    await next()
    const started = Date.now()
    await node.server.close()
    expect(Date.now() - started).toBeLessThan(900)
    expect(await ended).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: server stopped',
    })
    expect(node.backend.store.listeners.size).toBe(0)
    expect((await failure(call(node.endpoint, 'KV', 'Range', { key: b('a') }))).code).toBe(
      grpc.status.UNAVAILABLE,
    )
  })
})

// ---- Lease -------------------------------------------------------------------------------

describe('Lease', () => {
  it('grants, attaches, reports, renews and revokes through etcdctl', async () => {
    const { endpoint } = await startNode()
    expect((await etcdctl(endpoint, ['lease', 'grant', '10'])).stdout).toBe(
      'lease 0000000000000001 granted with TTL(10s)\n',
    )
    expect((await etcdctl(endpoint, ['put', '--lease=1', 'lk', 'v'])).stdout).toBe('OK\n')
    expect((await etcdctl(endpoint, ['lease', 'timetolive', '--keys', '1'])).stdout).toMatch(
      /^lease 0000000000000001 granted with TTL\(10s\), remaining\((9|10)s\), attached keys\(\[lk\]\)\n$/,
    )
    expect((await etcdctl(endpoint, ['lease', 'list'])).stdout).toBe(
      'found 1 leases\n0000000000000001\n',
    )
    expect((await etcdctl(endpoint, ['lease', 'keep-alive', '--once', '1'])).stdout).toBe(
      'lease 0000000000000001 keepalived with TTL(10)\n',
    )
    expect((await etcdctl(endpoint, ['lease', 'revoke', '1'])).stdout).toBe(
      'lease 0000000000000001 revoked\n',
    )
    expect((await etcdctl(endpoint, ['get', 'lk'])).stdout).toBe('')
    expect((await etcdctl(endpoint, ['lease', 'timetolive', '1'])).stdout).toBe(
      'lease 0000000000000001 already expired\n',
    )
    expect(errorLine(await etcdctl(endpoint, ['lease', 'revoke', '1']))).toBe(
      'Error: failed to revoke lease (etcdserver: requested lease not found)',
    )
  })

  it('keeps an etcd3 lease alive over the keep-alive stream', async () => {
    const { endpoint, backend } = await startNode()
    const client = etcd3(endpoint)
    const lease = client.lease(5)
    const id = await lease.grant()
    await lease.put('held').value('yes')
    const renewed = await lease.keepaliveOnce()
    expect(renewed.TTL).toBe('5')
    // etcd3 also starts its own keep-alive loop on grant.
    expect(backend.keepAlives.length).toBeGreaterThanOrEqual(1)
    expect(new Set(backend.keepAlives)).toEqual(new Set([Number(id)]))
    await lease.revoke()
    expect(await client.get('held').string()).toBeNull()
  })

  it('answers a keep-alive for an unknown lease with TTL 0, and TimeToLive with -1', async () => {
    const { endpoint } = await startNode()
    expect(await call(endpoint, 'Lease', 'LeaseTimeToLive', { ID: '42' })).toMatchObject({
      ID: '42',
      TTL: '-1',
    })
    const definition = methodDefinition('Lease', 'LeaseKeepAlive')
    const stream = rawClient(endpoint).makeBidiStreamRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
    )
    const response = new Promise<Wire>((resolve) => stream.once('data', resolve))
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve))
    stream.on('error', () => {})
    stream.write({ ID: '42' })
    expect(await response).toMatchObject({ ID: '42', TTL: '0' })
    // The client closing its side ends the stream, as in etcd.
    stream.end()
    stream.resume()
    expect(await status).toMatchObject({ code: grpc.status.OK })
  })
})

// ---- Cluster, Maintenance, Auth ------------------------------------------------------------

describe('Cluster and Maintenance', () => {
  it('lists, adds, promotes and removes members through etcdctl', async () => {
    const { endpoint } = await startNode()
    expect((await etcdctl(endpoint, ['member', 'list'])).stdout).toBe(
      `1, started, node1, http://127.0.0.1:2381, http://${endpoint}, false\n`,
    )
    const added = await etcdctl(endpoint, [
      'member',
      'add',
      'n2',
      '--learner',
      '--peer-urls=http://127.0.0.1:2390',
    ])
    expect(added.stdout).toContain('Member                2 added to cluster cdf818194e3a8c32\n')
    expect((await etcdctl(endpoint, ['member', 'list'])).stdout).toBe(
      `1, started, node1, http://127.0.0.1:2381, http://${endpoint}, false\n` +
        '2, unstarted, , http://127.0.0.1:2390, , true\n',
    )
    expect((await etcdctl(endpoint, ['member', 'promote', '2'])).stdout).toBe(
      'Member                2 promoted in cluster cdf818194e3a8c32\n',
    )
    expect((await etcdctl(endpoint, ['member', 'remove', '2'])).stdout).toBe(
      'Member                2 removed from cluster cdf818194e3a8c32\n',
    )
    expect(errorLine(await etcdctl(endpoint, ['member', 'remove', '2']))).toBe(
      'Error: etcdserver: member not found',
    )
    // etcdctl checks URLs itself; other clients rely on the server's check.
    for (const peerURLs of [[], ['http://nohost'], ['http://a:1/path'], ['ftp://a:1']]) {
      expect(await failure(call(endpoint, 'Cluster', 'MemberAdd', { peerURLs }))).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'etcdserver: given member URLs are invalid',
      })
    }
    expect(
      errorLine(await etcdctl(endpoint, ['member', 'update', '1', '--peer-urls=http://a:1'])),
    ).toMatch(/code = Unimplemented desc = raftlab: MemberUpdate is not supported/)
  })

  it('reports endpoint status as a table, and endpoint health', async () => {
    const { endpoint } = await startNode()
    await etcdctl(endpoint, ['put', 'a', '1'])
    const table = (await etcdctl(endpoint, ['endpoint', 'status', '-w', 'table'])).stdout
    const lines = table.trimEnd().split('\n')
    const cells = (line: string | undefined): string[] =>
      (line ?? '')
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim())
    expect(cells(lines[1])).toEqual([
      'ENDPOINT',
      'ID',
      'VERSION',
      'DB SIZE',
      'IS LEADER',
      'IS LEARNER',
      'RAFT TERM',
      'RAFT INDEX',
      'RAFT APPLIED INDEX',
      'ERRORS',
    ])
    expect(cells(lines[3])).toEqual([
      endpoint,
      '1',
      '3.5.0',
      '25 kB',
      'true',
      'false',
      '2',
      '1',
      '1',
      '',
    ])
    // etcdctl 3.4 prints health to stderr, for real etcd too.
    expect((await etcdctl(endpoint, ['endpoint', 'health'])).stderr).toMatch(
      new RegExp(`^${endpoint} is healthy: successfully committed proposal: took = \\S+\n$`),
    )
  })

  it('reports a member that knows no leader in endpoint status, as etcd does', async () => {
    const { endpoint } = await startNode({ role: 'no-leader' })
    const json = await etcdctl(endpoint, ['endpoint', 'status', '-w', 'json'])
    const [entry] = JSON.parse(json.stdout) as { Status: Record<string, unknown> }[]
    expect(entry?.Status.errors).toEqual(['etcdserver: no leader'])
    expect(entry?.Status.leader).toBeUndefined()
    const simple = await etcdctl(endpoint, ['endpoint', 'status'])
    expect(simple.stdout).toMatch(/, etcdserver: no leader\n$/)
  })

  it('hashes, defragments, lists no alarms, and says what it does not support', async () => {
    const { endpoint } = await startNode()
    await etcdctl(endpoint, ['put', 'a', '1'])
    expect((await etcdctl(endpoint, ['endpoint', 'hashkv'])).stdout).toMatch(
      new RegExp(`^${endpoint}, \\d+\n$`),
    )
    expect((await etcdctl(endpoint, ['defrag'])).stdout).toBe(
      `Finished defragmenting etcd member[${endpoint}]\n`,
    )
    expect((await etcdctl(endpoint, ['alarm', 'list'])).stdout).toBe('')
    expect(await call(endpoint, 'Maintenance', 'Hash', {})).toMatchObject({
      header: { revision: '2' },
    })
    const dir = await mkdtemp(join(tmpdir(), 'raftlab-grpc-'))
    try {
      const snapshot = await etcdctl(endpoint, ['snapshot', 'save', join(dir, 's.db')])
      expect(errorLine(snapshot)).toMatch(/Unimplemented desc = raftlab: Snapshot is not supported/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    // etcd's HashByRev refuses a revision at or below the compaction, the current one too.
    await etcdctl(endpoint, ['put', 'a', '2'])
    await etcdctl(endpoint, ['compaction', '3'])
    for (const revision of ['2', '3']) {
      expect(await failure(call(endpoint, 'Maintenance', 'HashKV', { revision }))).toEqual({
        code: grpc.status.OUT_OF_RANGE,
        details: 'etcdserver: mvcc: required revision has been compacted',
      })
    }
    expect(await call(endpoint, 'Auth', 'AuthStatus', {})).toMatchObject({ enabled: false })
    expect(await failure(call(endpoint, 'Auth', 'Authenticate', { name: 'root' }))).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'etcdserver: authentication is not enabled',
    })
    expect((await failure(call(endpoint, 'Auth', 'UserAdd', { name: 'u' }))).code).toBe(
      grpc.status.UNIMPLEMENTED,
    )
  })
})

// ---- A learner -------------------------------------------------------------------------

describe('a learner serves only endpoint status and serializable reads, as etcd 3.4', () => {
  const refused = 'Error: etcdserver: rpc not supported for learner'

  it('refuses every other unary call through etcdctl, proposing nothing', async () => {
    const { endpoint, backend } = await startNode()
    await etcdctl(endpoint, ['put', 'foo', 'x'])
    backend.learner = true
    const proposed = backend.proposals.length
    const grant = 'Error: failed to grant lease (etcdserver: rpc not supported for learner)'
    for (const [args, line] of [
      [['get', 'foo'], refused],
      [['put', 'foo', 'y'], refused],
      [['del', 'foo'], refused],
      [['lease', 'grant', '10'], grant],
      [['compaction', '2'], refused],
      [['member', 'list'], refused],
      [['alarm', 'list'], refused],
    ] as const) {
      const run = await etcdctl(endpoint, args)
      expect({ args, line: errorLine(run), code: run.code }).toEqual({ args, line, code: 1 })
    }
    expect(backend.proposals.length).toBe(proposed)
    expect((await etcdctl(endpoint, ['get', 'foo', '--consistency=s'])).stdout).toBe('foo\nx\n')
    const status = await etcdctl(endpoint, ['endpoint', 'status', '-w', 'json'])
    expect(JSON.parse(status.stdout)).toMatchObject([{ Status: { isLearner: true } }])
    // clientv3 retries the refusals of repeatable calls (Unavailable) before giving up.
  }, 60_000)

  it('with gRPC status UNAVAILABLE, for a serializable txn, and for every stream', async () => {
    const { endpoint, backend } = await startNode()
    backend.learner = true
    const expected = {
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: rpc not supported for learner',
    }
    // Only a Range may be serializable on a learner; a read-only txn is refused.
    const txn = { compare: [], success: [{ request_range: { key: b('a'), serializable: true } }] }
    expect(await failure(call(endpoint, 'KV', 'Txn', txn))).toEqual(expected)
    expect(await failure(call(endpoint, 'Maintenance', 'HashKV', {}))).toEqual(expected)
    expect(await failure(call(endpoint, 'Auth', 'AuthStatus', {}))).toEqual(expected)
    const { stream, ended } = watchStream(endpoint)
    stream.write({ create_request: { key: b('a') } })
    expect(await ended).toMatchObject(expected)
    expect(backend.store.listeners.size).toBe(0)
    const definition = methodDefinition('Lease', 'LeaseKeepAlive')
    const keepAlive = rawClient(endpoint).makeBidiStreamRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      new grpc.Metadata(),
    )
    keepAlive.on('error', () => {})
    keepAlive.write({ ID: '1' })
    expect(await new Promise((resolve) => keepAlive.on('status', resolve))).toMatchObject(expected)
    expect(backend.keepAlives).toEqual([])
    // Promoted: served again.
    backend.learner = false
    expect((await etcdctl(endpoint, ['put', 'foo', 'z'])).stdout).toBe('OK\n')
  })
})

// ---- Forwarding --------------------------------------------------------------------------

describe('a follower forwards what only the leader serves', () => {
  async function pair(): Promise<{ leader: TestNode; follower: TestNode }> {
    const leader = await startNode({ memberId: 1 })
    const follower = await startNode({
      memberId: 2,
      role: 'follower',
      leaderAddress: leader.endpoint,
      leader: leader.backend,
    })
    return { leader, follower }
  }

  it('writes: handed to the leader by the backend, answered by the follower', async () => {
    const { leader, follower } = await pair()
    expect((await etcdctl(follower.endpoint, ['put', 'fwd', 'v'])).stdout).toBe('OK\n')
    expect(follower.backend.proposals).toEqual([])
    expect(leader.backend.proposals.map((c) => c.type)).toEqual(['put'])
    expect((await etcdctl(leader.endpoint, ['get', 'fwd'])).stdout).toBe('fwd\nv\n')
    expect((await etcdctl(follower.endpoint, ['del', 'fwd'])).stdout).toBe('1\n')
    const txn = await etcdctl(
      follower.endpoint,
      ['txn', '--interactive=false'],
      'version("fwd") = "0"\n\nput fwd again\n\n\n',
    )
    expect(txn.stdout).toBe('SUCCESS\n\nOK\n')
    // The answering member's header, as from etcd; the revision is the write's.
    const client = etcd3(follower.endpoint)
    const put = await client.put('h').value('x').exec()
    expect(put.header).toMatchObject({ member_id: '2', revision: '5' })
  })

  it('passes the leader errors back unchanged', async () => {
    const { follower } = await pair()
    expect(errorLine(await etcdctl(follower.endpoint, ['compaction', '100']))).toBe(
      'Error: etcdserver: mvcc: required revision is a future revision',
    )
  })

  it('leases: grant, keep-alive (a forwarded stream), time-to-live and revoke', async () => {
    const { leader, follower } = await pair()
    expect((await etcdctl(follower.endpoint, ['lease', 'grant', '10'])).stdout).toBe(
      'lease 0000000000000001 granted with TTL(10s)\n',
    )
    expect((await etcdctl(follower.endpoint, ['lease', 'keep-alive', '--once', '1'])).stdout).toBe(
      'lease 0000000000000001 keepalived with TTL(10)\n',
    )
    expect(leader.backend.keepAlives).toEqual([1])
    expect((await etcdctl(follower.endpoint, ['lease', 'timetolive', '1'])).stdout).toMatch(
      /^lease 0000000000000001 granted with TTL\(10s\), remaining\((9|10)s\)\n$/,
    )

    const client = etcd3(follower.endpoint)
    const lease = client.lease(7)
    const id = await lease.grant()
    expect((await lease.keepaliveOnce()).TTL).toBe('7')
    expect((await lease.keepaliveOnce()).TTL).toBe('7')
    // The etcd3 lease also runs its own keep-alive loop, through the follower as well.
    expect(leader.backend.keepAlives.filter((renewed) => renewed === Number(id)).length).toBe(
      leader.backend.keepAlives.length - 1,
    )
    expect(leader.backend.keepAlives.length).toBeGreaterThanOrEqual(3)
    await lease.revoke()
    expect(leader.backend.store.leases.has(Number(id))).toBe(false)
  })

  it('membership changes and leadership transfer', async () => {
    const { leader, follower } = await pair()
    const added = await etcdctl(follower.endpoint, [
      'member',
      'add',
      'n3',
      '--peer-urls=http://127.0.0.1:2399',
    ])
    expect(added.stdout).toContain('Member                2 added to cluster')
    expect(leader.backend.memberList.map((m) => m.peerURLs[0])).toContain('http://127.0.0.1:2399')
    await call(follower.endpoint, 'Maintenance', 'MoveLeader', { targetID: '1' })
    expect(leader.backend.leaderMoves).toEqual([1])
  })

  it('without a leader: "etcdserver: no leader"; serializable reads still work', async () => {
    const { endpoint } = await startNode({ role: 'no-leader' })
    expect(errorLine(await etcdctl(endpoint, ['put', 'a', '1']))).toBe(
      'Error: etcdserver: no leader',
    )
    expect(errorLine(await etcdctl(endpoint, ['get', 'a']))).toBe('Error: etcdserver: no leader')
    const serializable = await etcdctl(endpoint, ['get', 'a', '--consistency=s'])
    expect(serializable).toMatchObject({ code: 0, stdout: '' })
  })

  it('never twice: a follower that receives a forwarded request answers "leader changed"', async () => {
    const a = await startNode({ memberId: 1, role: 'follower' })
    const b = await startNode({ memberId: 2, role: 'follower', leaderAddress: a.endpoint })
    a.backend.leaderAddress = b.endpoint
    const add = { peerURLs: ['http://127.0.0.1:2399'] }
    expect(await failure(call(a.endpoint, 'Cluster', 'MemberAdd', add))).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: leader changed',
    })
    expect([a.backend.memberList.length, b.backend.memberList.length]).toEqual([1, 1])
    // A write that arrives marked as forwarded (from a node that still forwards writes over
    // gRPC) is refused the same way by a node that does not lead.
    const md = new grpc.Metadata()
    md.set(FORWARDED_BY, '1')
    expect(await failure(call(b.endpoint, 'KV', 'Put', { key: Buffer.from('k') }, md))).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: leader changed',
    })
    expect([a.backend.proposals, b.backend.proposals]).toEqual([[], []])
  })

  it('a leader that does not answer in time: "etcdserver: request timed out"', async () => {
    const leader = await startNode({ memberId: 1 })
    const follower = await startNode({
      memberId: 2,
      role: 'follower',
      leaderAddress: leader.endpoint,
      forwardTimeoutMs: 200,
    })
    let release: () => void = () => {}
    leader.backend.memberAdd = () =>
      new Promise((resolve) => {
        release = () => resolve(ErrPeerURLExist)
      })
    const add = { peerURLs: ['http://127.0.0.1:2399'] }
    expect(await failure(call(follower.endpoint, 'Cluster', 'MemberAdd', add))).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: request timed out',
    })
    release()
  })

  it('a leader that cannot be reached: UNAVAILABLE, and the follower keeps serving', async () => {
    const gone = await startNode()
    await gone.server.close()
    const follower = await startNode({
      memberId: 2,
      role: 'follower',
      leaderAddress: gone.endpoint,
    })
    const add = { peerURLs: ['http://127.0.0.1:2399'] }
    expect((await failure(call(follower.endpoint, 'Cluster', 'MemberAdd', add))).code).toBe(
      grpc.status.UNAVAILABLE,
    )
    expect(await call(follower.endpoint, 'KV', 'Range', { key: b('k') })).toMatchObject({
      count: '0',
    })
    expect(
      follower.logs.some((l) => l.level === 'warn' && l.fields?.leader === gone.endpoint),
    ).toBe(true)
  })
})
