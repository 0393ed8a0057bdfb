// What the etcd v3 API layer needs from a node: the local applied store for reads and watches,
// replication for writes, a linearizable read barrier, leases, membership and status. The
// gRPC server (grpc/) is written against this contract only, so it can be tested on its own;
// RaftNode (raftnode.ts) is the real implementation.

import type { Command, CommandResponse, EtcdError, LeaseKeepAliveResponse, Store } from '../kv'

/**
 * How long a request that needs the leader is held while the cluster has no leader it can
 * reach (an election in progress, a leader just killed or stopped). etcd holds proposals and
 * reads the same way, so a client sees a slower answer across a failover rather than an error.
 */
export const LEADER_WAIT_MS = 3000

export interface Member {
  readonly id: number
  readonly name: string
  /** e.g. ["http://127.0.0.1:2380"]; RaftLab's peer port speaks its own TCP protocol. */
  readonly peerURLs: readonly string[]
  /** e.g. ["127.0.0.1:2379"]: the member's etcd v3 gRPC endpoint (see RaftNode.members). */
  readonly clientURLs: readonly string[]
  readonly isLearner: boolean
}

export interface NodeStatus {
  /** etcd's server version string reported by Maintenance.Status. */
  readonly version: string
  /** Bytes of the node's data files on disk. */
  readonly dbSize: number
  readonly leader: number
  readonly raftIndex: number
  readonly raftTerm: number
  readonly raftAppliedIndex: number
  readonly isLearner: boolean
  readonly errors: readonly string[]
}

export interface Header {
  /** uint64 values travel as decimal strings: cluster and member ids use the full 64 bits. */
  readonly clusterId: string
  readonly memberId: string
  readonly revision: number
  readonly raftTerm: number
}

export interface EtcdBackend {
  /** The applied state: serves serializable reads and watches directly. */
  readonly store: Store
  header(): Header
  isLeader(): boolean
  /**
   * Whether this node is a learner of the membership it has applied (a node that is not a
   * member of it yet, such as one still joining, is not).
   */
  isLearner(): boolean
  /**
   * The leader's client address ("127.0.0.1:2379") for requests only the leader serves, or
   * undefined when no leader is known (the API answers "etcdserver: no leader").
   */
  leaderClientAddress(): string | undefined
  /**
   * Replicates a command and resolves with its result once it is applied here; a follower hands
   * it to the leader first. Rejects (resolves to an error) with etcd's errors:
   * "etcdserver: no leader", "etcdserver: not leader" (the leader asked no longer leads and
   * proposed nothing: safe to retry), "etcdserver: leader changed",
   * "etcdserver: request timed out". `encoded` is `cmd` as encodeProposal made it, when the
   * caller has it already (the API layer encodes each write to check its size).
   */
  propose(cmd: Command, encoded?: Uint8Array): Promise<CommandResponse | EtcdError>
  /**
   * Resolves once the local store has applied everything committed before the call (ReadIndex,
   * §6.4 of Ongaro's dissertation): a read served after it is linearizable. While no leader
   * is known it waits up to LEADER_WAIT_MS for one, then answers "etcdserver: no leader".
   */
  readBarrier(): Promise<EtcdError | undefined>
  /** Leader only: renews a lease. */
  leaseKeepAlive(id: number): Promise<LeaseKeepAliveResponse | EtcdError>
  members(): readonly Member[]
  /** Leader only. Adds a member (as a learner when asked) and resolves once the change is committed. */
  memberAdd(peerURLs: readonly string[], isLearner: boolean): Promise<Member | EtcdError>
  memberRemove(id: number): Promise<EtcdError | undefined>
  memberPromote(id: number): Promise<EtcdError | undefined>
  status(): NodeStatus
  /** Leader only: hands leadership to `target` and resolves once it leads. */
  moveLeader(target: number): Promise<EtcdError | undefined>
}
