// What travels inside a frame between two nodes: the consensus core's messages, the handshake,
// and the pieces of a snapshot too large for one frame. It uses the one binary encoding of the
// project (src/main/kv/codec.ts): uint = LEB128 varint, bytes/string = uint length + bytes
// (strings UTF-8), u32 = big-endian, flags = one byte whose unknown bits are refused.
//
// Payload = u8 kind, then:
//   1 hello           u32 magic "RLAB", uint protocol version, string cluster id, uint node id,
//                     string name, string client address (host:port; '' if unknown)
//   2 message         a Message (below)
//   3 snapshotHeader  uint from, to, term, snapshot meta, uint total data bytes, u32 CRC-32 of it
//   4 snapshotChunk   uint offset of this chunk in the data, bytes chunk
//   5 removed         uint node id: after its hello, an acceptor's answer to a node that the
//                     cluster removed (etcd answers such a member's requests with 410 Gone)
//
// Message = u8 type tag, uint from, to, term, then by type:
//   1 appendEntries           uint prevLogIndex, prevLogTerm, leaderCommit, uint n, n × entry
//   2 appendEntriesResponse   uint index, flags (1 reject), uint rejectHint, hintTerm
//   3 heartbeat               uint commit, string context
//   4 heartbeatResponse       string context
//   5 requestVote, 6 requestPreVote                  uint lastLogIndex, lastLogTerm, flags (1 transfer)
//   7 requestVoteResponse, 8 requestPreVoteResponse  flags (1 reject)
//   9 installSnapshot         snapshot meta, bytes data
//   10 timeoutNow             -
//   11 readIndex              string context
//   12 readIndexResponse      uint index, string context
//   13 transferLeader         uint transferee
//   14 forward                uint id, bytes data              (node level, never the core's)
//   15 forwardReply           uint id, flags (1 accepted, 2 not leading), then uint index,
//                             entry term if accepted, else string reason
// entry = u8 type (0 normal, 1 confChange), uint term, index, then
//   normal: bytes data;  confChange: u8 change type (0 addVoter, 1 addLearner, 2 removeNode),
//   uint node id, flags (1 has context), [string context]
// snapshot meta = uint index, term, uint n, n × voter id, uint m, m × learner id
//
// Decoding trusts nothing: every length and count is checked against the bytes left, every tag
// and flag must be known, and the payload must be used up exactly. Errors name the message type
// and the field, e.g. "appendEntries message: length 99999 runs past the end of the data at
// byte 25 (reading entry 3 of 3 data)".

import {
  createReader,
  createWriter,
  decodeError,
  readBytes,
  readCount,
  readFlags,
  readU32,
  readU8,
  readUint,
  writeBytes,
  writeU32,
  writeU8,
  writeUint,
  written,
  type Reader,
  type Writer,
} from '../../kv/codec'
import type {
  ConfChange,
  ConfState,
  Entry,
  InstallSnapshot,
  Message,
  NodeId,
  SnapshotMeta,
} from '../../raft/messages'

/**
 * 2: forward and forwardReply messages. 3: forwardReply's "not leading" flag. 4: the hello's
 * name and client address, and the 'removed' frame.
 */
export const PROTOCOL_VERSION = 4
/** "RLAB": a peer port answering anything else is not a RaftLab node. */
export const HELLO_MAGIC = 0x524c4142

/**
 * A write a follower hands to its leader (etcd's followers do the same over Raft): the leader
 * proposes `data` and answers with the index and term it got, and the follower then waits to
 * apply that entry itself. `term` is the sender's, for the logs. Never seen by the core.
 */
export interface ForwardRequest {
  readonly type: 'forward'
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
  /** The follower's number for this request, echoed in the reply. */
  readonly id: number
  readonly data: Uint8Array
}

export type ForwardReply = {
  readonly type: 'forwardReply'
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
  readonly id: number
} & (
  | { readonly accepted: true; readonly index: number; readonly entryTerm: number }
  | {
      readonly accepted: false
      readonly reason: string
      /** Nothing was proposed because the receiver does not lead (now): try the next leader. */
      readonly notLeading: boolean
    }
)

/** What travels between two nodes: the core's messages and the node's own. */
export type PeerMessage = Message | ForwardRequest | ForwardReply
export type PeerMessageType = PeerMessage['type']

