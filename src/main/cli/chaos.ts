// `raftlab chaos`: placeholder until the chaos runner lands (issue #6).
export function chaosCommand(_argv: readonly string[]): Promise<number> {
  return Promise.reject(new Error('raftlab chaos is not built yet'))
}
