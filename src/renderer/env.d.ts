import type { ClusterApi } from '../shared/api'

declare global {
  interface Window {
    /** Set by the preload in Electron; absent in browser mode. Read once, in main.ts. */
    readonly raftlab?: ClusterApi
  }
}
