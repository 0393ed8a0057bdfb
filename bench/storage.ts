// `npx tsx bench/storage.ts`: how long NodeStorage.save() takes for one Ready, which bounds how
// fast a node can acknowledge writes: one NeDB insert of the batch, the hard state, and an
// fdatasync of each file. Run by hand; never part of `npm test`.
//
//   npx tsx bench/storage.ts                    in a fresh directory under the OS temp dir
//   npx tsx bench/storage.ts --dir /mnt/disk    on the disk the nodes will really use
//   npx tsx bench/storage.ts --iterations 1000

import { mkdtemp, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeStorage } from '../src/main/node/storage'
import type { Entry } from '../src/main/raft'
import { arg, percentile } from './util'

const ENTRY_BYTES = 100
const BATCHES = [1, 16, 256]
const iterations = Number(arg('iterations') ?? 200)
const base = arg('dir') ?? tmpdir()
// tmpfs makes fdatasync free, and the figures meaningless for a real disk.
const TMPFS_MAGIC = 0x01021994
if ((await statfs(base)).type === TMPFS_MAGIC) {
  console.log(`note: ${base} is tmpfs, where fdatasync costs nothing; pass --dir on a real disk`)
}

console.log(
  `save() of N entries of ${ENTRY_BYTES} bytes plus a hard state, ${iterations} times, in ${base}`,
)
for (const size of BATCHES) {
  const dir = await mkdtemp(join(base, 'raftlab-bench-storage-'))
  try {
    const storage = await NodeStorage.open(dir, { create: true })
    const data = new Uint8Array(ENTRY_BYTES).fill(0x61)
    const times: number[] = []
    let next = 1
    for (let i = 0; i < iterations; i++) {
      const entries: Entry[] = Array.from({ length: size }, () => ({
        type: 'normal',
        index: next++,
        term: 1,
        data,
      }))
      // Commit trails the log by a batch, as on a leader waiting for its followers.
      const commit = Math.max(0, next - 1 - size)
      const started = performance.now()
      await storage.save({ entries, hardState: { term: 1, vote: 1, commit } })
      times.push(performance.now() - started)
    }
    await storage.close()
    times.sort((a, b) => a - b)
    const p50 = percentile(times, 50)
    const p99 = percentile(times, 99)
    console.log(
      `  ${String(size).padStart(3)} entries:  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  ` +
        `(${Math.round((size / p50) * 1000)} entries/s at p50)`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