/** A cluster name's limit in UTF-8 bytes: it travels in every hello, which is kept small. */
export const MAX_CLUSTER_NAME_BYTES = 1024

export interface Hello {
  readonly version: number
  readonly clusterId: string
  readonly nodeId: NodeId
  /**
   * The node's name and client address, as etcd's members publish theirs: a member added
   * with only a peer URL (etcdctl member add) is known by them once it connects.
   */
  readonly name: string
  readonly client: string
}

/** The first frame of a snapshot sent in chunks: everything but the data. */
export interface SnapshotHeader {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
  readonly meta: SnapshotMeta
  readonly totalBytes: number
  readonly crc: number
}

export type Payload =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'message'; readonly message: PeerMessage }
  | { readonly kind: 'snapshotHeader'; readonly header: SnapshotHeader }
  | { readonly kind: 'snapshotChunk'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'removed'; readonly nodeId: NodeId }

const PAYLOAD_KINDS = ['hello', 'message', 'snapshotHeader', 'snapshotChunk', 'removed'] as const

const MESSAGE_TAGS: Readonly<Record<PeerMessageType, number>> = {
  appendEntries: 1,
  appendEntriesResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  requestVote: 5,
  requestPreVote: 6,
  requestVoteResponse: 7,
  requestPreVoteResponse: 8,
  installSnapshot: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResponse: 12,
  transferLeader: 13,
  forward: 14,
  forwardReply: 15,
}
const MESSAGE_TYPES: ReadonlyMap<number, PeerMessageType> = new Map(
  Object.entries(MESSAGE_TAGS).map(([type, tag]) => [tag, type as PeerMessageType]),
)
const CHANGE_TYPES = ['addVoter', 'addLearner', 'removeNode'] as const

const FLAG = 1
/** forwardReply's second flag. */
const NOT_LEADING = 2
const utf8 = new TextDecoder('utf-8', { fatal: true })
const textEncoder = new TextEncoder()

export function encodePayload(p: Payload): Uint8Array {
  switch (p.kind) {
    case 'hello': {
      const h = p.hello
      const w = createWriter(48 + (h.clusterId.length + h.name.length + h.client.length) * 3)
      writeU8(w, 1)
      writeU32(w, HELLO_MAGIC)
      writeUint(w, h.version, 'hello.version')
      writeString(w, h.clusterId)
      writeUint(w, h.nodeId, 'hello.nodeId')
      writeString(w, h.name)
      writeString(w, h.client)
      return written(w)
    }
    case 'message': {
      const w = createWriter(estimateSize(p.message))
      writeU8(w, 2)
      writeMessage(w, p.message)
      return written(w)
    }
    case 'snapshotHeader': {
      const h = p.header
      const w = createWriter(
        64 + 8 * (h.meta.confState.voters.length + h.meta.confState.learners.length),
      )
      writeU8(w, 3)
      writeUint(w, h.from, 'snapshotHeader.from')
      writeUint(w, h.to, 'snapshotHeader.to')
      writeUint(w, h.term, 'snapshotHeader.term')
      writeSnapshotMeta(w, h.meta)
      writeUint(w, h.totalBytes, 'snapshotHeader.totalBytes')
      writeU32(w, h.crc)
      return written(w)
    }
    case 'snapshotChunk': {
      const w = createWriter(p.data.length + 20)
      writeU8(w, 4)
      writeUint(w, p.offset, 'snapshotChunk.offset')
      writeBytes(w, p.data)
      return written(w)
    }
    case 'removed': {
      const w = createWriter(12)
      writeU8(w, 5)
      writeUint(w, p.nodeId, 'removed.nodeId')
      return written(w)
    }
  }
}

