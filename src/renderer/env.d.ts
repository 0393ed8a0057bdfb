import type { RaftLabApi } from '../shared/api'

declare global {
  interface Window {
    /** Set by the preload (Electron) or, later, by browser mode. Read once, in main.ts. */
    readonly raftlab: RaftLabApi
  }
}
