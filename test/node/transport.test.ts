import { spawn } from 'node:child_process'
import { seededRandom } from '../../src/main/raft'
import net from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { crc32 } from '../../src/main/kv/crc32'
import {
  decodePayload,
  encodePayload,
  PROTOCOL_VERSION,
  type Payload,
  type PeerMessage,
} from '../../src/main/node/transport/codec'
import { encodeFrame, FrameDecoder, FrameTooLargeError } from '../../src/main/node/transport/frame'
import {
  PeerTransport,
  type LogLevel,
  type TransportOptions,
} from '../../src/main/node/transport/transport'
import type { InstallSnapshot, Message } from '../../src/main/raft/messages'

const REPO_ROOT = join(import.meta.dirname, '..', '..')
const TRANSPORT_MODULE = join(REPO_ROOT, 'src/main/node/transport/transport.ts')
const CLUSTER = 'test-cluster'
const MAX = 8 * 1024 * 1024

const prng = seededRandom

function randomBytes(n: number, seed: number): Uint8Array {
  const next = prng(seed)
  const out = new Uint8Array(n)
  const words = new Uint32Array(out.buffer, 0, n >>> 2)
  for (let i = 0; i < words.length; i++) words[i] = next() * 4294967296
  for (let i = words.length * 4; i < n; i++) out[i] = next() * 256
  return out
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

// ---- nodes under test ----

interface LogLine {
  readonly level: LogLevel
  readonly msg: string
}

interface TestNode {
  readonly id: number
  t: PeerTransport
  readonly inbox: PeerMessage[]
  readonly unreachable: number[]
  readonly snapshotStatus: [number, boolean][]
  readonly logs: LogLine[]
  readonly addr: string
}

const opened: PeerTransport[] = []
const rawSockets: net.Socket[] = []
const rawServers: net.Server[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()))
  for (const s of rawSockets.splice(0)) s.destroy()
  await Promise.all(
    rawServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  )
})

type Extra = Partial<Omit<TransportOptions, 'onMessage' | 'onUnreachable' | 'onSnapshotStatus'>>

async function startNode(id: number, extra: Extra = {}, node?: TestNode): Promise<TestNode> {
  const n: TestNode = node ?? {
    id,
    t: undefined as unknown as PeerTransport,
    inbox: [],
    unreachable: [],
    snapshotStatus: [],
    logs: [],
    addr: '',
  }
  const t = await PeerTransport.listen({
    clusterId: CLUSTER,
    nodeId: id,
    host: '127.0.0.1',
    port: 0,
    peers: new Map(),
    onMessage: (m) => n.inbox.push(m),
    onUnreachable: (p) => n.unreachable.push(p),
    onSnapshotStatus: (p, ok) => n.snapshotStatus.push([p, ok]),
    log: (level, msg) => n.logs.push({ level, msg }),
    ...extra,
  })
  opened.push(t)
  n.t = t
  ;(n as { addr: string }).addr = `127.0.0.1:${t.address.port}`
  return n
}

async function startCluster(count: number, extra: Extra = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = []
  for (let id = 1; id <= count; id++) nodes.push(await startNode(id, extra))
  const peers = new Map(nodes.map((n) => [n.id, n.addr]))
  for (const n of nodes) n.t.setPeers(peers)
  return nodes
}

function heartbeat(from: number, to: number, commit = 0): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, context: '' }
}

function commits(inbox: readonly PeerMessage[]): number[] {
  return inbox.map((m) => (m.type === 'heartbeat' ? m.commit : -1))
}

function snapshotMessage(from: number, to: number, data: Uint8Array): InstallSnapshot {
  const confState = { voters: [1, 2, 3], learners: [4] }
  return {
    type: 'installSnapshot',
    from,
    to,
    term: 4,
    snapshot: { meta: { index: 1000, term: 3, confState }, data },
  }
}

