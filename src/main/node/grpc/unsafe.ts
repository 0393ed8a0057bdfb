// Deliberately broken behaviour, for proving that the chaos runner catches real bugs. Switched
// on only by the environment variable RAFTLAB_UNSAFE of a node process; never by a config file
// or a flag a user would set. Each mode breaks one promise of the etcd API:
//   ack-before-commit  a leader answers a put as soon as it has proposed it, before a majority
//                      holds it, so a leader cut off from its followers acknowledges writes
//                      that are then lost;
//   stale-read         a node that is or was leader answers linearizable reads from its own
//                      applied state without ReadIndex, so a deposed leader serves old values.

export type UnsafeMode = 'ack-before-commit' | 'stale-read'

const MODES: readonly UnsafeMode[] = ['ack-before-commit', 'stale-read']

function parse(v: string | undefined): UnsafeMode | undefined {
  if (v === undefined || v === '') return undefined
  if (!(MODES as readonly string[]).includes(v)) {
    throw new Error(`RAFTLAB_UNSAFE=${v} is not a known mode (${MODES.join(', ')})`)
  }
  return v as UnsafeMode
}

export const UNSAFE: UnsafeMode | undefined = parse(process.env.RAFTLAB_UNSAFE)

if (UNSAFE) {
  process.stderr.write(
    `WARNING: RAFTLAB_UNSAFE=${UNSAFE}: this node breaks its guarantees on purpose\n`,
  )
}
