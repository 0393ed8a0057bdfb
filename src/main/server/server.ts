// Browser mode: the built renderer and ClusterApi over HTTP + WebSocket on 127.0.0.1. The same
// server lets `raftlab` commands in other terminals drive a manager that is already running.
// Every request and every WebSocket must carry the run's token (see guard.ts).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { apiEventNames, type ClusterApi, type WireMessage } from '../../shared/api'
import { handleCall } from './calls'
import { checkRequest, tokenCookieName } from './guard'
import { serveFile } from './static'
import { newToken } from './token'

/** The WebSocket endpoint of the API. */
export const API_PATH = '/api'

/** importKeys may carry a large dump; anything bigger than this is refused by ws. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
/** A client this far behind gets no more status pushes until it catches up. */
const SLOW_CLIENT_BYTES = 8 * 1024 * 1024

export interface ServerOptions {
  readonly api: ClusterApi
  /** 0 or absent: a free port the OS picks. */
  readonly port?: number
  /** The built renderer (out/renderer); without it the server answers only the API. */
  readonly rendererDir?: string
  /** A token to use instead of a fresh random one (tests). */
  readonly token?: string
}

export interface ApiServer {
  readonly port: number
  readonly token: string
  /** The page to open: http://127.0.0.1:PORT/?token=… */
  readonly url: string
  /** ws://127.0.0.1:PORT/api (the token goes in a header or ?token=). */
  readonly wsUrl: string
  /** How many WebSocket clients are connected. */
  clients(): number
  close(): Promise<void>
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(`${reason}\n`)
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  )
}

export async function startServer(opts: ServerOptions): Promise<ApiServer> {
  const token = opts.token ?? newToken()
  const { api } = opts
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })
  let port = 0

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const verdict = checkRequest(req, port, token)
    if (!verdict.ok) return refuse(res, verdict.status, verdict.reason)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, 405, `${req.method} is not served here`)
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname
    // The page came with ?token=: its assets and its WebSocket may use a cookie instead.
    const headers: Record<string, string> =
      verdict.via === 'query'
        ? {
            'Set-Cookie': `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`,
          }
        : {}
    if (!opts.rendererDir) return refuse(res, 404, 'this manager serves only the API')
    serveFile(opts.rendererDir, path, res, headers, port)
      .then((served) => {
        if (served) return
        // Browsers ask for an icon the renderer does not ship; an empty answer keeps the
        // console free of a 404 that looks like a broken page.
        if (path === '/favicon.ico') res.writeHead(204).end()
        else refuse(res, 404, `no such file: ${path}`)
      })
      .catch((e: unknown) => {
        if (!res.headersSent) refuse(res, 500, (e as Error).message)
        else res.destroy()
      })
  })

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = checkRequest(req, port, token)
    if (!verdict.ok) return refuseUpgrade(socket, verdict.status, verdict.reason)
    if (new URL(req.url ?? '/', 'http://x').pathname !== API_PATH) {
      return refuseUpgrade(socket, 404, `the API is at ${API_PATH}`)
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })

  const send = (ws: WebSocket, msg: WireMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg))
  }

  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        send(ws, {
          type: 'error',
          id: 0,
          error: { name: 'TypeError', message: 'calls are JSON text' },
        })
        return
      }
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8')
      void handleCall(api, text).then((reply) => send(ws, reply))
    })
    ws.on('error', () => ws.terminate())
  })

  // One subscription per event for the whole server, fanned out to every client.
  const unsubscribe = apiEventNames.map((event) =>
    api.on(event, (payload) => {
      const text = JSON.stringify({ type: 'event', event, payload } satisfies WireMessage)
      for (const ws of wss.clients) {
        if (ws.readyState !== ws.OPEN) continue
        if (event === 'status' && ws.bufferedAmount > SLOW_CLIENT_BYTES) continue
        ws.send(text)
      }
    }),
  )

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(opts.port ?? 0, '127.0.0.1', () => {
      http.off('error', reject)
      resolve()
    })
  })
  const address = http.address()
  port = typeof address === 'object' && address ? address.port : 0

  let closing: Promise<void> | undefined
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    wsUrl: `ws://127.0.0.1:${port}${API_PATH}`,
    clients: () => wss.clients.size,
    close: () => {
      closing ??= (async () => {
        for (const u of unsubscribe) u()
        for (const ws of wss.clients) ws.close(1001, 'the RaftLab manager is shutting down')
        // A client that does not answer the close handshake soon is cut off.
        const deadline = Date.now() + 1000
        while (wss.clients.size > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20))
        }
        for (const ws of wss.clients) ws.terminate()
        await new Promise<void>((r) => wss.close(() => r()))
        http.closeAllConnections()
        await new Promise<void>((r) => http.close(() => r()))
      })()
      return closing
    },
  }
}
