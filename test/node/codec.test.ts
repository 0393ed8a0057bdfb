import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/main/raft'
import {
  createWriter,
  writeBytes,
  writeU32,
  writeU8,
  writeUint,
  written,
} from '../../src/main/kv/codec'
import {
  decodeMessage,
  decodePayload,
  encodeMessage,
  encodePayload,
  HELLO_MAGIC,
  PROTOCOL_VERSION,
  type Payload,
  type PeerMessage,
  type PeerMessageType,
} from '../../src/main/node/transport/codec'
import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  SnapshotMeta,
} from '../../src/main/raft/messages'

const prng = seededRandom

const TYPES: readonly PeerMessageType[] = [
  'appendEntries',
  'appendEntriesResponse',
  'heartbeat',
  'heartbeatResponse',
  'requestVote',
  'requestPreVote',
  'requestVoteResponse',
  'requestPreVoteResponse',
  'installSnapshot',
  'timeoutNow',
  'readIndex',
  'readIndexResponse',
  'transferLeader',
  'forward',
  'forwardReply',
]

class Gen {
  readonly next: () => number
  constructor(seed: number) {
    this.next = prng(seed)
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T
  }
  bool(): boolean {
    return this.next() < 0.5
  }
  /** Mostly small numbers, sometimes the varint boundaries and the top of the safe range. */
  num(): number {
    const r = this.int(10)
    if (r < 6) return this.int(200)
    if (r < 8) return this.pick([127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 35 - 1])
    if (r < 9) return Number.MAX_SAFE_INTEGER - this.int(3)
    return this.int(2 ** 40)
  }
  id(): number {
    return 1 + this.int(this.bool() ? 7 : 1000)
  }
  bytes(max: number): Uint8Array {
    const b = new Uint8Array(this.int(max + 1))
    for (let i = 0; i < b.length; i++) b[i] = this.int(256)
    return b
  }
  text(): string {
    const alphabet = ['a', 'Z', '0', ':', ' ', 'é', '日', '🙂', '\u0000']
    let s = ''
    const n = this.int(12)
    for (let i = 0; i < n; i++) s += this.pick(alphabet)
    return s
  }
  confState(): ConfState {
    const ids = (): number[] => Array.from({ length: this.int(5) }, () => this.id())
    return { voters: ids(), learners: ids() }
  }
  entry(): Entry {
    const term = this.num()
    const index = this.num()
    if (this.int(4) > 0) return { type: 'normal', term, index, data: this.bytes(64) }
    const type = this.pick(['addVoter', 'addLearner', 'removeNode'] as const)
    const change: ConfChange = this.bool()
      ? { type, nodeId: this.id(), context: this.text() }
      : { type, nodeId: this.id() }
    return { type: 'confChange', term, index, change }
  }
  meta(): SnapshotMeta {
    return { index: this.num(), term: this.num(), confState: this.confState() }
  }
  message(type: PeerMessageType = this.pick(TYPES)): PeerMessage {
    const env = { from: this.id(), to: this.id(), term: this.num() }
    switch (type) {
      case 'appendEntries':
        return {
          type,
          ...env,
          prevLogIndex: this.num(),
          prevLogTerm: this.num(),
          leaderCommit: this.num(),
          entries: Array.from({ length: this.int(6) }, () => this.entry()),
        }
      case 'appendEntriesResponse':
        return {
          type,
          ...env,
          index: this.num(),
          reject: this.bool(),
          rejectHint: this.num(),
          hintTerm: this.num(),
        }
      case 'heartbeat':
        return { type, ...env, commit: this.num(), context: this.text() }
      case 'heartbeatResponse':
      case 'readIndex':
        return { type, ...env, context: this.text() }
      case 'requestVote':
      case 'requestPreVote':
        return {
          type,
          ...env,
          lastLogIndex: this.num(),
          lastLogTerm: this.num(),
          transfer: this.bool(),
        }
      case 'requestVoteResponse':
      case 'requestPreVoteResponse':
        return { type, ...env, reject: this.bool() }
      case 'installSnapshot':
        return { type, ...env, snapshot: { meta: this.meta(), data: this.bytes(300) } }
      case 'timeoutNow':
        return { type, ...env }
      case 'readIndexResponse':
        return { type, ...env, index: this.num(), context: this.text() }
      case 'transferLeader':
        return { type, ...env, transferee: this.id() }
      case 'forward':
        return { type, ...env, id: this.num(), data: this.bytes(64) }
      case 'forwardReply':
        return this.bool()
          ? {
              type,
              ...env,
              id: this.num(),
              accepted: true,
              index: this.num(),
              entryTerm: this.num(),
            }
          : {
              type,
              ...env,
              id: this.num(),
              accepted: false,
              reason: this.text(),
              notLeading: this.bool(),
            }
    }
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

describe('message codec', () => {
  it('round-trips random messages of every type (seeded)', () => {
    const g = new Gen(20240601)
    const seen = new Set<PeerMessageType>()
    for (let i = 0; i < 3000; i++) {
      const m = g.message()
      seen.add(m.type)
      const bytes = encodeMessage(m)
      expect(decodeMessage(bytes)).toEqual(m)
      // Inside a frame, and from a Buffer as the socket hands it over.
      const payload = Buffer.from(encodePayload({ kind: 'message', message: m }))
      expect(decodePayload(payload)).toEqual({ kind: 'message', message: m })
    }
    expect([...seen].sort()).toEqual([...TYPES].sort())
  })

  it('decodes byte data as plain Uint8Arrays that do not alias the input', () => {
    const m: Message = {
      type: 'appendEntries',
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      leaderCommit: 0,
      entries: [{ type: 'normal', term: 1, index: 1, data: Uint8Array.of(7, 8) }],
    }
    const input = Buffer.from(encodeMessage(m))
    const out = decodeMessage(input)
    const entry = out.type === 'appendEntries' ? out.entries[0] : undefined
    const data = entry?.type === 'normal' ? entry.data : undefined
    expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype)
    input.fill(0)
    expect(data).toEqual(Uint8Array.of(7, 8))
  })

  it('has a stable wire format', () => {
    const hb: Message = { type: 'heartbeat', from: 1, to: 2, term: 300, commit: 7, context: 'a' }
    // tag 3, from 1, to 2, term 300 = ac 02, commit 7, context "a"
    expect(hex(encodeMessage(hb))).toBe('030102ac02070161')
    expect(hex(encodePayload({ kind: 'message', message: hb }))).toBe('02030102ac02070161')
    const hello = encodePayload({
      kind: 'hello',
      hello: { version: 4, clusterId: 'c', nodeId: 5, name: 'n', client: '' },
    })
    // tag 1, magic, version 4, "c", node 5, "n", ""
    expect(hex(hello)).toBe('01524c4142040163' + '05' + '016e' + '00')
    // tag 14, from 2, to 1, term 3, id 9, data 2 bytes
    const fwd: PeerMessage = {
      type: 'forward',
      from: 2,
      to: 1,
      term: 3,
      id: 9,
      data: Uint8Array.of(0xab, 0xcd),
    }
    expect(hex(encodeMessage(fwd))).toBe('0e0201030902abcd')
    // tag 15, id 9, accepted, index 300 = ac 02, entry term 3; refused with reason "x"
    const ok: PeerMessage = {
      type: 'forwardReply',
      from: 1,
      to: 2,
      term: 3,
      id: 9,
      accepted: true,
      index: 300,
      entryTerm: 3,
    }
    expect(hex(encodeMessage(ok))).toBe('0f0102030901ac0203')
    const no: PeerMessage = {
      type: 'forwardReply',
      from: 1,
      to: 2,
      term: 3,
      id: 9,
      accepted: false,
      reason: 'x',
      notLeading: false,
    }
    expect(hex(encodeMessage(no))).toBe('0f01020309000178')
    expect(hex(encodeMessage({ ...no, notLeading: true }))).toBe('0f01020309020178')
    // Accepted and refused at once is no reply a node sends.
    expect(() => decodeMessage(Buffer.from('0f01020309030178', 'hex'))).toThrow(
      /an accepted write cannot be refused as well/,
    )
  })

  it('round-trips the handshake, the snapshot chunk and the removal frames', () => {
    const g = new Gen(7)
    const payloads: Payload[] = [
      {
        kind: 'hello',
        hello: {
          version: PROTOCOL_VERSION,
          clusterId: 'raftlab-🙂',
          nodeId: 3,
          name: 'nœud-3',
          client: '127.0.0.1:2379',
        },
      },
      {
        kind: 'snapshotHeader',
        header: { from: 1, to: 2, term: 9, meta: g.meta(), totalBytes: 5 << 20, crc: 0xdeadbeef },
      },
      { kind: 'snapshotChunk', offset: 1 << 20, data: g.bytes(1000) },
      { kind: 'removed', nodeId: 300 },
    ]
    for (const p of payloads) expect(decodePayload(encodePayload(p))).toEqual(p)
  })

  it('names the entry and the field when an entry claims more data than the frame holds', () => {
    const w = createWriter()
    for (const v of [1, 1, 2, 3, 0, 0, 0, 3]) writeUint(w, v, 'header') // tag 1 = appendEntries
    for (let i = 0; i < 2; i++) {
      writeU8(w, 0)
      writeUint(w, 3, 'term')
      writeUint(w, i + 1, 'index')
      writeBytes(w, Uint8Array.of(1, 2, 3))
    }
    writeU8(w, 0)
    writeUint(w, 3, 'term')
    writeUint(w, 3, 'index')
    writeUint(w, 99999, 'length')
    for (let i = 0; i < 12; i++) writeU8(w, 0)
    expect(() => decodeMessage(written(w))).toThrow(
      /^appendEntries message: length 99999 runs past the end of the data at byte 25 \(reading entry 3 of 3 data\)$/,
    )
  })

  it('rejects every truncation of a valid message', () => {
    const g = new Gen(99)
    for (let i = 0; i < 150; i++) {
      const bytes = encodeMessage(g.message())
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decodeMessage(bytes.subarray(0, n))).toThrow(Error)
      }
    }
  })