function everyType(from: number, to: number): Message[] {
  const env = { from, to, term: 3 }
  return [
    {
      type: 'appendEntries',
      ...env,
      prevLogIndex: 10,
      prevLogTerm: 2,
      leaderCommit: 9,
      entries: [
        { type: 'normal', term: 3, index: 11, data: Uint8Array.of(1, 2, 3) },
        {
          type: 'confChange',
          term: 3,
          index: 12,
          change: { type: 'addLearner', nodeId: 4, context: '127.0.0.1:2380' },
        },
        { type: 'confChange', term: 3, index: 13, change: { type: 'removeNode', nodeId: 4 } },
        { type: 'normal', term: 3, index: 14, data: new Uint8Array(0) },
      ],
    },
    {
      type: 'appendEntriesResponse',
      ...env,
      index: 13,
      reject: true,
      rejectHint: 7,
      hintTerm: 2,
    },
    { type: 'heartbeat', ...env, commit: 9, context: 'ctx-1' },
    { type: 'heartbeatResponse', ...env, context: 'ctx-1' },
    { type: 'requestVote', ...env, lastLogIndex: 14, lastLogTerm: 3, transfer: true },
    { type: 'requestPreVote', ...env, lastLogIndex: 14, lastLogTerm: 3, transfer: false },
    { type: 'requestVoteResponse', ...env, reject: false },
    { type: 'requestPreVoteResponse', ...env, reject: true },
    snapshotMessage(from, to, Uint8Array.of(9, 8, 7)),
    { type: 'timeoutNow', ...env },
    { type: 'readIndex', ...env, context: 'read-7' },
    { type: 'readIndexResponse', ...env, index: 42, context: 'read-7' },
    { type: 'transferLeader', ...env, transferee: 3 },
  ]
}

// ---- a hand-driven peer, to speak (or mis-speak) the protocol from the other side ----

function frameOf(p: Payload): Buffer {
  return encodeFrame(encodePayload(p), MAX)
}

function helloFrame(nodeId: number, clusterId = CLUSTER): Buffer {
  return frameOf({
    kind: 'hello',
    hello: { version: PROTOCOL_VERSION, clusterId, nodeId, name: `node-${nodeId}`, client: '' },
  })
}

interface RawConn {
  readonly socket: net.Socket
  readonly payloads: Payload[]
  closed: boolean
}

function watch(socket: net.Socket): RawConn {
  const conn: RawConn = { socket, payloads: [], closed: false }
  const decoder = new FrameDecoder(MAX)
  socket.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) conn.payloads.push(decodePayload(f))
  })
  socket.on('error', () => {})
  socket.on('close', () => (conn.closed = true))
  return conn
}

