// A small writer of gzipped tar archives (POSIX ustar), enough for the debug bundle: regular
// files and the directories above them, names up to ustar's 255 bytes. Written to a temporary
// name and renamed when complete, so a failed export never leaves half an archive behind.

import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { createGzip, type Gzip } from 'node:zlib'

const BLOCK = 512
/** The largest size ustar's 11 octal digits can state (8 GiB - 1). */
const MAX_SIZE = 0o77777777777

export interface TarEntryOptions {
  /** Seconds since the epoch; defaults to the time the archive was opened. */
  readonly mtime?: number
  /** Permission bits; 0o644 for files and 0o755 for directories by default. */
  readonly mode?: number
}

export class TarGzWriter {
  private readonly dirs = new Set<string>()
  private closed = false

  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly gzip: Gzip,
    private readonly file: WriteStream,
    private readonly done: Promise<void>,
    private readonly now: number,
  ) {}

  static async create(path: string): Promise<TarGzWriter> {
    const tmp = `${path}.partial-${process.pid}`
    const file = createWriteStream(tmp)
    await once(file, 'open')
    const gzip = createGzip()
    gzip.pipe(file)
    const done = new Promise<void>((resolve, reject) => {
      file.once('close', resolve)
      file.once('error', reject)
      gzip.once('error', reject)
    })
    // Kept from surfacing as unhandled before close() or abort() awaits it.
    done.catch(() => undefined)
    return new TarGzWriter(path, tmp, gzip, file, done, Math.floor(Date.now() / 1000))
  }

  /** Adds a regular file; directories on its path are added before it, once each. */
  async add(name: string, data: Uint8Array | string, opts: TarEntryOptions = {}): Promise<void> {
    if (this.closed) throw new Error(`cannot add ${name}: the archive ${this.path} is closed`)
    const clean = checkName(name)
    const parts = clean.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`
      if (this.dirs.has(dir)) continue
      this.dirs.add(dir)
      await this.write(header(dir, 0, '5', opts.mtime ?? this.now, 0o755))
    }
    const body = typeof data === 'string' ? Buffer.from(data) : data
    if (body.length > MAX_SIZE) throw new Error(`cannot add ${name}: larger than ustar allows`)
    await this.write(header(clean, body.length, '0', opts.mtime ?? this.now, opts.mode ?? 0o644))
    await this.write(body)
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK
    if (pad > 0) await this.write(new Uint8Array(pad))
  }

  /** Ends the archive (two zero blocks), moves it to its path and returns its size in bytes. */
  async close(): Promise<number> {
    if (this.closed) throw new Error(`the archive ${this.path} is already closed`)
    this.closed = true
    try {
      await this.write(new Uint8Array(BLOCK * 2))
      this.gzip.end()
      await this.done
      await rename(this.tmp, this.path)
    } catch (e) {
      await rm(this.tmp, { force: true })
      throw e
    }
    return (await stat(this.path)).size
  }

  /** Gives up on the archive and removes what was written. */
  async abort(): Promise<void> {
    this.closed = true
    this.gzip.destroy()
    this.file.destroy()
    await this.done.catch(() => undefined)
    await rm(this.tmp, { force: true })
  }

  private async write(chunk: Uint8Array): Promise<void> {
    if (!this.gzip.write(chunk)) await once(this.gzip, 'drain')
  }
}

function checkName(name: string): string {
  const clean = name.replace(/^\/+/, '')
  if (clean === '' || clean.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`"${name}" is not a usable name inside an archive`)
  }
  return clean
}

/** A ustar header block. Long names are split at a "/" into the prefix and name fields. */
function header(name: string, size: number, type: '0' | '5', mtime: number, mode: number): Buffer {
  const h = Buffer.alloc(BLOCK)
  const [prefix, base] = splitName(name)
  h.write(base, 0, 100, 'utf8')
  octal(h, 100, 8, mode)
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, size)
  octal(h, 136, 12, mtime)
  h.fill(' ', 148, 156) // the checksum counts its own field as spaces
  h.write(type, 156, 1, 'ascii')
  h.write('ustar\0', 257, 6, 'ascii')
  h.write('00', 263, 2, 'ascii')
  h.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const byte of h) sum += byte
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii')
  return h
}

function splitName(name: string): [string, string] {
  const bytes = Buffer.byteLength(name)
  if (bytes <= 100) return ['', name]
  // The name field takes what follows the last "/" that leaves at most 155 bytes before it
  // (a directory keeps its own trailing "/" in the name field).
  const trailing = name.endsWith('/') ? '/' : ''
  const core = trailing ? name.slice(0, -1) : name
  for (let i = core.length - 1; i > 0; i--) {
    if (core[i] !== '/') continue
    const prefix = core.slice(0, i)
    const base = core.slice(i + 1) + trailing
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100) return [prefix, base]
  }
  throw new Error(`"${name}" is too long for a tar archive (ustar allows 255 bytes)`)
}

function octal(h: Buffer, at: number, len: number, v: number): void {
  h.write(`${v.toString(8).padStart(len - 1, '0')}\0`, at, len, 'ascii')
}
