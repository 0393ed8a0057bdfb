// The TCP transport between node processes: it carries the consensus core's messages, and applies
// the playground's network faults (faults.ts) to them.
//
// Connection model: a node dials each peer it sends to and writes its messages on that
// connection; the connections it accepts only bring messages in. So there is one connection per
// ordered pair (two per pair of nodes), each with one writer. That needs no tie-break between
// two nodes dialing each other at once, a restarted peer simply dials anew, and a failed write
// always means "this peer is unreachable from here", which is what the core wants to hear.
//
// Each connection starts with a hello in both directions (codec.ts): the dialer names its
// protocol version, cluster and node id; the acceptor checks them and answers with its own, and
// the dialer checks that it reached the node it meant to. Messages flow only after that.
//
// Messages are best effort, as Raft expects of its network: a message for a peer that cannot be
// reached is dropped (and onUnreachable tells the node, so the leader probes instead of
// pipelining), and the per-peer queue is bounded, dropping its oldest messages first. Every
// installSnapshot gets exactly one onSnapshotStatus: true once its last byte is handed to the
// socket, false if it is dropped or the connection fails first. A snapshot larger than one chunk
// is sent as a header frame and data chunk frames, back to back on the connection (the receiver
// refuses anything interleaved), and delivered as one message after its size and CRC-32 check
// out; the chunks are cut as the socket drains, so a large snapshot is never copied whole.
//
// A bad frame (too long, malformed, out of protocol) closes that one connection with a log line
// naming the remote address and the problem. Nothing from the network throws out of a socket
// handler.

import net from 'node:net'
import { crc32, crc32Update } from '../../kv/crc32'
import type { InstallSnapshot, NodeId } from '../../raft/messages'
import {
  decodePayload,
  encodePayload,
  PROTOCOL_VERSION,
  type Hello,
  type Payload,
  type ForwardRequest,
  type PeerMessage,
  type SnapshotHeader,
} from './codec'
import {
  DelayLines,
  EMPTY_FAULT_TABLE,
  faultTable,
  NO_FAULTS,
  type FaultRules,
  type FaultTable,
  type ResolvedFaults,
} from './faults'
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, MAX_FRAME_BYTES_LIMIT } from './frame'

export type { FaultRule, FaultRules, LinkFaults } from './faults'
export type { ForwardReply, ForwardRequest, PeerMessage } from './codec'

export type LogLevel = 'info' | 'warn' | 'error'
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void

export interface TransportStats {
  /** Messages written to a peer's socket (a chunked snapshot counts once). */
  readonly sent: number
  /** Messages handed to onMessage. */
  readonly received: number
  /** Messages dropped for any reason: faults, unreachable peer, full queue, oversize. */
  readonly dropped: number
  readonly bytesSent: number
  readonly bytesReceived: number
  /** Connections past their handshake, accepted and dialed. */
  readonly connections: number
}

export interface TransportOptions {
  readonly clusterId: string
  readonly nodeId: NodeId
  /** Listen address; port 0 picks a free port (tests). */
  readonly host: string
  readonly port: number
  /** Node id -> "host:port". An entry for this node itself is ignored. */
  readonly peers: ReadonlyMap<NodeId, string>
  /**
   * Largest frame accepted or sent, default 8 MiB. Bounds what a peer can make this node
   * buffer; must hold the largest append (the core's maxSizePerMsg) and a snapshot chunk.
   */
  readonly maxFrameBytes?: number
  /** Snapshot data above this size is sent in chunks of this size, default 1 MiB. */
  readonly snapshotChunkBytes?: number
  /** Per-peer send queue bound, default 4096 messages. */
  readonly maxQueueMessages?: number
  /** Per-peer send queue bound in encoded bytes, default 64 MiB; chunked snapshots count 0. */
  readonly maxQueueBytes?: number
  /** A connection that has not completed its hello by then is closed, default 5000 ms. */
  readonly handshakeTimeoutMs?: number
  /** Uniform in [0, 1), for drop faults and reconnect jitter; default Math.random. */
  readonly random?: () => number
  onMessage(m: PeerMessage): void
  /** A message to `peer` could not be delivered; the node calls RawNode.reportUnreachable. */
  onUnreachable?(peer: NodeId): void
  /** The node calls RawNode.reportSnapshot. */
  onSnapshotStatus?(peer: NodeId, ok: boolean): void
  /** A forwarded write was dropped before it was written to a socket: it never left. */
  onForwardDropped?(m: ForwardRequest): void
  /** Peer `by` refused this node's connection: the cluster removed this node (setRemoved). */
  onRemoved?(by: NodeId): void
  /** This node's name and client address, sent in every hello. */
  readonly name?: string
  readonly client?: string
  /** A peer's accepted hello, in either direction: its name and client address. */
  onPeerHello?(hello: Hello): void
  log?: Logger
}