export function decodePayload(payload: Uint8Array): Payload {
  const bytes = plain(payload)
  const r = createReader(bytes, 'frame')
  const code = readU8(r, 'payload kind')
  const kind = PAYLOAD_KINDS[code - 1]
  if (kind === undefined) throw decodeError(r, `unknown payload kind ${code}`, 'payload kind', 0)
  switch (kind) {
    case 'hello': {
      const h = createReader(bytes, 'hello', r.pos)
      const magic = readU32(h, 'magic')
      if (magic !== HELLO_MAGIC) {
        throw decodeError(h, `bad magic 0x${magic.toString(16)}, not a RaftLab peer`, 'magic', 1)
      }
      const version = readUint(h, 'version')
      const clusterId = readString(h, 'cluster id')
      const nodeId = readUint(h, 'node id')
      // A peer of another protocol version may end here; it is refused for its version.
      const name = version === PROTOCOL_VERSION ? readString(h, 'name') : ''
      const client = version === PROTOCOL_VERSION ? readString(h, 'client') : ''
      if (version === PROTOCOL_VERSION) expectEnd(h)
      return { kind, hello: { version, clusterId, nodeId, name, client } }
    }
    case 'message':
      return { kind, message: readMessage(bytes, r.pos) }
    case 'snapshotHeader': {
      const h = createReader(bytes, 'snapshotHeader', r.pos)
      const from = readUint(h, 'from')
      const to = readUint(h, 'to')
      const term = readUint(h, 'term')
      const meta = readSnapshotMeta(h)
      const totalBytes = readUint(h, 'total bytes')
      const crc = readU32(h, 'crc')
      expectEnd(h)
      return { kind, header: { from, to, term, meta, totalBytes, crc } }
    }
    case 'snapshotChunk': {
      const c = createReader(bytes, 'snapshotChunk', r.pos)
      const offset = readUint(c, 'offset')
      const data = readBytes(c, 'data')
      expectEnd(c)
      return { kind, offset, data }
    }
    case 'removed': {
      const c = createReader(bytes, 'removed', r.pos)
      const nodeId = readUint(c, 'node id')
      expectEnd(c)
      return { kind, nodeId }
    }
  }
}

export function encodeMessage(m: PeerMessage): Uint8Array {
  const w = createWriter(estimateSize(m))
  writeMessage(w, m)
  return written(w)
}

export function decodeMessage(bytes: Uint8Array): PeerMessage {
  return readMessage(plain(bytes), 0)
}

/**
 * A Buffer's slice() is a view, so data decoded from a socket chunk would pin the whole chunk
 * and come back as a Buffer; a plain Uint8Array's slice() copies exactly what was read.
 */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

/** Bytes an installSnapshot costs on the wire without its data: decides inline vs chunked. */
export function snapshotOverhead(m: InstallSnapshot): number {
  const cs = m.snapshot.meta.confState
  return 64 + 8 * (cs.voters.length + cs.learners.length)
}

function estimateSize(m: PeerMessage): number {
  switch (m.type) {
    case 'forward':
      return 64 + m.data.length
    case 'appendEntries': {
      let n = 64
      for (const e of m.entries) n += 32 + (e.type === 'normal' ? e.data.length : 64)
      return n
    }
    case 'installSnapshot':
      return snapshotOverhead(m) + m.snapshot.data.length
    default:
      return 64
  }
}

function writeMessage(w: Writer, m: PeerMessage): void {
  const tag = MESSAGE_TAGS[m.type] as number | undefined
  if (tag === undefined) throw new Error(`cannot encode a message of unknown type '${m.type}'`)
  writeU8(w, tag)
  writeUint(w, m.from, `${m.type}.from`)
  writeUint(w, m.to, `${m.type}.to`)
  writeUint(w, m.term, `${m.type}.term`)
  switch (m.type) {
    case 'appendEntries':
      writeUint(w, m.prevLogIndex, 'appendEntries.prevLogIndex')
      writeUint(w, m.prevLogTerm, 'appendEntries.prevLogTerm')
      writeUint(w, m.leaderCommit, 'appendEntries.leaderCommit')
      writeUint(w, m.entries.length, 'appendEntries.entries.length')
      for (const e of m.entries) writeEntry(w, e)
      return
    case 'appendEntriesResponse':
      writeUint(w, m.index, 'appendEntriesResponse.index')
      writeU8(w, m.reject ? FLAG : 0)
      writeUint(w, m.rejectHint, 'appendEntriesResponse.rejectHint')
      writeUint(w, m.hintTerm, 'appendEntriesResponse.hintTerm')
      return
    case 'heartbeat':
      writeUint(w, m.commit, 'heartbeat.commit')
      writeString(w, m.context)
      return
    case 'heartbeatResponse':
    case 'readIndex':
      writeString(w, m.context)
      return
    case 'requestVote':
    case 'requestPreVote':
      writeUint(w, m.lastLogIndex, `${m.type}.lastLogIndex`)
      writeUint(w, m.lastLogTerm, `${m.type}.lastLogTerm`)
      writeU8(w, m.transfer ? FLAG : 0)
      return
    case 'requestVoteResponse':
    case 'requestPreVoteResponse':
      writeU8(w, m.reject ? FLAG : 0)
      return
    case 'installSnapshot':
      writeSnapshotMeta(w, m.snapshot.meta)
      writeBytes(w, m.snapshot.data)
      return
    case 'timeoutNow':
      return
    case 'readIndexResponse':
      writeUint(w, m.index, 'readIndexResponse.index')
      writeString(w, m.context)
      return
    case 'transferLeader':
      writeUint(w, m.transferee, 'transferLeader.transferee')
      return
    case 'forward':
      writeUint(w, m.id, 'forward.id')
      writeBytes(w, m.data)
      return
    case 'forwardReply':
      writeUint(w, m.id, 'forwardReply.id')
      writeU8(w, m.accepted ? FLAG : m.notLeading ? NOT_LEADING : 0)
      if (m.accepted) {
        writeUint(w, m.index, 'forwardReply.index')
        writeUint(w, m.entryTerm, 'forwardReply.entryTerm')
      } else {
        writeString(w, m.reason)
      }
      return
  }
}

