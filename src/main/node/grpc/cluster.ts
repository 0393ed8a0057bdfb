// etcd's Cluster service. The member list is this node's view of the applied configuration;
// changes to it are the leader's to make (a follower forwards them).

import type * as grpc from '@grpc/grpc-js'
import { header, onLeader, unary, type ApiContext } from './context'
import {
  check,
  etcdFailure,
  ErrMemberBadURLs,
  invalidArgument,
  unimplemented,
  unwrap,
} from './status'
import { uint64, wireMember, type Long } from './wire'

interface WireMemberAddRequest {
  readonly peerURLs?: readonly string[]
  readonly isLearner?: boolean
}

interface WireMemberIdRequest {
  readonly ID?: Long
}

interface WireMemberListRequest {
  readonly linearizable?: boolean
}

/**
 * etcd's check of peer URLs (types.NewURLs): at least one, each http(s)://host:port with no
 * path, or a unix socket URL.
 */
export function validPeerURLs(urls: readonly string[]): boolean {
  return (
    urls.length > 0 &&
    urls.every((raw) => {
      const url = raw.trim()
      if (/^unixs?:\/\//.test(url)) return true
      return /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[^/?#:[\]]+):\d+$/.test(url)
    })
  )
}

export function clusterService(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx
  const membersResponse = (): object => ({
    header: header(ctx),
    members: backend.members().map(wireMember),
  })

  return {
    MemberList: unary(ctx, 'MemberList', async (req: WireMemberListRequest) => {
      if (req.linearizable === true) check(await backend.readBarrier())
      return membersResponse()
    }),

    MemberAdd: unary(ctx, 'MemberAdd', (req: WireMemberAddRequest, call) => {
      const peerURLs = (req.peerURLs ?? []).map((url) => url.trim())
      if (!validPeerURLs(peerURLs)) throw etcdFailure(ErrMemberBadURLs)
      // What etcd would store and RaftLab cannot honour is refused, not quietly changed.
      if (peerURLs.length > 1) {
        throw invalidArgument(
          `a RaftLab member has one peer URL, not ${peerURLs.length}: add it with one of them`,
        )
      }
      if (!peerURLs[0]!.startsWith('http://')) {
        throw invalidArgument(
          `RaftLab peers talk plain TCP without TLS: give an http:// peer URL, not ${peerURLs[0]}`,
        )
      }
      return onLeader(ctx, 'Cluster', 'MemberAdd', call, async () => {
        const member = unwrap(await backend.memberAdd(peerURLs, req.isLearner === true))
        return { ...membersResponse(), member: wireMember(member) }
      })
    }),

    MemberRemove: unary(ctx, 'MemberRemove', (req: WireMemberIdRequest, call) => {
      const id = uint64(req.ID, 'ID')
      return onLeader(ctx, 'Cluster', 'MemberRemove', call, async () => {
        check(await backend.memberRemove(id))
        return membersResponse()
      })
    }),

    MemberPromote: unary(ctx, 'MemberPromote', (req: WireMemberIdRequest, call) => {
      const id = uint64(req.ID, 'ID')
      return onLeader(ctx, 'Cluster', 'MemberPromote', call, async () => {
        check(await backend.memberPromote(id))
        return membersResponse()
      })
    }),

    MemberUpdate: unary(ctx, 'MemberUpdate', async () => {
      throw unimplemented(
        'MemberUpdate is not supported: a RaftLab member keeps the peer URLs it was added with; ' +
          'remove the member and add it again with the new URLs',
      )
    }),
  }
}
