// A one-node EtcdBackend without Raft: commands apply to a real kv Store the moment they are
// proposed, at increasing log indexes. It isolates the gRPC layer: what a test sees is what the
// API made of the store. It can also play a follower whose leader is another server (to test
// forwarding) or a node that knows no leader, and records what reached it. A follower linked to
// a leader backend hands writes to it, as a RaftNode hands them to its leader over the peer
// connection; other leader-only calls reach the leader's gRPC server.

import {
  applyCommand,
  createStore,
  isEtcdError,
  keepAlive,
  promote,
  type Command,
  type CommandResponse,
  type EtcdError,
  type LeaseKeepAliveResponse,
  type Store,
} from '../../../src/main/kv'
import type { EtcdBackend, Header, Member, NodeStatus } from '../../../src/main/node/backend'
import { ErrNotLeader } from '../../../src/main/kv'
import {
  ErrBadLeaderTransferee,
  ErrMemberNotFound,
  ErrMemberNotLearner,
  ErrNoLeader,
  ErrPeerURLExist,
} from '../../../src/main/node/errors'

export type FakeRole = 'leader' | 'follower' | 'no-leader'

export interface FakeBackendOptions {
  readonly role?: FakeRole
  /** The leader's client address when a follower. */
  readonly leaderAddress?: string
  /** The leader a follower hands writes to; without one a follower's writes get "not leader". */
  readonly leader?: FakeBackend
  readonly memberId?: number
  readonly clusterId?: string
  readonly name?: string
  readonly minLeaseTtl?: number
}

export interface FakeBackend extends EtcdBackend {
  role: FakeRole
  /** Whether this node is a learner of its membership (the API then refuses most calls). */
  learner: boolean
  leaderAddress: string | undefined
  leader: FakeBackend | undefined
  store: Store
  term: number
  /** Every command proposed here, in order. */
  readonly proposals: Command[]
  /** Lease IDs renewed here. */
  readonly keepAlives: number[]
  readBarriers: number
  /** Targets of MoveLeader calls that reached this node. */
  readonly leaderMoves: number[]
  memberList: Member[]
  /** The member's advertised client URL, once its server listens. */
  setClientURL(url: string): void
}

export function createFakeBackend(opts: FakeBackendOptions = {}): FakeBackend {
  const memberId = opts.memberId ?? 1
  const store = createStore({ minLeaseTtl: opts.minLeaseTtl ?? 1 })
  let index = 0
  const self: Member = {
    id: memberId,
    name: opts.name ?? `node${memberId}`,
    peerURLs: [`http://127.0.0.1:${2380 + memberId}`],
    clientURLs: [],
    isLearner: false,
  }

  const backend: FakeBackend = {
    role: opts.role ?? 'leader',
    learner: false,
    leaderAddress: opts.leaderAddress,
    leader: opts.leader,
    store,
    term: 2,
    proposals: [],
    keepAlives: [],
    readBarriers: 0,
    leaderMoves: [],
    memberList: [self],

    setClientURL(url) {
      backend.memberList = backend.memberList.map((m) =>
        m.id === memberId ? { ...m, clientURLs: [url] } : m,
      )
    },

    header(): Header {
      return {
        clusterId: opts.clusterId ?? '14841639068965178418',
        memberId: String(memberId),
        revision: backend.store.revision,
        raftTerm: backend.term,
      }
    },

    isLeader() {
      return backend.role === 'leader'
    },

    isLearner() {
      return backend.learner
    },

    leaderClientAddress() {
      if (backend.role === 'no-leader') return undefined
      if (backend.role === 'leader') return backend.memberList[0]?.clientURLs[0]
      return backend.leaderAddress
    },

    async propose(cmd: Command): Promise<CommandResponse | EtcdError> {
      await Promise.resolve()
      if (backend.role === 'no-leader') return ErrNoLeader
      if (backend.role === 'follower') return backend.leader?.propose(cmd) ?? ErrNotLeader
      backend.proposals.push(cmd)
      index++
      const result = applyCommand(backend.store, cmd, index, Date.now())
      if (result === undefined) throw new Error(`fake backend: index ${index} applied twice`)
      return result
    },

    async readBarrier() {
      await Promise.resolve()
      backend.readBarriers++
      return backend.role === 'no-leader' ? ErrNoLeader : undefined
    },

    async leaseKeepAlive(id): Promise<LeaseKeepAliveResponse | EtcdError> {
      await Promise.resolve()
      backend.keepAlives.push(id)
      const result = keepAlive(backend.store, id, Date.now())
      if (isEtcdError(result)) return result
      return { header: result.header, id: result.id, ttl: result.ttl }
    },

    members() {
      return backend.memberList
    },

    async memberAdd(peerURLs, isLearner) {
      await Promise.resolve()
      const taken = backend.memberList.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))
      if (taken) return ErrPeerURLExist
      const id = Math.max(...backend.memberList.map((m) => m.id)) + 1
      // etcd lists a member that has not started yet without a name or client URLs.
      const member: Member = { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner }
      backend.memberList = [...backend.memberList, member]
      return member
    },

    async memberRemove(id) {
      await Promise.resolve()
      if (!backend.memberList.some((m) => m.id === id)) return ErrMemberNotFound
      backend.memberList = backend.memberList.filter((m) => m.id !== id)
      return undefined
    },

    async memberPromote(id) {
      await Promise.resolve()
      const member = backend.memberList.find((m) => m.id === id)
      if (member === undefined) return ErrMemberNotFound
      if (!member.isLearner) return ErrMemberNotLearner
      backend.memberList = backend.memberList.map((m) =>
        m.id === id ? { ...m, isLearner: false } : m,
      )
      return undefined
    },

    status(): NodeStatus {
      return {
        version: '3.5.0',
        dbSize: 24_576,
        leader: backend.role === 'leader' ? memberId : 0,
        raftIndex: index,
        raftTerm: backend.term,
        raftAppliedIndex: index,
        isLearner: backend.learner,
        errors: [],
      }
    },

    async moveLeader(target) {
      await Promise.resolve()
      const member = backend.memberList.find((m) => m.id === target)
      if (member === undefined || member.isLearner) return ErrBadLeaderTransferee
      backend.leaderMoves.push(target)
      return undefined
    },
  }
  // A leader's lessor runs the lease clock (kv/lease.ts): keep-alives need it.
  if (backend.role === 'leader') promote(store, Date.now())
  return backend
}
