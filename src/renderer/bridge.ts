// Browser mode: the page was served by `raftlab web`, which put the run's token in the URL it
// printed (and in an HttpOnly cookie). The API is the same method table as in Electron, carried
// over a WebSocket to the server that served the page.

import type { ClusterApi } from '../shared/api'
import { connectWire } from '../shared/wireclient'

/** The token from ?token=… or #token=…, or null (the cookie then carries it). */
export function pageToken(location: Pick<Location, 'search' | 'hash'>): string | null {
  const fromQuery = new URLSearchParams(location.search).get('token')
  if (fromQuery) return fromQuery
  return new URLSearchParams(location.hash.replace(/^#/, '')).get('token')
}

/** The API endpoint of the server that served this page. */
export function bridgeUrl(
  location: Pick<Location, 'protocol' | 'host' | 'search' | 'hash'>,
): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const token = pageToken(location)
  const query = token ? `?token=${encodeURIComponent(token)}` : ''
  return `${scheme}//${location.host}/api${query}`
}

/** Connects to the server that served the page; rejects with the reason when it cannot. */
export async function connectBridge(): Promise<ClusterApi> {
  const socket = new WebSocket(bridgeUrl(window.location))
  const client = await connectWire(socket, `the RaftLab server at ${window.location.host}`)
  void client.closed.then((reason) => {
    console.error(
      `raftlab: the connection to the server closed (${reason}); open the URL the next \`raftlab web\` prints`,
    )
  })
  return client
}