export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024
export const DEFAULT_MAX_QUEUE_MESSAGES = 4096
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
/** Reconnect backoff: doubles from the first to the last, with jitter so peers do not align. */
/**
 * The largest frame before a connection's hello is accepted, and on a dialed connection, which
 * carries only the peer's hello and perhaps a 'removed' frame: a hello is a few dozen bytes plus
 * the cluster name (at most MAX_CLUSTER_NAME_BYTES, codec.ts). Without it anyone who can reach the peer
 * port could make the node buffer a full-size frame per connection before saying who they are.
 */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096

export const RECONNECT_BACKOFF_MIN_MS = 50
export const RECONNECT_BACKOFF_MAX_MS = 2000
/** Room a snapshot chunk frame needs beyond its data (kind, offset and length varints). */
const CHUNK_FRAME_OVERHEAD = 1024

interface PeerAddress {
  readonly host: string
  readonly port: number
  /** As configured, for log lines. */
  readonly text: string
}

/** Parses "host:port" or "[v6]:port". */
export function parsePeerAddress(peer: NodeId, address: string): PeerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address)
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (host === undefined || !(port >= 1 && port <= 65535)) {
    throw new Error(`peer ${peer} address "${address}" is not host:port with a port in 1..65535`)
  }
  return { host, port, text: address }
}

type Outgoing =
  | { readonly kind: 'frame'; readonly message: PeerMessage; readonly frame: Buffer }
  | {
      readonly kind: 'snapshot'
      readonly message: InstallSnapshot
      readonly crc: number
      headerSent: boolean
      offset: number
    }

/** The outbound side towards one peer. */
interface Link {
  readonly peer: NodeId
  readonly address: PeerAddress
  state: 'idle' | 'dialing' | 'handshaking' | 'connected' | 'backoff'
  socket: net.Socket | undefined
  decoder: FrameDecoder | undefined
  /** Handshake deadline or reconnect backoff, whichever the state needs. */
  timer: ReturnType<typeof setTimeout> | undefined
  queue: Outgoing[]
  queuedBytes: number
  backoffMs: number
  /** Snapshots whose last frame was written but not yet flushed. */
  readonly unflushed: Set<object>
  /** Logged once; the same failure is not repeated every backoff round. */
  lastFailure: string | undefined
}

interface PendingSnapshot {
  readonly header: SnapshotHeader
  readonly chunks: Uint8Array[]
  received: number
  crc: number
}

/** An accepted connection. */
interface Inbound {
  readonly socket: net.Socket
  readonly remote: string
  readonly decoder: FrameDecoder
  /** Set by the hello. */
  peer: NodeId | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  snapshot: PendingSnapshot | undefined
  closed: boolean
}

export class PeerTransport {
  readonly address: { readonly host: string; readonly port: number }

  private readonly clusterId: string
  private readonly nodeId: NodeId
  private readonly settings: Settings
  private readonly random: () => number
  private readonly opts: TransportOptions
  private readonly log: Logger
  private readonly server: net.Server
  private peers: Map<NodeId, PeerAddress>
  private readonly links = new Map<NodeId, Link>()
  private readonly inbound = new Set<Inbound>()
  /** Every socket not yet closed, including ones on their way out, so close() leaves none. */
  private readonly sockets = new Set<net.Socket>()
  private readonly outDelay = new DelayLines<PeerMessage>((m) => this.enqueue(m))
  private readonly inDelay = new DelayLines<PeerMessage>((m) => this.deliver(m))
  private faultRules: FaultTable = EMPTY_FAULT_TABLE
  private readonly warnedUnknown = new Set<NodeId>()
  /** Nodes the cluster removed: told so when they connect (setRemoved). */
  private removed: ReadonlySet<NodeId> = new Set()
  private closed = false
  private closing: Promise<void> | undefined
  private counters = { sent: 0, received: 0, dropped: 0, bytesSent: 0, bytesReceived: 0 }

