// The framing of the peer stream: each frame is a 4-byte big-endian payload length followed by
// the payload. TCP delivers bytes, not frames, so the decoder is incremental: a frame may arrive
// split over many chunks, and one chunk may hold several frames.
//
// The maximum frame size protects a node from a peer (or a stray client) announcing a length
// it would have to buffer: the length is checked before a single payload byte is kept.

export const FRAME_HEADER_BYTES = 4
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
/** The length field is a u32. */
export const MAX_FRAME_BYTES_LIMIT = 0xffffffff

/** The whole frame for `payload`; throws if the payload exceeds `maxFrameBytes`. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes: number): Buffer {
  if (payload.length > maxFrameBytes) {
    throw new Error(
      `frame payload of ${payload.length} bytes exceeds the maximum of ${maxFrameBytes} bytes`,
    )
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

export class FrameDecoder {
  /** May change between frames: a connection allows full-size frames only after its hello. */
  maxFrameBytes: number
  private chunks: Buffer[] = []
  private buffered = 0
  /** Payload length of the frame being assembled; -1 while its header is incomplete. */
  private expecting = -1

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Bytes received but not yet returned as part of a frame. */
  get pendingBytes(): number {
    return this.buffered
  }

  /**
   * Takes the next chunk from the socket and yields every frame it completes, in order. Lazy, so
   * the caller can stop after a frame that made it close the connection; frames before an
   * oversized length are still yielded, then the generator throws.
   */
  *push(chunk: Uint8Array): Generator<Buffer, void, undefined> {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
      this.buffered += chunk.length
    }
    for (;;) {
      if (this.expecting < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) return
        const header = this.take(FRAME_HEADER_BYTES)
        const length = header.readUInt32BE(0)
        if (length > this.maxFrameBytes) {
          throw new FrameTooLargeError(length, this.maxFrameBytes, header)
        }
        this.expecting = length
      }
      if (this.buffered < this.expecting) return
      const payload = this.take(this.expecting)
      this.expecting = -1
      yield payload
    }
  }

  /** Removes the first `n` buffered bytes; copies only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n
    const first = this.chunks[0]
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer
      const used = Math.min(chunk.length, n - filled)
      chunk.copy(out, filled, 0, used)
      filled += used
      if (used === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(used)
    }
    return out
  }
}

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly maxFrameBytes: number,
    header: Uint8Array,
  ) {
    super(`frame length ${length} exceeds the maximum of ${maxFrameBytes} bytes${hint(header)}`)
    this.name = 'FrameTooLargeError'
  }
}

/** A text protocol spoken at the peer port reads as a huge length; show what it was. */
function hint(header: Uint8Array): string {
  const printable = header.every((b) => b >= 0x20 && b < 0x7f)
  if (!printable) return ''
  const text = Buffer.from(header).toString('latin1')
  const http = /^(GET|POST|PUT|HEAD|PRI|DELE|OPTI|PATC|CONN)/.test(text)
  return ` (the stream starts with the text "${text}"${http ? ': an HTTP client?' : ''})`
}
