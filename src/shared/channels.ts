// The names of the API's methods and pushed events, and their IPC channels. Free of any
// dependency: the preload imports this and nothing else of ours, because Electron runs it
// sandboxed, where `require` reaches 'electron' and a few built-ins but no package. The
// argument schemas (api.ts, zod) stay in main, which checks every call anyway.

export const apiMethodNames = [
  'appInfo',
  'status',
  'createCluster',
  'destroyCluster',
  'startNode',
  'stopNode',
  'killNode',
  'pauseNode',
  'resumeNode',
  'restartNode',
  'startAll',
  'stopAll',
  'addNode',
  'removeNode',
  'promoteNode',
  'transferLeadership',
  'partition',
  'isolate',
  'setLinkFault',
  'heal',
  'setTiming',
  'events',
  'eventCounts',
  'readLog',
  'compareLogs',
  'exportNodeLog',
  'listKeys',
  'getKey',
  'putKey',
  'deleteKey',
  'importKeys',
  'exportKeys',
  'exportBundle',
] as const

export type ApiMethodName = (typeof apiMethodNames)[number]

export const apiEventNames = ['event', 'status', 'progress'] as const

export type ApiEventName = (typeof apiEventNames)[number]

/** The IPC channel of a method; prefixed so it cannot collide with Electron's own channels. */
export function apiChannel(name: ApiMethodName): string {
  return `raftlab:${name}`
}

/** The IPC channel on which main pushes one kind of event. */
export function apiEventChannel(name: ApiEventName): string {
  return `raftlab-event:${name}`
}
