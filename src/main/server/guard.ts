// Who may talk to the server. Binding to 127.0.0.1 keeps other machines out; the Host and Origin
// checks keep out web pages the user happens to visit (DNS rebinding points a foreign name at
// 127.0.0.1, but the browser still sends that foreign name as Host and the page's own Origin);
// the token keeps out other local programs and users.

import type { IncomingMessage } from 'node:http'
import { tokenMatches } from './token'

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost']

/** The token's cookie; cookies ignore ports, so the port is part of the name. */
export function tokenCookieName(port: number): string {
  return `raftlab_token_${port}`
}

export type Verdict =
  | { readonly ok: true; readonly via: 'query' | 'cookie' | 'header' }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string }

function allowedHosts(port: number): string[] {
  return LOOPBACK_NAMES.map((h) => `${h}:${port}`)
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization
  return h?.startsWith('Bearer ') ? h.slice('Bearer '.length).trim() : undefined
}

/** Checks Host, Origin and the token of one HTTP request or WebSocket upgrade. */
export function checkRequest(req: IncomingMessage, port: number, token: string): Verdict {
  const host = (req.headers.host ?? '').toLowerCase()
  if (!allowedHosts(port).includes(host)) {
    return {
      ok: false,
      status: 403,
      reason: `Host "${host}" is not this server (127.0.0.1:${port})`,
    }
  }
  const origin = req.headers.origin
  if (
    origin !== undefined &&
    !allowedHosts(port).some((h) => origin.toLowerCase() === `http://${h}`)
  ) {
    return { ok: false, status: 403, reason: `Origin "${origin}" may not use this server` }
  }
  const url = new URL(req.url ?? '/', `http://${host}`)
  if (tokenMatches(token, url.searchParams.get('token'))) return { ok: true, via: 'query' }
  if (tokenMatches(token, bearer(req))) return { ok: true, via: 'header' }
  if (tokenMatches(token, cookie(req, tokenCookieName(port)))) return { ok: true, via: 'cookie' }
  return {
    ok: false,
    status: 401,
    reason: 'missing or wrong token: open the URL that `raftlab web` printed',
  }
}