function readMessage(bytes: Uint8Array, start: number): PeerMessage {
  const t = createReader(bytes, 'message', start)
  const tag = readU8(t, 'type tag')
  const type = MESSAGE_TYPES.get(tag)
  if (type === undefined) throw decodeError(t, `unknown message type tag ${tag}`, 'type', start)
  const r = createReader(bytes, `${type} message`, t.pos)
  const from = readUint(r, 'from')
  const to = readUint(r, 'to')
  const term = readUint(r, 'term')
  const m = readBody(r, type, from, to, term)
  expectEnd(r)
  return m
}

function readBody(
  r: Reader,
  type: PeerMessageType,
  from: NodeId,
  to: NodeId,
  term: number,
): PeerMessage {
  switch (type) {
    case 'appendEntries': {
      const prevLogIndex = readUint(r, 'prevLogIndex')
      const prevLogTerm = readUint(r, 'prevLogTerm')
      const leaderCommit = readUint(r, 'leaderCommit')
      const count = readCount(r, 'entry count')
      const entries: Entry[] = []
      for (let i = 1; i <= count; i++) entries.push(readEntry(r, `entry ${i} of ${count}`))
      return { type, from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit }
    }
    case 'appendEntriesResponse': {
      const index = readUint(r, 'index')
      const reject = readFlags(r, FLAG, 'reject') === FLAG
      const rejectHint = readUint(r, 'rejectHint')
      const hintTerm = readUint(r, 'hintTerm')
      return { type, from, to, term, index, reject, rejectHint, hintTerm }
    }
    case 'heartbeat': {
      const commit = readUint(r, 'commit')
      return { type, from, to, term, commit, context: readString(r, 'context') }
    }
    case 'heartbeatResponse':
    case 'readIndex':
      return { type, from, to, term, context: readString(r, 'context') }
    case 'requestVote':
    case 'requestPreVote': {
      const lastLogIndex = readUint(r, 'lastLogIndex')
      const lastLogTerm = readUint(r, 'lastLogTerm')
      const transfer = readFlags(r, FLAG, 'transfer') === FLAG
      return { type, from, to, term, lastLogIndex, lastLogTerm, transfer }
    }
    case 'requestVoteResponse':
    case 'requestPreVoteResponse':
      return { type, from, to, term, reject: readFlags(r, FLAG, 'reject') === FLAG }
    case 'installSnapshot': {
      const meta = readSnapshotMeta(r)
      const data = readBytes(r, 'snapshot data')
      return { type, from, to, term, snapshot: { meta, data } }
    }
    case 'timeoutNow':
      return { type, from, to, term }
    case 'readIndexResponse': {
      const index = readUint(r, 'index')
      return { type, from, to, term, index, context: readString(r, 'context') }
    }
    case 'transferLeader':
      return { type, from, to, term, transferee: readUint(r, 'transferee') }
    case 'forward': {
      const id = readUint(r, 'id')
      return { type, from, to, term, id, data: readBytes(r, 'data') }
    }
    case 'forwardReply': {
      const id = readUint(r, 'id')
      const flags = readFlags(r, FLAG | NOT_LEADING, 'flags')
      if (flags === FLAG) {
        const index = readUint(r, 'index')
        const entryTerm = readUint(r, 'entry term')
        return { type, from, to, term, id, accepted: true, index, entryTerm }
      }
      if (flags !== 0 && flags !== NOT_LEADING) {
        throw decodeError(r, 'an accepted write cannot be refused as well', 'flags')
      }
      const notLeading = flags === NOT_LEADING
      return {
        type,
        from,
        to,
        term,
        id,
        accepted: false,
        notLeading,
        reason: readString(r, 'reason'),
      }
    }
  }
}