  /** Starts listening on the peer port; rejects with a sentence if it cannot. */
  static async listen(opts: TransportOptions): Promise<PeerTransport> {
    const settings = resolveSettings(opts)
    const peers = resolvePeers(opts.nodeId, opts.peers)
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `peer port ${opts.host}:${opts.port} is already in use: is another node running with this address?`
              : `cannot listen on peer port ${opts.host}:${opts.port}: ${err.message}`,
          ),
        )
      }
      server.once('error', onError)
      server.listen(opts.port, opts.host, () => {
        server.off('error', onError)
        resolve()
      })
    })
    return new PeerTransport(opts, settings, peers, server)
  }

  private constructor(
    opts: TransportOptions,
    settings: Settings,
    peers: Map<NodeId, PeerAddress>,
    server: net.Server,
  ) {
    this.opts = opts
    this.clusterId = opts.clusterId
    this.nodeId = opts.nodeId
    this.settings = settings
    this.random = opts.random ?? Math.random
    this.log = opts.log ?? defaultLog(opts.nodeId)
    this.peers = peers
    this.server = server
    const bound = server.address() as net.AddressInfo
    this.address = { host: opts.host, port: bound.port }
    server.on('connection', (socket) => this.accept(socket))
    server.on('error', (err) => this.log('error', `peer port error: ${err.message}`))
  }

  /** Queues `m` for its destination; never throws and never blocks. */
  send(m: PeerMessage): void {
    if (this.closed) return
    if (m.from !== this.nodeId || m.to === this.nodeId) {
      this.log(
        'error',
        `not sending ${m.type} from node ${m.from} to node ${m.to}: this is node ${this.nodeId}`,
      )
      this.drop(m)
      return
    }
    const faults = this.faultRules.out.get(m.to) ?? NO_FAULTS
    if (this.faultDrops(faults)) this.drop(m)
    else if (this.outDelay.holds(m.to, faults.delayMs)) this.outDelay.push(m.to, m, faults.delayMs)
    else this.enqueue(m)
  }

  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    const next = resolvePeers(this.nodeId, peers)
    for (const [id, link] of this.links) {
      const address = next.get(id)
      if (address === undefined || address.text !== link.address.text) {
        this.log(
          'info',
          `peer ${id} is now ${address?.text ?? 'removed'}, closing the connection to ${link.address.text}`,
        )
        this.closeLink(link)
      }
    }
    this.peers = next
    this.warnedUnknown.clear()
  }

  /**
   * Nodes whose removal from the cluster this node has applied. A removed node that is still
   * running (it never heard of its removal: the leader stops sending to it once the change is
   * appended) keeps dialing and campaigning; each of its connections is closed now, and each
   * new one is answered with a 'removed' frame after the hello, on which it shuts down.
   */
  setRemoved(ids: ReadonlySet<NodeId>): void {
    this.removed = new Set(ids)
    for (const conn of [...this.inbound]) {
      if (conn.peer !== undefined && this.removed.has(conn.peer)) this.closeInbound(conn)
    }
  }

  /**
   * Opens a connection to every known peer that has none. A node does this so that the
   * messages it rarely sends (a follower's votes to another follower) do not wait for a
   * connection and a handshake when they matter: both survivors of a dead leader campaigning
   * at once, each granting the other's pre-vote before the other's arrived, is a split vote.
   */
  connectAll(): void {
    if (this.closed) return
    for (const [id, address] of this.peers) {
      if (this.links.has(id)) continue
      const link = newLink(id, address)
      this.links.set(id, link)
      this.dial(link)
    }
  }

  /** Replaces the whole rule set; throws on a rule that makes no sense, keeping the old set. */
  setFaults(rules: FaultRules): void {
    this.faultRules = faultTable(rules)
  }

  faults(): FaultRules {
    return this.faultRules.rules
  }

  stats(): TransportStats {
    let connections = 0
    for (const link of this.links.values()) if (link.state === 'connected') connections++
    for (const conn of this.inbound) if (conn.peer !== undefined) connections++
    return { ...this.counters, connections }
  }

  /** Closes every connection and timer; no callback fires after this is called. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closed = true
    this.outDelay.clear()
    this.inDelay.clear()
    for (const link of this.links.values()) this.closeLink(link)
    for (const conn of this.inbound) this.closeInbound(conn)
    for (const socket of this.sockets) socket.destroy()
    this.closing = new Promise((resolve) => this.server.close(() => resolve()))
    return this.closing
  }

  // ---- outbound ----

  private enqueue(m: PeerMessage): void {
    if (this.closed) return
    const address = this.peers.get(m.to)
    if (address === undefined) {
      if (!this.warnedUnknown.has(m.to)) {
        this.warnedUnknown.add(m.to)
        this.log('warn', `no address for node ${m.to}, dropping messages to it`, { peer: m.to })
      }
      this.drop(m)
      this.notifyUnreachable(m.to)
      return
    }
    let link = this.links.get(m.to)
    if (link === undefined) {
      link = newLink(m.to, address)
      this.links.set(m.to, link)
    }
    if (link.state === 'backoff') {
      // Raft retransmits; holding messages for a dead peer would only replay stale ones.
      this.drop(m)
      return
    }
    const item = this.outgoing(m)
    if (item === undefined) return
    link.queue.push(item)
    if (item.kind === 'frame') link.queuedBytes += item.frame.length
    this.trimQueue(link)
    if (link.state === 'idle') this.dial(link)
    else if (link.state === 'connected') this.pump(link)
  }

  private outgoing(m: PeerMessage): Outgoing | undefined {
    if (m.type === 'installSnapshot' && m.snapshot.data.length > this.settings.snapshotChunkBytes) {
      return {
        kind: 'snapshot',
        message: m,
        crc: crc32(m.snapshot.data),
        headerSent: false,
        offset: 0,
      }
    }
    try {
      return { kind: 'frame', message: m, frame: this.frame({ kind: 'message', message: m }) }
    } catch (err) {
      this.log('error', `cannot send ${m.type} to node ${m.to}: ${errorMessage(err)}`, {
        peer: m.to,
      })
      this.drop(m)
      return undefined
    }
  }

  /** Drops the oldest messages beyond the bounds, except a snapshot already on the wire. */
  private trimQueue(link: Link): void {
    while (
      link.queue.length > this.settings.maxQueueMessages ||
      link.queuedBytes > this.settings.maxQueueBytes
    ) {
      const head = link.queue[0]
      const at = head?.kind === 'snapshot' && head.headerSent ? 1 : 0
      const [victim] = link.queue.splice(at, 1)
      if (victim === undefined) return
      if (victim.kind === 'frame') link.queuedBytes -= victim.frame.length
      this.drop(victim.message)
    }
  }

  private dial(link: Link): void {
    link.state = 'dialing'
    const socket = net.connect({ host: link.address.host, port: link.address.port })
    socket.setNoDelay(true)
    this.track(socket)
    link.socket = socket
    link.decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES)
    link.timer = setTimeout(
      () => this.linkFailed(link, socket, `no hello within ${this.settings.handshakeTimeoutMs} ms`),
      this.settings.handshakeTimeoutMs,
    )
    socket.on('connect', () => {
      if (link.socket !== socket) return
      link.state = 'handshaking'
      this.write(socket, this.helloFrame())
    })
    socket.on('data', (chunk: Buffer) => this.onLinkData(link, socket, chunk))
    socket.on('drain', () => {
      if (link.socket === socket) this.pump(link)
    })
    socket.on('error', (err) => this.linkFailed(link, socket, err.message))
    socket.on('close', () => this.linkFailed(link, socket, 'the peer closed the connection'))
  }

  private onLinkData(link: Link, socket: net.Socket, chunk: Buffer): void {
    if (link.socket !== socket || link.decoder === undefined) return
    this.counters.bytesReceived += chunk.length
    try {
      for (const payload of link.decoder.push(chunk)) {
        const p = decodePayload(payload)
        if (p.kind === 'removed' && link.state === 'connected' && p.nodeId === this.nodeId) {
          this.log('warn', `node ${link.peer} says the cluster removed this node`, {
            peer: link.peer,
          })
          this.closeLink(link)
          this.opts.onRemoved?.(link.peer)
          return
        }
        if (link.state !== 'handshaking') {
          throw new Error('the peer sent a frame after its hello; it should only read')
        }
        if (p.kind !== 'hello') throw new Error(`expected a hello, got a ${p.kind} frame`)
        const problem = this.checkHello(p.hello, link.address.text, link.peer)
        if (problem !== undefined) {
          this.linkFailed(link, socket, problem)
          return
        }
        this.established(link)
        this.peerHello(p.hello)
      }
    } catch (err) {
      this.linkFailed(
        link,
        socket,
        `bad frame from peer ${link.address.text}: ${errorMessage(err)}`,
      )
    }
  }

  private established(link: Link): void {
    clearTimeout(link.timer)
    link.timer = undefined
    link.state = 'connected'
    link.backoffMs = RECONNECT_BACKOFF_MIN_MS
    const again = link.lastFailure === undefined ? '' : ' again'
    link.lastFailure = undefined
    this.log('info', `connected${again} to node ${link.peer} at ${link.address.text}`, {
      peer: link.peer,
    })
    this.pump(link)
  }

  /** Writes queued messages until the socket wants to drain, so the queue bound holds. */
  private pump(link: Link): void {
    const socket = link.socket
    if (link.state !== 'connected' || socket === undefined) return
    while (!socket.writableNeedDrain && link.socket === socket) {
      const item = link.queue[0]
      if (item === undefined) return
      if (item.kind === 'frame') {
        link.queue.shift()
        link.queuedBytes -= item.frame.length
        this.counters.sent++
        if (item.message.type === 'installSnapshot') this.writeLast(link, socket, item.frame)
        else this.write(socket, item.frame)
        continue
      }
      const s = item.message.snapshot
      if (!item.headerSent) {
        item.headerSent = true
        const header: SnapshotHeader = {
          from: item.message.from,
          to: item.message.to,
          term: item.message.term,
          meta: s.meta,
          totalBytes: s.data.length,
          crc: item.crc,
        }
        this.write(socket, this.frame({ kind: 'snapshotHeader', header }))
        continue
      }
      const end = Math.min(item.offset + this.settings.snapshotChunkBytes, s.data.length)
      const data = s.data.subarray(item.offset, end)
      const frame = this.frame({ kind: 'snapshotChunk', offset: item.offset, data })
      item.offset = end
      if (end < s.data.length) {
        this.write(socket, frame)
        continue
      }
      link.queue.shift()
      this.counters.sent++
      this.writeLast(link, socket, frame)
    }
  }

  /** Writes the last frame of a snapshot and reports it when the socket has taken it. */
  private writeLast(link: Link, socket: net.Socket, frame: Buffer): void {
    const token = {}
    link.unflushed.add(token)
    this.write(socket, frame, (err) => {
      if (link.unflushed.delete(token)) this.reportSnapshot(link.peer, err == null)
    })
  }

  /** The single end of every failed dial and lost connection; later calls are ignored. */
  private linkFailed(link: Link, socket: net.Socket, reason: string): void {
    if (link.socket !== socket || this.closed) return
    const wasConnected = link.state === 'connected'
    this.resetLink(link)
    if (wasConnected) {
      this.log('warn', `lost connection to node ${link.peer} at ${link.address.text}: ${reason}`, {
        peer: link.peer,
      })
    } else if (reason !== link.lastFailure) {
      this.log(
        'warn',
        `cannot connect to node ${link.peer} at ${link.address.text}: ${reason}; retrying with backoff`,
        { peer: link.peer },
      )
    }
    link.lastFailure = reason
    this.notifyUnreachable(link.peer)
    if (this.links.get(link.peer) !== link) return
    link.state = 'backoff'
    const jittered = link.backoffMs * (0.5 + 0.5 * this.random())
    link.backoffMs = Math.min(link.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS)
    link.timer = setTimeout(() => {
      link.timer = undefined
      this.dial(link)
    }, jittered)
  }

  /** Destroys the socket and drops what was queued; the snapshots in it are reported failed. */
  private resetLink(link: Link): void {
    clearTimeout(link.timer)
    link.timer = undefined
    link.socket?.destroy()
    link.socket = undefined
    link.decoder = undefined
    link.state = 'idle'
    const queued = link.queue
    link.queue = []
    link.queuedBytes = 0
    for (const item of queued) this.drop(item.message)
    for (const _ of link.unflushed) this.reportSnapshot(link.peer, false)
    link.unflushed.clear()
  }

  private closeLink(link: Link): void {
    this.resetLink(link)
    this.links.delete(link.peer)
  }

  // ---- inbound ----

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    this.track(socket)
    const conn: Inbound = {
      socket,
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      decoder: new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES),
      peer: undefined,
      timer: undefined,
      snapshot: undefined,
      closed: false,
    }
    this.inbound.add(conn)
    conn.timer = setTimeout(
      () =>
        this.refuse(
          conn,
          `peer ${conn.remote} sent no hello within ${this.settings.handshakeTimeoutMs} ms, closing the connection`,
        ),
      this.settings.handshakeTimeoutMs,
    )
    socket.on('data', (chunk: Buffer) => this.onInboundData(conn, chunk))
    socket.on('error', (err) => {
      if (conn.closed) return
      this.log('info', `connection from ${peerName(conn)} failed: ${err.message}`)
      this.closeInbound(conn)
    })
    socket.on('close', () => {
      if (conn.closed) return
      if (conn.peer !== undefined) this.log('info', `connection from ${peerName(conn)} closed`)
      this.closeInbound(conn)
    })
  }

  private onInboundData(conn: Inbound, chunk: Buffer): void {
    if (conn.closed) return
    this.counters.bytesReceived += chunk.length
    try {
      for (const payload of conn.decoder.push(chunk)) {
        this.onInboundFrame(conn, payload)
        if (conn.closed) return
      }
    } catch (err) {
      this.refuse(
        conn,
        `peer ${peerName(conn)} sent a bad frame, closing the connection: ${errorMessage(err)}`,
      )
    }
  }

  /** Throws on anything out of protocol; the caller closes the connection. */
  private onInboundFrame(conn: Inbound, bytes: Uint8Array): void {
    const p = decodePayload(bytes)
    const peer = conn.peer
    if (peer === undefined) {
      if (p.kind !== 'hello') throw new Error(`expected a hello first, got a ${p.kind} frame`)
      this.onHello(conn, p.hello)
      return
    }
    if (conn.snapshot !== undefined && p.kind !== 'snapshotChunk') {
      throw new Error(`a ${p.kind} frame in the middle of a snapshot`)
    }
    switch (p.kind) {
      case 'hello':
        throw new Error('a second hello')
      case 'message':
        this.checkRoute(peer, p.message.type, p.message.from, p.message.to)
        this.receive(peer, p.message)
        return
      case 'snapshotHeader': {
        const h = p.header
        this.checkRoute(peer, 'snapshot', h.from, h.to)
        conn.snapshot = { header: h, chunks: [], received: 0, crc: 0 }
        if (h.totalBytes === 0) this.snapshotComplete(conn, peer)
        return
      }
      case 'snapshotChunk': {
        const s = conn.snapshot
        if (s === undefined) throw new Error('a snapshot chunk without a snapshot header')
        if (p.offset !== s.received) {
          throw new Error(`snapshot chunk at offset ${p.offset}, expected ${s.received}`)
        }
        if (p.data.length === 0 || s.received + p.data.length > s.header.totalBytes) {
          throw new Error(
            `snapshot chunk of ${p.data.length} bytes at offset ${p.offset} does not fit the announced ${s.header.totalBytes} bytes`,
          )
        }
        s.chunks.push(p.data)
        s.received += p.data.length
        s.crc = crc32Update(s.crc, p.data)
        if (s.received === s.header.totalBytes) this.snapshotComplete(conn, peer)
        return
      }
    }
  }

  private onHello(conn: Inbound, hello: Hello): void {
    const problem = this.checkHello(hello, conn.remote, undefined)
    if (problem !== undefined) {
      // A peer of another cluster (or version) hears why from our hello and logs it too.
      const ours = hello.clusterId !== this.clusterId || hello.version !== PROTOCOL_VERSION
      if (ours) conn.socket.write(this.helloFrame())
      this.refuse(conn, `${problem}; closing the connection`)
      return
    }
    clearTimeout(conn.timer)
    conn.timer = undefined
    conn.peer = hello.nodeId
    conn.decoder.maxFrameBytes = this.settings.maxFrameBytes
    // A peer keeps one connection to us; an older one from it is left over from before a restart.
    for (const other of this.inbound) {
      if (other !== conn && other.peer === hello.nodeId) this.closeInbound(other)
    }
    this.write(conn.socket, this.helloFrame())
    if (this.removed.has(hello.nodeId)) {
      this.write(conn.socket, this.frame({ kind: 'removed', nodeId: hello.nodeId }))
      this.refuse(conn, `node ${hello.nodeId} was removed from the cluster; told it so`)
      return
    }
    this.peerHello(hello)
    this.log('info', `accepted connection from node ${hello.nodeId} at ${conn.remote}`, {
      peer: hello.nodeId,
    })
    // The peer is up (back from a restart, say): our link to it stops waiting out its backoff.
    const link = this.links.get(hello.nodeId)
    if (link?.state === 'backoff') {
      clearTimeout(link.timer)
      link.timer = undefined
      link.backoffMs = RECONNECT_BACKOFF_MIN_MS
      this.dial(link)
    }
  }

  private snapshotComplete(conn: Inbound, peer: NodeId): void {
    const s = conn.snapshot as PendingSnapshot
    conn.snapshot = undefined
    const h = s.header
    if (s.crc !== h.crc) {
      throw new Error(
        `snapshot at index ${h.meta.index} failed its CRC-32 check (got ${hex(s.crc)}, header says ${hex(h.crc)})`,
      )
    }
    const data = new Uint8Array(h.totalBytes)
    let at = 0
    for (const chunk of s.chunks) {
      data.set(chunk, at)
      at += chunk.length
    }
    const m: InstallSnapshot = {
      type: 'installSnapshot',
      from: h.from,
      to: h.to,
      term: h.term,
      snapshot: { meta: h.meta, data },
    }
    this.receive(peer, m)
  }

  private checkRoute(peer: NodeId, what: string, from: NodeId, to: NodeId): void {
    if (from !== peer) throw new Error(`a ${what} from node ${from} on node ${peer}'s connection`)
    if (to !== this.nodeId) throw new Error(`a ${what} for node ${to}, this is node ${this.nodeId}`)
  }

  private receive(peer: NodeId, m: PeerMessage): void {
    const faults = this.faultRules.in.get(peer) ?? NO_FAULTS
    if (this.faultDrops(faults)) this.counters.dropped++
    else if (this.inDelay.holds(peer, faults.delayMs)) this.inDelay.push(peer, m, faults.delayMs)
    else this.deliver(m)
  }

  private deliver(m: PeerMessage): void {
    if (this.closed) return
    this.counters.received++
    try {
      this.opts.onMessage(m)
    } catch (err) {
      this.log('error', `onMessage threw on ${m.type} from node ${m.from}: ${errorMessage(err)}`)
    }
  }

  private refuse(conn: Inbound, reason: string): void {
    if (conn.closed) return
    this.log('warn', reason, { remote: conn.remote, peer: conn.peer })
    this.closeInbound(conn)
  }

  private closeInbound(conn: Inbound): void {
    conn.closed = true
    clearTimeout(conn.timer)
    conn.timer = undefined
    conn.snapshot = undefined
    this.inbound.delete(conn)
    // Let a hello written just before (the refusal's reason) reach the peer, then close.
    if (conn.socket.writableLength > 0 && !this.closed) {
      conn.socket.end(() => conn.socket.destroy())
      conn.socket.setTimeout(1000, () => conn.socket.destroy())
    } else {
      conn.socket.destroy()
    }
  }

  // ---- shared ----

  /** Returns the problem with a peer's hello as a log line, or undefined if it is welcome. */
  private checkHello(
    hello: Hello,
    remote: string,
    expected: NodeId | undefined,
  ): string | undefined {
    if (hello.version !== PROTOCOL_VERSION) {
      return `peer ${remote} speaks protocol version ${hello.version}, this node speaks ${PROTOCOL_VERSION}`
    }
    if (hello.clusterId !== this.clusterId) {
      return `peer ${remote} belongs to cluster ${hello.clusterId}, not ${this.clusterId}`
    }
    if (!isNodeId(hello.nodeId)) {
      return `peer ${remote} claims node id ${hello.nodeId}, which is not a positive integer`
    }
    if (hello.nodeId === this.nodeId) {
      return `peer ${remote} claims node id ${hello.nodeId}, which is this node's own id`
    }
    if (expected !== undefined && hello.nodeId !== expected) {
      return `peer ${remote} is node ${hello.nodeId}, not node ${expected}: check the peer addresses`
    }
    return undefined
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  private peerHello(hello: Hello): void {
    try {
      this.opts.onPeerHello?.(hello)
    } catch (err) {
      this.log('error', `onPeerHello threw for node ${hello.nodeId}: ${errorMessage(err)}`)
    }
  }

  private helloFrame(): Buffer {
    const hello: Hello = {
      version: PROTOCOL_VERSION,
      clusterId: this.clusterId,
      nodeId: this.nodeId,
      name: this.opts.name ?? '',
      client: this.opts.client ?? '',
    }
    return this.frame({ kind: 'hello', hello })
  }

  private frame(p: Payload): Buffer {
    return encodeFrame(encodePayload(p), this.settings.maxFrameBytes)
  }

  /**
   * Frames written by one callback leave in one system call: the socket is corked at the first
   * and uncorked when the callback and the ticks it queued have run. Under load one callback
   * queues several small frames to the same peer (a Ready's appends and heartbeats, forwarded
   * writes and their replies), and on loopback each write() costs tens of microseconds of the
   * sender's CPU. Not until setImmediate: under heavy load a whole poll phase can take longer
   * than an election timeout, and heartbeats held that long made the followers elect.
   */
  private write(socket: net.Socket, frame: Buffer, done?: (err?: Error | null) => void): void {
    this.counters.bytesSent += frame.length
    if (socket.writableCorked === 0) {
      socket.cork()
      process.nextTick(() => socket.uncork())
    }
    socket.write(frame, done)
  }

  private drop(m: PeerMessage): void {
    this.counters.dropped++
    if (m.type === 'installSnapshot') this.reportSnapshot(m.to, false)
    const cb = this.opts.onForwardDropped
    if (m.type === 'forward' && cb !== undefined) this.later(() => cb(m), 'onForwardDropped')
  }

  /** Draws from the random source only when a drop rule is set, so runs replay from a seed. */
  private faultDrops(f: ResolvedFaults): boolean {
    return f.blocked || (f.drop > 0 && this.random() < f.drop)
  }

  // The node's callbacks run after the current call returns: send() must not re-enter the core
  // that is calling it.
  private notifyUnreachable(peer: NodeId): void {
    const cb = this.opts.onUnreachable
    if (cb !== undefined) this.later(() => cb(peer), 'onUnreachable')
  }

  private reportSnapshot(peer: NodeId, ok: boolean): void {
    const cb = this.opts.onSnapshotStatus
    if (cb !== undefined) this.later(() => cb(peer, ok), 'onSnapshotStatus')
  }

  private later(fn: () => void, name: string): void {
    queueMicrotask(() => {
      if (this.closed) return
      try {
        fn()
      } catch (err) {
        this.log('error', `${name} threw: ${errorMessage(err)}`)
      }
    })
  }
}

