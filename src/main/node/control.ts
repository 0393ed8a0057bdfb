// The control channel between a node process and the cluster manager: Node's IPC channel when
// the manager forked the node. The node reports its state on every change and its events; the
// manager asks for log pages, fault rules, timing changes, leadership transfer and a graceful
// stop. Without a channel (a node started by hand) nothing here runs.

import type { Entry } from '../raft'
import type { MemberAddress, Timing } from './config'
import type { NodeEvent, NodeState, RaftNode } from './raftnode'
import type { FaultRules } from './transport/transport'

export type ControlRequest =
  | { readonly method: 'state' }
  | { readonly method: 'memory' }
  | { readonly method: 'readLog'; readonly lo: number; readonly hi: number }
  | { readonly method: 'setFaults'; readonly rules: FaultRules }
  | { readonly method: 'setTiming'; readonly timing: Timing }
  | { readonly method: 'setSnapshotCount'; readonly snapshotCount: number }
  | { readonly method: 'learnMemberAddresses'; readonly members: readonly MemberAddress[] }
  | { readonly method: 'transferLeadership'; readonly to: number }
  /** `handOver`: a leader first hands leadership to another voter (RaftNode.handOver). */
  | { readonly method: 'stop'; readonly handOver?: boolean }

/** Manager → node. */
export interface RequestEnvelope {
  readonly type: 'request'
  readonly id: number
  readonly request: ControlRequest
}

/** Node → manager. */
export type NodeReport =
  | { readonly type: 'ready'; readonly state: NodeState; readonly pid: number }
  | { readonly type: 'state'; readonly state: NodeState }
  | { readonly type: 'event'; readonly event: NodeEvent }
  | {
      readonly type: 'reply'
      readonly id: number
      readonly result?: unknown
      readonly error?: string
    }

/** Entries cross the channel as JSON: data as base64. */
export function entryToJson(e: Entry): Record<string, unknown> {
  return e.type === 'normal'
    ? { index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('base64') }
    : { index: e.index, term: e.term, type: e.type, change: e.change }
}

export function attachControl(
  node: RaftNode,
  send: (r: NodeReport) => void,
): (msg: unknown) => void {
  node.onState = (state) => send({ type: 'state', state })
  node.onEvent = (event) => send({ type: 'event', event })
  send({ type: 'ready', state: node.state(), pid: process.pid })
  return (msg) => {
    const env = msg as RequestEnvelope
    if (env?.type !== 'request' || typeof env.id !== 'number') return
    void handle(node, env.request).then(
      (result) => send({ type: 'reply', id: env.id, result }),
      (e: unknown) => send({ type: 'reply', id: env.id, error: (e as Error).message }),
    )
  }
}

async function handle(node: RaftNode, r: ControlRequest): Promise<unknown> {
  switch (r.method) {
    case 'state':
      return node.state()
    case 'memory':
      return process.memoryUsage()
    case 'readLog':
      return (await node.readLog(r.lo, r.hi)).map(entryToJson)
    case 'setFaults':
      node.setFaults(r.rules)
      return null
    case 'setTiming':
      node.setTiming(r.timing)
      return null
    case 'learnMemberAddresses':
      node.learnMemberAddresses(r.members)
      return null
    case 'setSnapshotCount':
      node.setSnapshotCount(r.snapshotCount)
      return null
    case 'transferLeadership': {
      // A follower passes the request on to its leader; the manager watches for the outcome.
      if (!node.isLeader()) {
        node.transferLeadership(r.to)
        return null
      }
      // The leader answers when the target leads, or when it gives the transfer up.
      const e = await node.moveLeader(r.to)
      if (e) throw new Error(e.message)
      return null
    }
    case 'stop':
      setImmediate(() => void node.gracefulStop(r.handOver === true))
      return null
    default:
      throw new Error(`unknown control request ${JSON.stringify(r)}`)
  }
}
