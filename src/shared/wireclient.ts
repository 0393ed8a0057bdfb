// ClusterApi over a WebSocket: the browser bridge and the CLI both build their API object here,
// from the same method table the Electron preload uses, so a call means the same thing on every
// host. The socket is typed structurally: the DOM's WebSocket and the `ws` package's both fit,
// and this file stays free of Node and of the DOM.

import {
  apiEventNames,
  apiMethodNames,
  type ApiEventName,
  type ApiEvents,
  type ClusterApi,
  type WireCall,
  type WireMessage,
} from './api'

/** What the client needs of an event: `data` on messages, `code` and `reason` on close. */
export interface WireSocketEvent {
  readonly type: string
  readonly data?: unknown
  readonly code?: number
  readonly reason?: string
  readonly message?: string
}

/** The part of a WebSocket the client uses (DOM WebSocket and `ws` both have it). */
export interface WireSocket {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open', listener: (event: WireSocketEvent) => void): void
  addEventListener(type: 'message', listener: (event: WireSocketEvent) => void): void
  addEventListener(type: 'close', listener: (event: WireSocketEvent) => void): void
  addEventListener(type: 'error', listener: (event: WireSocketEvent) => void): void
}

/** WebSocket.readyState values (the same numbers in every implementation). */
const CONNECTING = 0
const OPEN = 1

/** The API over a socket, plus a way to close it and to learn when it closed. */
export interface WireClient extends ClusterApi {
  /** Closes the socket; calls still waiting reject. */
  close(): void
  /** Resolves with the reason once the connection is gone, whoever closed it. */
  readonly closed: Promise<string>
}

/** An error the server sent back, with the name it had there (ApiArgumentError, …). */
export class WireCallError extends Error {
  constructor(
    name: string,
    message: string,
    readonly method: string,
  ) {
    super(message)
    this.name = name
  }
}

interface Pending {
  readonly method: string
  resolve(value: unknown): void
  reject(error: Error): void
}

function isWireMessage(v: unknown): v is WireMessage {
  if (typeof v !== 'object' || v === null) return false
  const t = (v as { type?: unknown }).type
  return t === 'result' || t === 'error' || t === 'event'
}

/**
 * Waits for the socket to open (if it is still connecting) and returns the API over it.
 * Rejects with the reason when the socket fails to open.
 */
export function connectWire(socket: WireSocket, what = 'the RaftLab manager'): Promise<WireClient> {
  if (socket.readyState === OPEN) return Promise.resolve(createWireClient(socket, what))
  if (socket.readyState !== CONNECTING) {
    return Promise.reject(new Error(`the connection to ${what} is already closed`))
  }
  return new Promise((resolve, reject) => {
    let settled = false
    let lastError = ''
    socket.addEventListener('open', () => {
      if (settled) return
      settled = true
      resolve(createWireClient(socket, what))
    })
    socket.addEventListener('error', (e) => {
      lastError = e.message ?? lastError
    })
    socket.addEventListener('close', (e) => {
      if (settled) return
      settled = true
      const why = lastError || e.reason || `code ${e.code ?? 'unknown'}`
      reject(new Error(`cannot connect to ${what}: ${why}`))
    })
  })
}

/** Builds the API over an open socket. */
export function createWireClient(socket: WireSocket, what = 'the RaftLab manager'): WireClient {
  const pending = new Map<number, Pending>()
  const listeners = new Map<ApiEventName, Set<(payload: never) => void>>(
    apiEventNames.map((name) => [name, new Set()]),
  )
  let nextId = 1
  let closedReason: string | null = null
  let markClosed: (reason: string) => void = () => {}
  const closed = new Promise<string>((resolve) => {
    markClosed = resolve
  })

  const onClosed = (reason: string): void => {
    if (closedReason !== null) return
    closedReason = reason
    for (const p of pending.values()) {
      p.reject(new Error(`raftlab.${p.method}: the connection to ${what} closed (${reason})`))
    }
    pending.clear()
    markClosed(reason)
  }

  socket.addEventListener('message', (e) => {
    if (typeof e.data !== 'string') return
    let msg: unknown
    try {
      msg = JSON.parse(e.data)
    } catch {
      return
    }
    if (!isWireMessage(msg)) return
    if (msg.type === 'event') {
      const set = listeners.get(msg.event)
      // A listener that throws must not starve the others of the event.
      for (const l of set ?? []) {
        try {
          ;(l as (payload: unknown) => void)(msg.payload)
        } catch (err) {
          console.error(`raftlab: a listener of '${msg.event}' failed:`, err)
        }
      }
      return
    }
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    if (msg.type === 'result') p.resolve(msg.result)
    else p.reject(new WireCallError(msg.error.name, msg.error.message, p.method))
  })
  socket.addEventListener('close', (e) => {
    onClosed(e.reason || `code ${e.code ?? 'unknown'}`)
  })
  if (socket.readyState !== OPEN) onClosed('the socket was not open')

  const call = (method: string, args: readonly unknown[]): Promise<unknown> => {
    if (closedReason !== null) {
      return Promise.reject(
        new Error(`raftlab.${method}: the connection to ${what} is closed (${closedReason})`),
      )
    }
    const id = nextId++
    const msg: WireCall = { type: 'call', id, method, args }
    return new Promise((resolve, reject) => {
      pending.set(id, { method, resolve, reject })
      try {
        socket.send(JSON.stringify(msg))
      } catch (err) {
        pending.delete(id)
        reject(new Error(`raftlab.${method}: cannot send: ${(err as Error).message}`))
      }
    })
  }

  const methods = Object.fromEntries(
    apiMethodNames.map((name) => [name, (...args: unknown[]) => call(name, args)]),
  )
  const client = {
    ...methods,
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      const set = listeners.get(event)
      if (!set) throw new Error(`raftlab.on: unknown event '${String(event)}'`)
      const l = listener as (payload: never) => void
      set.add(l)
      return () => {
        set.delete(l)
      }
    },
    close(): void {
      socket.close(1000, 'client closed')
      onClosed('closed by the client')
    },
    closed,
  }
  return client as unknown as WireClient
}
