// The tar.gz writer, checked by the system's own tar: what tar extracts is what went in.

import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TarGzWriter } from '../../src/main/cluster/tar'

const run = promisify(execFile)
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftlab-tar-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

describe('TarGzWriter', () => {
  it('writes an archive that tar extracts byte for byte', async () => {
    const files: [string, Buffer][] = [
      ['bundle/empty.txt', Buffer.alloc(0)],
      ['bundle/a.txt', Buffer.from('hello\n')],
      ['bundle/nodes/node-1/block.bin', bytes(512, 1)],
      ['bundle/nodes/node-1/odd.bin', bytes(513, 2)],
      ['bundle/nodes/node-2/big.bin', bytes(300_000, 3)],
      ['bundle/ünïcode-名前.txt', Buffer.from('名前\n')],
      [`bundle/${'d'.repeat(90)}/${'e'.repeat(60)}/long-name.txt`, Buffer.from('long\n')],
    ]
    const path = join(dir, 'one.tar.gz')
    const w = await TarGzWriter.create(path)
    for (const [name, data] of files) await w.add(name, data)
    const size = await w.close()
    expect(size).toBe((await readFile(path)).length)

    const out = join(dir, 'one')
    await mkdir(out)
    await run('tar', ['-xzf', path, '-C', out])
    for (const [name, data] of files) {
      expect((await readFile(join(out, name))).equals(data), name).toBe(true)
    }
    const { stdout } = await run('tar', ['-tzf', path])
    expect(stdout.split('\n').filter(Boolean)).toContain('bundle/nodes/node-1/')
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([])
  })

  it('refuses names that would escape the archive or cannot fit', async () => {
    const w = await TarGzWriter.create(join(dir, 'bad.tar.gz'))
    await expect(w.add('a/../../etc/passwd', 'x')).rejects.toThrow(/not a usable name/)
    await expect(w.add('x'.repeat(300), 'x')).rejects.toThrow(/too long for a tar archive/)
    await w.abort()
    expect((await readdir(dir)).filter((f) => f.startsWith('bad'))).toEqual([])
  })
})
