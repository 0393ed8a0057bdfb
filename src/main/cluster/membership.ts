// Membership changes through the leader's etcd Cluster service, one at a time, each refused
// up front when it would leave the cluster without a working majority. A new node joins as a
// learner (it cannot vote, so a slow catch-up never stalls commits), and is promoted to voter
// only once it has applied what the leader had committed (Raft thesis §4.2.1).

import { Etcd3 } from 'etcd3'
import type { Progress } from '../../shared/api'
import type { ClusterManager } from './manager'
import { freePorts, type NodeSpec } from './workspace'
import { splitHostPort } from '../node/config'

export interface MembershipHost {
  readonly manager: ClusterManager
  /** Whether a node is running, not paused, and not cut off from `leader` by a partition. */
  reachable(id: number, leader: number): boolean
  progress(p: Progress): void
  /** Multiplies every wait: a slow-motion cluster takes longer to elect and replicate. */
  readonly slowMotion: number
}

/** The leader's configuration, or a refusal naming why there is none. */
function leaderConf(host: MembershipHost): {
  leader: number
  client: string
  voters: readonly number[]
  learners: readonly number[]
} {
  const m = host.manager
  const leader = m.leader()
  const info = m.nodes().find((n) => n.id === leader)
  if (leader === undefined || !info?.state) {
    throw new Error(
      'the cluster has no leader: a majority of its voters is not reachable, so membership cannot change now',
    )
  }
  return {
    leader,
    client: info.client,
    voters: info.state.confState.voters,
    learners: info.state.confState.learners,
  }
}

/** Refuses a configuration of `voters` whose reachable members would not be a majority. */
function checkQuorum(
  host: MembershipHost,
  voters: readonly number[],
  leader: number,
  what: string,
): void {
  if (voters.length === 0) throw new Error(`${what} would leave the cluster without a voter`)
  const live = voters.filter((v) => host.reachable(v, leader))
  if (live.length * 2 <= voters.length) {
    throw new Error(
      `${what} would lose quorum: of the ${voters.length} voters [${voters.join(', ')}] only ` +
        `${live.length} [${live.join(', ')}] are running and reachable, and a majority needs ` +
        `${Math.floor(voters.length / 2) + 1}`,
    )
  }
}

/** Runs a Cluster call on the current leader, retrying while leadership is moving. */
async function onLeader<T>(
  host: MembershipHost,
  call: (client: Etcd3) => Promise<T>,
  retryOn: RegExp,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { client: endpoint } = leaderConf(host)
    const client = new Etcd3({ hosts: [`http://${endpoint}`], dialTimeout: 3000 })
    try {
      return await call(client)
    } catch (e) {
      if (!retryOn.test((e as Error).message) || Date.now() > deadline) throw e
    } finally {
      client.close()
    }
    await new Promise((r) => setTimeout(r, 200 * host.slowMotion))
  }
}

/** Errors on which nothing was proposed, so a retry cannot apply a change twice. */
const NOT_PROPOSED = /not leader|no leader|unavailable/i

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Adds a node: new ports, MemberAdd as a learner, start it, wait until it has caught up, then
 * promote it. Returns the new node's id. A failure after MemberAdd leaves the learner in the
 * cluster (it is a member by then) and says so.
 */
export async function addNode(host: MembershipHost): Promise<number> {
  const m = host.manager
  const conf = leaderConf(host)
  // The promotion at the end needs a majority of the grown configuration: the new node counts.
  const liveVoters = conf.voters.filter((v) => host.reachable(v, conf.leader))
  if ((liveVoters.length + 1) * 2 <= conf.voters.length + 1) {
    throw new Error(
      `adding a node would lose quorum: only ${liveVoters.length} of ${conf.voters.length} voters are reachable`,
    )
  }
  const task = 'add node'
  const total = 4
  host.progress({ task, done: 0, total, message: 'allocating ports' })
  const given = m.clusterFile.nodes.flatMap((n) =>
    [n.client, n.peer].map((a) => splitHostPort(a, 'address').port),
  )
  const [clientPort, peerPort] = await freePorts(2, given)
  const peer = `127.0.0.1:${peerPort}`
  const client = `127.0.0.1:${clientPort}`

  host.progress({ task, done: 1, total, message: `adding ${peer} as a learner` })
  const added = await onLeader(
    host,
    (c) => c.cluster.memberAdd({ peerURLs: [`http://${peer}`], isLearner: true }),
    NOT_PROPOSED,
    10_000 * host.slowMotion,
  )
  const id = Number(added.member.ID)
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new Error(
      `the leader answered MemberAdd with a member id that is not a number: ${added.member.ID}`,
    )
  }
  if (m.clusterFile.nodes.some((n) => n.id === id)) {
    throw new Error(`the leader gave the new member id ${id}, which cluster.json already uses`)
  }
  const spec: NodeSpec = { id, name: `node-${id}`, peer, client, join: true }
  await m.update((c) => ({ ...c, nodes: [...c.nodes, spec] }))
  // The members learn the new node's client address, which MemberAdd cannot carry.
  await m.announceAddresses()

  const step = `node ${id}`
  try {
    host.progress({ task, done: 2, total, message: `starting ${step}` })
    await m.startNode(id)
    const target = m.nodes().find((n) => n.id === leaderConf(host).leader)?.state?.commit ?? 0
    host.progress({ task, done: 3, total, message: `${step} catching up to index ${target}` })
    await waitFor(
      `${step} catching up to index ${target}`,
      () => (m.nodes().find((n) => n.id === id)?.state?.applied ?? 0) >= target,
      60_000 * host.slowMotion,
    )
    await promote(host, id)
  } catch (e) {
    throw new Error(`node ${id} was added as a learner but not promoted: ${(e as Error).message}`)
  }
  host.progress({ task, done: total, total, message: `${step} is a voter` })
  return id
}