async function rawConnect(port: number): Promise<RawConn> {
  const socket = net.connect({ host: '127.0.0.1', port })
  rawSockets.push(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return watch(socket)
}

/** A server that plays node `id`: `onConn` decides what it does with each connection. */
async function rawPeer(onConn: (conn: RawConn) => void): Promise<string> {
  const server = net.createServer((socket) => {
    rawSockets.push(socket)
    onConn(watch(socket))
  })
  rawServers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`
}

function warnings(n: TestNode): string[] {
  return n.logs.filter((l) => l.level !== 'info').map((l) => l.msg)
}

// ---- tests ----

describe('FrameDecoder', () => {
  const payloads = [Uint8Array.of(1), new Uint8Array(0), randomBytes(1000, 1), Uint8Array.of(4, 5)]
  const stream = Buffer.concat(payloads.map((p) => encodeFrame(p, MAX)))

  it('reassembles frames split at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder(MAX)
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))]
      expect(out.map(hex)).toEqual(payloads.map(hex))
      expect(d.pendingBytes).toBe(0)
    }
  })

  it('reassembles a stream fed one byte at a time, and several frames in one chunk', () => {
    const d = new FrameDecoder(MAX)
    const out: Uint8Array[] = []
    for (const b of stream) out.push(...d.push(Uint8Array.of(b)))
    expect(out.map((b) => Uint8Array.from(b))).toEqual(payloads)
    expect([...new FrameDecoder(MAX).push(stream)]).toHaveLength(payloads.length)
  })

  it('yields the frames before an oversized length, then throws naming the length', () => {
    const d = new FrameDecoder(1024)
    const bad = Buffer.concat([encodeFrame(Uint8Array.of(7), MAX), Buffer.from([0, 0, 4, 1])])
    const seen: Uint8Array[] = []
    expect(() => {
      for (const f of d.push(bad)) seen.push(f)
    }).toThrow(new FrameTooLargeError(1025, 1024, Uint8Array.of(0, 0, 4, 1)))
    expect(seen.map((b) => Uint8Array.from(b))).toEqual([Uint8Array.of(7)])
    expect(() => [...new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))]).toThrow(
      'frame length 1195725856 exceeds the maximum of 8388608 bytes (the stream starts with the text "GET ": an HTTP client?)',
    )
  })

  it('refuses to encode a payload over the maximum', () => {
    expect(() => encodeFrame(new Uint8Array(11), 10)).toThrow(
      'frame payload of 11 bytes exceeds the maximum of 10 bytes',
    )
  })
})

describe('PeerTransport', () => {
  it('delivers messages of every type in both directions, in order', async () => {
    const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
    const ab = everyType(1, 2)
    const ba = everyType(2, 1)
    for (const m of ab) a.t.send(m)
    for (const m of ba) b.t.send(m)
    await waitFor(
      'all messages',
      () => a.inbox.length === ba.length && b.inbox.length === ab.length,
    )
    expect(b.inbox).toEqual(ab)
    expect(a.inbox).toEqual(ba)
    // The inline snapshot is reported like a chunked one.
    await waitFor('snapshot status', () => a.snapshotStatus.length === 1)
    expect(a.snapshotStatus).toEqual([[2, true]])
    const s = a.t.stats()
    expect(s).toMatchObject({ sent: ab.length, received: ba.length, dropped: 0, connections: 2 })
    expect(s.bytesSent).toBeGreaterThan(0)
    expect(s.bytesReceived).toBe(b.t.stats().bytesSent)
    expect(warnings(a)).toEqual([])
    expect(warnings(b)).toEqual([])
  })

  it('connects every pair of a three-node cluster', async () => {
    const nodes = await startCluster(3)
    for (const from of nodes) {
      for (const to of nodes) if (from !== to) from.t.send(heartbeat(from.id, to.id, from.id))
    }
    await waitFor('six messages', () => nodes.every((n) => n.inbox.length === 2))
    for (const n of nodes) {
      expect(commits(n.inbox).sort()).toEqual(nodes.filter((o) => o !== n).map((o) => o.id))
      expect(n.t.stats().connections).toBe(4)
    }
  })

  it('sends a large snapshot in chunks and reassembles it intact', async () => {
    // The receiver's frame limit is below the snapshot size, so only chunks can get through.
    const a = await startNode(1)
    const b = await startNode(2, { maxFrameBytes: 2 * 1024 * 1024 })
    a.t.setPeers(new Map([[2, b.addr]]))
    const data = randomBytes(5 * 1024 * 1024 + 17, 5)
    const snap = snapshotMessage(1, 2, data)
    a.t.send(snap)
    a.t.send(heartbeat(1, 2, 77))
    await waitFor('snapshot and heartbeat', () => b.inbox.length === 2, 20_000)
    const got = b.inbox[0] as InstallSnapshot
    expect(got.type).toBe('installSnapshot')
    expect({ ...got, snapshot: { ...got.snapshot, data: null } }).toEqual({
      ...snap,
      snapshot: { ...snap.snapshot, data: null },
    })
    expect(got.snapshot.data.length).toBe(data.length)
    expect(crc32(got.snapshot.data)).toBe(crc32(data))
    expect(Buffer.compare(got.snapshot.data, data)).toBe(0)
    expect(commits(b.inbox.slice(1))).toEqual([77])
    await waitFor('snapshot status', () => a.snapshotStatus.length === 1)
    expect(a.snapshotStatus).toEqual([[2, true]])
    expect(a.t.stats().sent).toBe(2)
    expect(warnings(b)).toEqual([])
  })

  it('reports a snapshot failed when the connection dies mid-transfer', async () => {
    const a = await startNode(1)
    const addr = await rawPeer((conn) => {
      conn.socket.once('data', () => {
        conn.socket.write(helloFrame(2))
        // Stop reading so the transfer stalls in the socket buffers, then hang up.
        conn.socket.pause()
        setTimeout(() => conn.socket.destroy(), 300)
      })
    })
    a.t.setPeers(new Map([[2, addr]]))
    a.t.send(snapshotMessage(1, 2, randomBytes(32 * 1024 * 1024, 6)))
    await waitFor('snapshot status', () => a.snapshotStatus.length === 1, 10_000)
    expect(a.snapshotStatus).toEqual([[2, false]])
    await waitFor('unreachable', () => a.unreachable.includes(2))
    expect(warnings(a).join('\n')).toMatch(/lost connection to node 2 at 127\.0\.0\.1:\d+/)
  })

  it('reports an unreachable peer and reconnects when it comes back on the same port', async () => {
    const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
    a.t.send(heartbeat(1, 2, 1))
    await waitFor('first heartbeat', () => b.inbox.length === 1)
    const port = b.t.address.port
    await b.t.close()

    let commit = 2
    a.t.send(heartbeat(1, 2, commit++))
    await waitFor('onUnreachable(2)', () => a.unreachable.includes(2))
    expect(warnings(a).join('\n')).toMatch(/lost connection to node 2 at 127\.0\.0\.1:\d+/)
    // Keep sending while it is down: dropped, not queued for later.
    for (let i = 0; i < 20; i++) {
      a.t.send(heartbeat(1, 2, commit++))
      await sleep(10)
    }
    b.inbox.length = 0
    await startNode(2, { port }, b)
    b.t.setPeers(new Map([[1, a.addr]]))
    const firstAfter = commit
    await waitFor(
      'a heartbeat after the restart',
      () => {
        a.t.send(heartbeat(1, 2, commit++))
        return b.inbox.length > 0
      },
      10_000,
    )
    expect(commits(b.inbox).every((c) => c >= firstAfter)).toBe(true)
    expect(a.t.stats().dropped).toBeGreaterThan(0)
    expect(a.logs.map((l) => l.msg)).toContain(`connected again to node 2 at ${b.addr}`)
  })

  it('connectAll opens a connection to every peer before any message needs one', async () => {
    const nodes = await startCluster(3)
    expect(nodes.map((n) => n.t.stats().connections)).toEqual([0, 0, 0])
    for (const n of nodes) n.t.connectAll()
    // Each node: two links out, two connections in.
    await waitFor('every link', () => nodes.every((n) => n.t.stats().connections === 4))
    expect(nodes.map((n) => n.t.stats().sent)).toEqual([0, 0, 0])
  })

  it('a link waiting out its backoff dials at once when the peer connects to us', async () => {
    // The longest jitter: the backoff after each failure is exactly 50, 100, ..., 2000 ms.
    const [a, b] = (await startCluster(2, { random: () => 1 })) as [TestNode, TestNode]
    a.t.connectAll()
    await waitFor('connected', () => a.t.stats().connections === 1)
    const port = b.t.address.port
    await b.t.close()
    // Down long enough for a's backoff to reach its 2 s ceiling.
    await sleep(3500)
    await startNode(2, { port, random: () => 1 }, b)
    b.t.setPeers(new Map([[1, a.addr]]))
    const back = performance.now()
    b.t.connectAll()
    await waitFor('a connected again', () =>
      a.logs.some((l) => l.msg === `connected again to node 2 at ${b.addr}`),
    )
    // Without the peer's connection a would have waited up to 2 s for its next dial.
    expect(performance.now() - back).toBeLessThan(1000)
  })

  it('refuses a peer of another cluster, and both sides say why', async () => {
    const a = await startNode(1, { clusterId: 'alpha' })
    const b = await startNode(2, { clusterId: 'beta' })
    a.t.setPeers(new Map([[2, b.addr]]))
    a.t.send(heartbeat(1, 2))
    await waitFor('refusal', () => warnings(b).length > 0 && a.unreachable.includes(2))
    expect(warnings(b)[0]).toMatch(
      /^peer 127\.0\.0\.1:\d+ belongs to cluster alpha, not beta; closing the connection$/,
    )
    await waitFor('dialer log', () => warnings(a).length > 0)
    expect(warnings(a)[0]).toBe(
      `cannot connect to node 2 at ${b.addr}: peer ${b.addr} belongs to cluster beta, not alpha; retrying with backoff`,
    )
    expect(b.inbox).toEqual([])
    expect(b.t.stats().connections).toBe(0)
  })

  it('refuses a peer address that answers as another node', async () => {
    const [a, , c] = (await startCluster(3)) as [TestNode, TestNode, TestNode]
    a.t.setPeers(new Map([[2, c.addr]]))
    a.t.send(heartbeat(1, 2))
    await waitFor('refusal', () => a.unreachable.includes(2))
    expect(warnings(a)[0]).toContain(
      `peer ${c.addr} is node 3, not node 2: check the peer addresses`,
    )
    expect(c.inbox).toEqual([])
  })

  it('closes connections that send garbage, and keeps serving a real peer', async () => {
    const [a, b] = (await startCluster(2, { handshakeTimeoutMs: 300 })) as [TestNode, TestNode]
    const port = a.t.address.port
    const cases: [string, Buffer, RegExp][] = [
      // Until its hello, a connection may send only small frames: a full-size one would be
      // buffered before anyone knows who sent it.
      ['random bytes', Buffer.from(randomBytes(256, 9)), /exceeds the maximum of 4096 bytes/],
      [
        'a full-size frame before the hello',
        Buffer.from([0, 0x50, 0, 0, 1, 2, 3]),
        /frame length 5242880 exceeds the maximum of 4096 bytes/,
      ],
      ['a huge length', Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]), /frame length 2147483647/],
      [
        'an HTTP request',
        Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
        /the stream starts with the text "GET ": an HTTP client\?/,
      ],
      [
        'a frame that is not a hello',
        frameOf({ kind: 'message', message: heartbeat(2, 1) }),
        /expected a hello first, got a message frame/,
      ],
      [
        'a hello without the magic',
        encodeFrame(Uint8Array.of(1, 0, 0, 0, 0, 1), MAX),
        /not a RaftLab peer/,
      ],
      [
        'half a frame, then silence',
        Buffer.from([0, 0, 0, 50, 1, 2]),
        /sent no hello within 300 ms/,
      ],
    ]
    for (const [what, bytes, reason] of cases) {
      const conn = await rawConnect(port)
      const local = `127.0.0.1:${conn.socket.localPort}`
      const before = a.logs.length
      conn.socket.write(bytes)
      await waitFor(`the transport to close on ${what}`, () => conn.closed)
      const line = a.logs.slice(before).find((l) => l.msg.includes(local))
      expect(line?.level, what).toBe('warn')
      expect(line?.msg, what).toMatch(reason)
      expect(conn.payloads, what).toEqual([])
    }
    b.t.send(heartbeat(2, 1, 5))
    await waitFor('the real peer', () => a.inbox.length === 1)
    expect(commits(a.inbox)).toEqual([5])
  })

  it('closes a connection whose messages claim another sender', async () => {
    const a = await startNode(1)
    const conn = await rawConnect(a.t.address.port)
    conn.socket.write(helloFrame(2))
    await waitFor('hello back', () => conn.payloads.length === 1)
    expect(conn.payloads[0]).toMatchObject({
      kind: 'hello',
      hello: { nodeId: 1, clusterId: CLUSTER },
    })
    conn.socket.write(frameOf({ kind: 'message', message: heartbeat(2, 1, 1) }))
    conn.socket.write(frameOf({ kind: 'message', message: heartbeat(3, 1, 2) }))
    await waitFor('close', () => conn.closed)
    expect(commits(a.inbox)).toEqual([1])
    expect(warnings(a)[0]).toMatch(
      /^peer 127\.0\.0\.1:\d+ \(node 2\) sent a bad frame, closing the connection: a heartbeat from node 3 on node 2's connection$/,
    )
  })

  it('rejects a snapshot whose data does not match its CRC', async () => {
    const a = await startNode(1)
    const conn = await rawConnect(a.t.address.port)
    conn.socket.write(helloFrame(2))
    const meta = { index: 5, term: 1, confState: { voters: [1, 2], learners: [] } }
    const header = {
      from: 2,
      to: 1,
      term: 1,
      meta,
      totalBytes: 4,
      crc: crc32(Uint8Array.of(1, 2, 3, 4)),
    }
    conn.socket.write(frameOf({ kind: 'snapshotHeader', header }))
    conn.socket.write(
      frameOf({ kind: 'snapshotChunk', offset: 0, data: Uint8Array.of(1, 2, 3, 5) }),
    )
    await waitFor('close', () => conn.closed)
    expect(a.inbox).toEqual([])
    expect(warnings(a)[0]).toContain('snapshot at index 5 failed its CRC-32 check')
  })

  it('drops the oldest messages beyond the queue bound', async () => {
    let release = (): void => {}
    let peer: RawConn | undefined
    const addr = await rawPeer((conn) => {
      peer = conn
      release = () => conn.socket.write(helloFrame(2))
    })
    const a = await startNode(1, { maxQueueMessages: 10 })
    a.t.setPeers(new Map([[2, addr]]))
    for (let i = 0; i < 100; i++) a.t.send(heartbeat(1, 2, i))
    await waitFor('the hello', () => (peer?.payloads.length ?? 0) === 1)
    release()
    await waitFor('the queue', () => (peer?.payloads.length ?? 0) === 11)
    const got = (peer?.payloads ?? [])
      .slice(1)
      .map((p) => (p.kind === 'message' ? p.message : null))
    expect(commits(got as Message[])).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99])
    expect(a.t.stats()).toMatchObject({ sent: 10, dropped: 90 })
  })

  it('drops messages to a node it has no address for, and reports it unreachable', async () => {
    const a = await startNode(1)
    a.t.send(heartbeat(1, 9))
    a.t.send(heartbeat(1, 9))
    await waitFor('unreachable', () => a.unreachable.length === 2)
    expect(a.unreachable).toEqual([9, 9])
    expect(a.t.stats().dropped).toBe(2)
    expect(warnings(a)).toEqual(['no address for node 9, dropping messages to it'])
  })

  it('rejects a port in use with a clear error', async () => {
    const a = await startNode(1)
    await expect(startNode(2, { port: a.t.address.port })).rejects.toThrow(
      `peer port 127.0.0.1:${a.t.address.port} is already in use`,
    )
  })

  it('validates its options', async () => {
    await expect(startNode(1, { clusterId: '' })).rejects.toThrow('cluster id must not be empty')
    await expect(startNode(1, { snapshotChunkBytes: MAX })).rejects.toThrow(
      'snapshot chunk bytes must be an integer in 1..8387584',
    )
    await expect(startNode(1, { peers: new Map([[2, 'localhost']]) })).rejects.toThrow(
      'peer 2 address "localhost" is not host:port',
    )
  })

  describe('faults', () => {
    it('drop=1 and blocked drop everything on the link; removing them restores delivery', async () => {
      const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
      a.t.setFaults([{ peer: 2, out: { drop: 1 } }])
      for (let i = 0; i < 10; i++) a.t.send(heartbeat(1, 2, i))
      a.t.setFaults([{ peer: 2, out: { blocked: true } }])
      for (let i = 10; i < 20; i++) a.t.send(heartbeat(1, 2, i))
      a.t.send(snapshotMessage(1, 2, Uint8Array.of(1)))
      await waitFor('snapshot failure', () => a.snapshotStatus.length === 1)
      expect(a.snapshotStatus).toEqual([[2, false]])
      expect(a.t.stats().dropped).toBe(21)
      a.t.setFaults([])
      a.t.send(heartbeat(1, 2, 100))
      // FIFO: had anything before it been sent, it would have arrived first.
      await waitFor('delivery', () => b.inbox.length === 1)
      expect(commits(b.inbox)).toEqual([100])
    })

    it('an inbound block ignores what the peer sends', async () => {
      const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
      b.t.setFaults([{ peer: 1, in: { blocked: true } }])
      for (let i = 0; i < 5; i++) a.t.send(heartbeat(1, 2, i))
      await waitFor('inbound drops', () => b.t.stats().dropped === 5)
      b.t.send(heartbeat(2, 1, 9))
      await waitFor('the other direction', () => a.inbox.length === 1)
      b.t.setFaults([])
      a.t.send(heartbeat(1, 2, 100))
      await waitFor('delivery', () => b.inbox.length === 1)
      expect(commits(b.inbox)).toEqual([100])
      expect(a.t.stats().dropped).toBe(0)
    })

    it('drop draws from the injected random source', async () => {
      const a = await startNode(1, { random: prng(11) })
      const b = await startNode(2)
      a.t.setPeers(new Map([[2, b.addr]]))
      a.t.setFaults([{ peer: 2, out: { drop: 0.5 } }])
      const expected: number[] = []
      const same = prng(11)
      for (let i = 0; i < 200; i++) {
        if (same() >= 0.5) expected.push(i)
        a.t.send(heartbeat(1, 2, i))
      }
      a.t.setFaults([])
      a.t.send(heartbeat(1, 2, 1000))
      await waitFor(
        'the last message',
        () => b.inbox.at(-1)?.type === 'heartbeat' && commits(b.inbox).at(-1) === 1000,
      )
      expect(commits(b.inbox)).toEqual([...expected, 1000])
      expect(expected.length).toBeGreaterThan(60)
      expect(expected.length).toBeLessThan(140)
    })

    it('delayMs delays messages and keeps them in order, also when the delay changes', async () => {
      const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
      a.t.send(heartbeat(1, 2, 0))
      await waitFor('connection', () => b.inbox.length === 1)
      a.t.setFaults([{ peer: 2, out: { delayMs: 300 } }])
      const start = performance.now()
      for (let i = 1; i <= 5; i++) a.t.send(heartbeat(1, 2, i))
      a.t.setFaults([{ peer: 2, out: { delayMs: 100 } }])
      for (let i = 6; i <= 10; i++) a.t.send(heartbeat(1, 2, i))
      a.t.setFaults([])
      for (let i = 11; i <= 15; i++) a.t.send(heartbeat(1, 2, i))
      await waitFor('the first delayed message', () => b.inbox.length > 1)
      expect(performance.now() - start).toBeGreaterThanOrEqual(250)
      await waitFor('all delayed messages', () => b.inbox.length === 16)
      expect(commits(b.inbox)).toEqual(Array.from({ length: 16 }, (_, i) => i))
    })

    it('an inbound delay holds messages back before onMessage', async () => {
      const [a, b] = (await startCluster(2)) as [TestNode, TestNode]
      b.t.setFaults([{ peer: 1, in: { delayMs: 200 } }])
      const start = performance.now()
      for (let i = 0; i < 5; i++) a.t.send(heartbeat(1, 2, i))
      await waitFor('delayed delivery', () => b.inbox.length === 5)
      expect(performance.now() - start).toBeGreaterThanOrEqual(150)
      expect(commits(b.inbox)).toEqual([0, 1, 2, 3, 4])
    })

    it('setFaults validates the rules and faults() returns them', async () => {
      const a = await startNode(1)
      const rules = [
        { peer: 2, out: { drop: 0.25, delayMs: 10 } },
        { peer: 3, in: { blocked: true }, out: { blocked: true } },
      ]
      a.t.setFaults(rules)
      expect(a.t.faults()).toEqual(rules)
      expect(() => a.t.setFaults([{ peer: 2, out: { drop: 1.5 } }])).toThrow(
        'fault rule for peer 2 (out): drop must be a probability in 0..1, got 1.5',
      )
      expect(() => a.t.setFaults([{ peer: 2, in: { delayMs: -1 } }])).toThrow('delayMs must be')
      expect(() => a.t.setFaults([{ peer: 2 }, { peer: 2 }])).toThrow('name peer 2 twice')
      expect(() => a.t.setFaults([{ peer: 0 }])).toThrow('must be a positive integer')
      expect(a.t.faults()).toEqual(rules)
    })
  })

  it('close() leaves nothing that keeps the process alive', async () => {
    // Run in a process of its own: it must exit by itself once every transport is closed. An
    // unref'd watchdog reports what still holds the event loop if it does not.
    const script = `
      const { PeerTransport } = await import(${JSON.stringify(TRANSPORT_MODULE)})
      setTimeout(() => {
        console.log('still alive: ' + process.getActiveResourcesInfo().join(', '))
        process.exit(2)
      }, 5000).unref()
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
      const inboxes = new Map()
      const ts = []
      for (const id of [1, 2, 3]) {
        inboxes.set(id, [])
        ts.push(await PeerTransport.listen({
          clusterId: 'c', nodeId: id, host: '127.0.0.1', port: 0, peers: new Map(),
          handshakeTimeoutMs: 60000, log() {}, onMessage: (m) => inboxes.get(id).push(m),
        }))
      }
      const [a, b, c] = ts
      const peers = new Map(ts.map((t, i) => [i + 1, '127.0.0.1:' + t.address.port]))
      for (const t of ts) t.setPeers(peers)
      const hb = (from, to) => ({ type: 'heartbeat', from, to, term: 1, commit: 0, context: '' })
      for (const f of [1, 2, 3]) for (const t of [1, 2, 3]) if (f !== t) ts[f - 1].send(hb(f, t))
      while ([...inboxes.values()].some((i) => i.length < 2)) await sleep(5)
      // Leave every kind of pending state behind: delay lines both ways, a reconnect backoff,
      // a connection that never says hello, a snapshot in flight.
      a.setFaults([{ peer: 2, out: { delayMs: 60000 } }])
      a.send(hb(1, 2))
      b.setFaults([{ peer: 3, in: { delayMs: 60000 } }])
      c.send(hb(3, 2))
      await sleep(100)
      await c.close()
      b.send(hb(2, 3))
      await sleep(100)
      const net = await import('node:net')
      const idle = net.connect({ host: '127.0.0.1', port: a.address.port })
      idle.on('error', () => {})
      await new Promise((r) => idle.once('connect', r))
      const data = new Uint8Array(16 * 1024 * 1024)
      const meta = { index: 9, term: 1, confState: { voters: [1, 2], learners: [] } }
      b.send({ type: 'installSnapshot', from: 2, to: 1, term: 1, snapshot: { meta, data } })
      await Promise.all([a.close(), b.close()])
      idle.destroy()
      console.log('closed')
    `
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000)
      child.on('exit', (c) => {
        clearTimeout(kill)
        resolve(c)
      })
    })
    expect(output.trim()).toBe('closed')
    expect(code).toBe(0)
  })

  it('stays quiet after close()', async () => {
    const [a] = (await startCluster(2)) as [TestNode, TestNode]
    await a.t.close()
    a.t.send(heartbeat(1, 2))
    a.t.send(snapshotMessage(1, 2, Uint8Array.of(1)))
    a.t.send(heartbeat(1, 7))
    await sleep(20)
    expect(a.snapshotStatus).toEqual([])
    expect(a.unreachable).toEqual([])
  })
})
