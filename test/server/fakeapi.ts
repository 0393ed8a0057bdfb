// A ClusterApi that answers from canned, deterministic results and records its calls: it
// isolates the bridge from the engine, so these tests check the wire and its guards alone.

import {
  apiMethodNames,
  type ApiEventName,
  type ApiEvents,
  type ApiMethodName,
  type ClusterApi,
  type ClusterStatus,
  type KeyPage,
} from '../../src/shared/api'

export interface FakeApi extends ClusterApi {
  readonly calls: { method: ApiMethodName; args: unknown[] }[]
  emit<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void
  listenerCount(): number
}

export const fakeStatus: ClusterStatus = {
  workspace: '/tmp/fake',
  exists: true,
  name: 'fake',
  nodes: [
    {
      id: 1,
      name: 'node-1',
      client: '127.0.0.1:1',
      peer: '127.0.0.1:2',
      process: 'running',
      pid: 42,
      member: 'voter',
      raft: null,
      lastExit: null,
    },
  ],
  leader: 1,
  term: 3,
  faults: { partitions: [], links: [], paused: [] },
  timing: { tickMs: 40, electionTicks: 10, heartbeatTicks: 1, snapshotCount: 100, slowMotion: 1 },
  pendingChange: null,
}

function keyPage(prefix: string): KeyPage {
  return {
    keys: ['a', 'b'].map((k, i) => ({
      key: `${prefix}${k}`,
      value: 'dg==',
      size: 1,
      createRevision: i + 2,
      modRevision: i + 2,
      version: 1,
      lease: 0,
    })),
    count: 2,
    cursor: null,
    revision: 3,
  }
}

export function fakeApi(): FakeApi {
  const calls: FakeApi['calls'] = []
  const listeners = new Map<ApiEventName, Set<(p: unknown) => void>>()
  const answers: Partial<Record<ApiMethodName, (...args: unknown[]) => unknown>> = {
    appInfo: () => ({ name: 'raftlab', version: '0.0.0-test', host: 'browser' }),
    status: () => fakeStatus,
    listKeys: (q) => keyPage((q as { prefix?: string }).prefix ?? ''),
    killNode: (id) => ({ ...fakeStatus.nodes[0], id, process: 'stopped', pid: null }),
    getKey: (key) => {
      throw new Error(`key ${String(key)} is not in the fake`)
    },
  }
  const methods = Object.fromEntries(
    apiMethodNames.map((name) => [
      name,
      async (...args: unknown[]) => {
        calls.push({ method: name, args })
        const answer = answers[name]
        return answer ? answer(...args) : { method: name, args }
      },
    ]),
  )
  return {
    ...(methods as unknown as ClusterApi),
    calls,
    on(event, listener) {
      const set = listeners.get(event) ?? new Set()
      listeners.set(event, set)
      const l = listener as (p: unknown) => void
      set.add(l)
      return () => set.delete(l)
    },
    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload)
    },
    listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
  }
}