export async function promoteNode(host: MembershipHost, id: number): Promise<void> {
  const conf = leaderConf(host)
  if (conf.voters.includes(id)) throw new Error(`node ${id} is already a voter`)
  if (!conf.learners.includes(id)) throw new Error(`node ${id} is not a learner of this cluster`)
  await promote(host, id)
}

async function promote(host: MembershipHost, id: number): Promise<void> {
  const conf = leaderConf(host)
  checkQuorum(host, [...conf.voters, id], conf.leader, `promoting node ${id}`)
  // "learner not ready" while its log is still short of the leader's: wait and ask again.
  await onLeader(
    host,
    (c) => c.cluster.memberPromote({ ID: String(id) }),
    /not leader|no leader|unavailable|not ready|not in sync/i,
    30_000 * host.slowMotion,
  )
  await waitFor(
    `node ${id} becoming a voter`,
    () => {
      const leader = host.manager.leader()
      const state = host.manager.nodes().find((n) => n.id === leader)?.state
      return state?.confState.voters.includes(id) ?? false
    },
    10_000 * host.slowMotion,
  )
}

/**
 * Removes a node from the membership (the leader too: it steps down once the change commits),
 * then stops its process. Returns once cluster.json marks it removed.
 */
export async function removeNode(host: MembershipHost, id: number): Promise<void> {
  const m = host.manager
  const spec = m.clusterFile.nodes.find((n) => n.id === id)
  if (!spec) throw new Error(`node ${id} is not part of this cluster`)
  if (spec.removed) throw new Error(`node ${id} was already removed`)
  const conf = leaderConf(host)
  const member = conf.voters.includes(id) || conf.learners.includes(id)
  if (conf.voters.includes(id)) {
    checkQuorum(
      host,
      conf.voters.filter((v) => v !== id),
      conf.leader,
      `removing node ${id}`,
    )
  }
  if (member) {
    // A removed leader steps down, and may do so before it answers; what settles the change is
    // a leader (another node) whose configuration no longer holds the node.
    const call = onLeader(
      host,
      (c) => c.cluster.memberRemove({ ID: String(id) }),
      NOT_PROPOSED,
      10_000 * host.slowMotion,
    )
    const seen = waitFor(
      `node ${id} leaving the configuration`,
      () => removalVisible(host, id),
      30_000 * host.slowMotion,
    )
    call.catch(() => {})
    seen.catch(() => {})
    await Promise.race([call, seen])
  }
  // A removed node shuts itself down once it applies its removal; one that never hears of it
  // (stopped, partitioned) is stopped here.
  const exited = m.process(id).exit
  if (m.process(id).running && exited) {
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000 * host.slowMotion))])
  }
  await m.stopNode(id)
  await m.update((c) => ({
    ...c,
    nodes: c.nodes.map((n) => (n.id === id ? { ...n, removed: true } : n)),
    running: (c.running ?? []).filter((r) => r !== id),
  }))
}

function removalVisible(host: MembershipHost, id: number): boolean {
  const leader = host.manager.leader()
  if (leader === undefined || leader === id) return false
  const cs = host.manager.nodes().find((n) => n.id === leader)?.state?.confState
  return cs !== undefined && !cs.voters.includes(id) && !cs.learners.includes(id)
}
