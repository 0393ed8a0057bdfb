// Read-only work on a workspace whose manager is not running: nothing is started and nothing is
// locked; the cluster is read from cluster.json and the nodes' files, read-only (the log reader
// never loads a datafile through NeDB, which would rewrite it).

import type { ClusterStatus, NodeView } from '../../shared/api'
import type { LogSource } from '../cluster/logs'
import { dataDirOf, readClusterFile, type ClusterFile } from '../cluster/workspace'
import { DEFAULT_SNAPSHOT_COUNT, DEFAULT_TIMING } from '../node/config'

function stoppedNode(n: ClusterFile['nodes'][number]): NodeView {
  return {
    id: n.id,
    name: n.name,
    client: n.client,
    peer: n.peer,
    process: 'stopped',
    pid: null,
    member: n.removed ? 'removed' : null,
    raft: null,
    lastExit: null,
  }
}

/** The status a manager would show with every node stopped. */
export async function offlineStatus(workspace: string): Promise<ClusterStatus> {
  const c = await readClusterFile(workspace)
  return {
    workspace,
    exists: c !== undefined,
    name: c?.name ?? '',
    nodes: c?.nodes.map(stoppedNode) ?? [],
    leader: null,
    term: 0,
    faults: { partitions: [], links: [], paused: [] },
    timing: {
      tickMs: c?.timing.tickMs ?? DEFAULT_TIMING.tickMs,
      electionTicks: c?.timing.electionTicks ?? DEFAULT_TIMING.electionTicks,
      heartbeatTicks: c?.timing.heartbeatTicks ?? DEFAULT_TIMING.heartbeatTicks,
      snapshotCount: c?.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
      slowMotion: c?.slowMotion ?? 1,
    },
    pendingChange: null,
  }
}

/** The cluster of a workspace that must have one; the error says how to make one. */
export async function requireClusterFile(workspace: string): Promise<ClusterFile> {
  const c = await readClusterFile(workspace)
  if (!c) {
    throw new Error(
      `workspace ${workspace} holds no cluster; create one with \`raftlab up --workspace ${workspace}\``,
    )
  }
  return c
}

/** A node's log on disk, for the log reader and the exporters. */
export function diskLogSource(workspace: string, c: ClusterFile, id: number): LogSource {
  if (!c.nodes.some((n) => n.id === id)) {
    throw new Error(
      `node ${id} is not part of the cluster in ${workspace} (nodes: ${c.nodes.map((n) => n.id).join(', ')})`,
    )
  }
  return { id, dataDir: dataDirOf(workspace, id), state: undefined, live: null }
}