  it('rejects trailing bytes, unknown tags, kinds, flags and entry types', () => {
    const vote = encodeMessage({
      type: 'requestVoteResponse',
      from: 1,
      to: 2,
      term: 3,
      reject: true,
    })
    expect(() => decodeMessage(Uint8Array.of(...vote, 0))).toThrow(
      'requestVoteResponse message: 1 unexpected bytes after the end at byte 5',
    )
    expect(() => decodeMessage(Uint8Array.of(0, 1, 2, 3))).toThrow(
      'message: unknown message type tag 0 at byte 0',
    )
    expect(() => decodeMessage(Uint8Array.of(16, 1, 2, 3))).toThrow('unknown message type tag 16')
    const badFlags = Uint8Array.from(vote)
    badFlags[4] = 0x03
    expect(() => decodeMessage(badFlags)).toThrow('unknown flag bits 0x2')
    expect(() => decodePayload(Uint8Array.of(9))).toThrow('frame: unknown payload kind 9')
    expect(() => decodePayload(Uint8Array.of())).toThrow('frame: unexpected end of data')

    // appendEntries with one entry of type 2
    expect(() => decodeMessage(Uint8Array.of(1, 1, 2, 3, 0, 0, 0, 1, 2, 1, 1, 0))).toThrow(
      'unknown entry type 2 at byte 8 (reading entry 1 of 1 type)',
    )
    // a conf change entry with change type 3
    expect(() => decodeMessage(Uint8Array.of(1, 1, 2, 3, 0, 0, 0, 1, 1, 1, 1, 3, 4, 0))).toThrow(
      'unknown conf change type 3',
    )
    // 200 entries announced in a dozen bytes
    expect(() => decodeMessage(Uint8Array.of(1, 1, 2, 3, 0, 0, 0, 0xc8, 0x01, 0, 1))).toThrow(
      'count 200 exceeds the 2 bytes left',
    )
  })

