// The consensus core's public surface. Nothing here performs I/O or reads a clock.

export type { Config, ConfigInput, UnsafeFaults } from './config'
export { DEFAULTS, validateConfig } from './config'
export { applyConfChange } from './confchange'
export * from './messages'
export type { ProposeResult } from './raft'
export type { ProgressStatus, Ready, Status } from './rawnode'
export { RawNode } from './rawnode'
export { seededRandom, seededRng, type Rng } from './rng'
export {
  bootstrapEntries,
  EMPTY_CONF,
  MemoryStorage,
  type InitialState,
  type Storage,
} from './storage'
