// The contract between the renderer and the processes that serve it (Electron's main process
// today, browser mode later). One method table: the preload builds `window.raftlab` from it,
// and main registers one IPC handler per entry from it, so the two can never disagree.
// No Node and no DOM here: this file compiles in both tsconfig projects.

export interface AppInfo {
  readonly name: string
  readonly version: string
}

/** What the renderer sees as `window.raftlab`. Every method returns a promise. */
export interface RaftLabApi {
  appInfo(): Promise<AppInfo>
}

export type ApiMethodName = keyof RaftLabApi

/** The arguments of a method as the caller passes them. */
export type ApiArgs<K extends ApiMethodName> = Parameters<RaftLabApi[K]>

/**
 * One entry per method: checks the arguments that arrived over IPC (or a socket) and returns
 * them typed, or throws an Error whose message says what was wrong. Handlers never see
 * unchecked input: a compromised or buggy renderer can send anything.
 */
export type ApiMethodTable = {
  readonly [K in ApiMethodName]: (args: readonly unknown[]) => ApiArgs<K>
}

export const apiMethods: ApiMethodTable = {
  appInfo: (args) => {
    expectArgCount('appInfo', args, 0)
    return []
  },
}

export const apiMethodNames = Object.keys(apiMethods) as ApiMethodName[]

/** The IPC channel of a method; prefixed so it cannot collide with Electron's own channels. */
export function apiChannel(name: ApiMethodName): string {
  return `raftlab:${name}`
}

function expectArgCount(method: ApiMethodName, args: readonly unknown[], count: number): void {
  if (args.length !== count) {
    throw new Error(`raftlab.${method} takes ${count} argument(s), got ${args.length}`)
  }
}