  it('rejects invalid UTF-8, overlong varints and a hello without the magic', () => {
    expect(() => decodeMessage(Uint8Array.of(11, 1, 2, 3, 2, 0xc3, 0x28))).toThrow(
      'readIndex message: invalid UTF-8 at byte 4 (reading context)',
    )
    expect(() => decodeMessage(Uint8Array.of(10, 1, 2, ...new Array(9).fill(0xff), 1))).toThrow(
      'varint longer than 8 bytes',
    )
    const w = createWriter()
    writeU8(w, 1)
    writeU32(w, HELLO_MAGIC ^ 1)
    expect(() => decodePayload(written(w))).toThrow('not a RaftLab peer')
  })

  it('never throws anything but an Error on random bytes, and what it accepts is a message', () => {
    const g = new Gen(4242)
    let accepted = 0
    for (let i = 0; i < 20000; i++) {
      const bytes = g.bytes(40)
      if (bytes.length > 0) bytes[0] = 1 + g.int(15)
      let m: PeerMessage
      try {
        m = decodeMessage(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(Error)
        continue
      }
      accepted++
      expect(decodeMessage(encodeMessage(m))).toEqual(m)
    }
    expect(accepted).toBeGreaterThan(0)
  })

  it('refuses to encode numbers that are not non-negative safe integers', () => {
    const hb = (term: number): Message => ({
      type: 'heartbeat',
      from: 1,
      to: 2,
      term,
      commit: 0,
      context: '',
    })
    expect(() => encodeMessage(hb(-1))).toThrow(
      'cannot encode heartbeat.term: -1 is not a non-negative safe integer',
    )
    expect(() => encodeMessage(hb(1.5))).toThrow('heartbeat.term')
    expect(() => encodeMessage(hb(2 ** 53))).toThrow('heartbeat.term')
  })
})