function writeEntry(w: Writer, e: Entry): void {
  if (e.type !== 'normal' && e.type !== 'confChange') {
    throw new Error(`cannot encode an entry of unknown type '${(e as Entry).type}'`)
  }
  writeU8(w, e.type === 'normal' ? 0 : 1)
  writeUint(w, e.term, 'entry.term')
  writeUint(w, e.index, 'entry.index')
  if (e.type === 'normal') {
    writeBytes(w, e.data)
    return
  }
  const c = e.change
  const changeCode = CHANGE_TYPES.indexOf(c.type)
  if (changeCode < 0) throw new Error(`cannot encode conf change of unknown type '${c.type}'`)
  writeU8(w, changeCode)
  writeUint(w, c.nodeId, 'confChange.nodeId')
  writeU8(w, c.context === undefined ? 0 : FLAG)
  if (c.context !== undefined) writeString(w, c.context)
}

/** `which` names the entry in errors: "entry 3 of 4", counting from 1 as a person would. */
function readEntry(r: Reader, which: string): Entry {
  const at = r.pos
  const code = readU8(r, `${which} type`)
  const term = readUint(r, `${which} term`)
  const index = readUint(r, `${which} index`)
  if (code === 0) return { type: 'normal', term, index, data: readBytes(r, `${which} data`) }
  if (code !== 1) throw decodeError(r, `unknown entry type ${code}`, `${which} type`, at)
  const changeAt = r.pos
  const changeCode = readU8(r, `${which} conf change type`)
  const changeType = CHANGE_TYPES[changeCode]
  if (changeType === undefined) {
    throw decodeError(
      r,
      `unknown conf change type ${changeCode}`,
      `${which} conf change type`,
      changeAt,
    )
  }
  const nodeId = readUint(r, `${which} conf change node id`)
  const hasContext = readFlags(r, FLAG, `${which} conf change flags`) === FLAG
  const change: ConfChange = hasContext
    ? { type: changeType, nodeId, context: readString(r, `${which} conf change context`) }
    : { type: changeType, nodeId }
  return { type: 'confChange', term, index, change }
}

function writeSnapshotMeta(w: Writer, meta: SnapshotMeta): void {
  writeUint(w, meta.index, 'snapshot.index')
  writeUint(w, meta.term, 'snapshot.term')
  writeIds(w, meta.confState.voters, 'snapshot voter')
  writeIds(w, meta.confState.learners, 'snapshot learner')
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = readUint(r, 'snapshot index')
  const term = readUint(r, 'snapshot term')
  const voters = readIds(r, 'snapshot voter')
  const learners = readIds(r, 'snapshot learner')
  const confState: ConfState = { voters, learners }
  return { index, term, confState }
}

function writeIds(w: Writer, ids: readonly NodeId[], field: string): void {
  writeUint(w, ids.length, `${field} count`)
  for (const id of ids) writeUint(w, id, field)
}

function readIds(r: Reader, field: string): NodeId[] {
  const count = readCount(r, `${field} count`)
  const ids: NodeId[] = []
  for (let i = 0; i < count; i++) ids.push(readUint(r, `${field} ${i}`))
  return ids
}

function writeString(w: Writer, s: string): void {
  writeBytes(w, textEncoder.encode(s))
}

function readString(r: Reader, field: string): string {
  const at = r.pos
  const bytes = readBytes(r, field)
  try {
    return utf8.decode(bytes)
  } catch {
    throw decodeError(r, 'invalid UTF-8', field, at)
  }
}

function expectEnd(r: Reader): void {
  if (r.pos !== r.end) {
    throw decodeError(r, `${r.end - r.pos} unexpected bytes after the end`, 'the end')
  }
}