interface Settings {
  readonly maxFrameBytes: number
  readonly snapshotChunkBytes: number
  readonly maxQueueMessages: number
  readonly maxQueueBytes: number
  readonly handshakeTimeoutMs: number
}

/** The options with their defaults, or an error saying which one makes no sense. */
function resolveSettings(opts: TransportOptions): Settings {
  if (opts.clusterId === '') throw new Error('transport cluster id must not be empty')
  if (!isNodeId(opts.nodeId)) {
    throw new Error(`transport node id must be a positive integer, got ${opts.nodeId}`)
  }
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  if (!Number.isInteger(max) || max < 2 * CHUNK_FRAME_OVERHEAD || max > MAX_FRAME_BYTES_LIMIT) {
    throw new Error(
      `max frame bytes must be an integer in ${2 * CHUNK_FRAME_OVERHEAD}..${MAX_FRAME_BYTES_LIMIT}, got ${max}`,
    )
  }
  const chunk = opts.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > max - CHUNK_FRAME_OVERHEAD) {
    throw new Error(
      `snapshot chunk bytes must be an integer in 1..${max - CHUNK_FRAME_OVERHEAD} (max frame bytes less room for the chunk header), got ${chunk}`,
    )
  }
  const maxQueueMessages = opts.maxQueueMessages ?? DEFAULT_MAX_QUEUE_MESSAGES
  if (!Number.isInteger(maxQueueMessages) || maxQueueMessages < 1) {
    throw new Error(`max queue messages must be a positive integer, got ${maxQueueMessages}`)
  }
  const maxQueueBytes = opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES
  if (!(maxQueueBytes >= max)) {
    throw new Error(
      `max queue bytes (${maxQueueBytes}) must be at least max frame bytes (${max}), or a large message could never be queued`,
    )
  }
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  if (!(handshakeTimeoutMs > 0)) {
    throw new Error(`handshake timeout must be positive, got ${handshakeTimeoutMs} ms`)
  }
  return {
    maxFrameBytes: max,
    snapshotChunkBytes: chunk,
    maxQueueMessages,
    maxQueueBytes,
    handshakeTimeoutMs,
  }
}

function resolvePeers(self: NodeId, peers: ReadonlyMap<NodeId, string>): Map<NodeId, PeerAddress> {
  const resolved = new Map<NodeId, PeerAddress>()
  for (const [id, address] of peers) {
    if (!isNodeId(id)) throw new Error(`peer id must be a positive integer, got ${id}`)
    if (id !== self) resolved.set(id, parsePeerAddress(id, address))
  }
  return resolved
}

function newLink(peer: NodeId, address: PeerAddress): Link {
  return {
    peer,
    address,
    state: 'idle',
    socket: undefined,
    decoder: undefined,
    timer: undefined,
    queue: [],
    queuedBytes: 0,
    backoffMs: RECONNECT_BACKOFF_MIN_MS,
    unflushed: new Set(),
    lastFailure: undefined,
  }
}

function isNodeId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0
}

function peerName(conn: Inbound): string {
  return conn.peer === undefined ? conn.remote : `${conn.remote} (node ${conn.peer})`
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function defaultLog(nodeId: NodeId): Logger {
  return (level, msg) => {
    if (level !== 'info') process.stderr.write(`[transport node ${nodeId}] ${level}: ${msg}\n`)
  }
}
