// One WireCall in, one WireMessage out. Every call is validated against the method table with
// parseArgs before the API sees it, so a page or script can never hand the service a value its
// types do not allow; every failure goes back as a readable {type: 'error'}.

import { isApiMethodName, parseArgs, type ClusterApi, type WireMessage } from '../../shared/api'

function errorReply(id: number, e: unknown): WireMessage {
  const err = e instanceof Error ? e : new Error(String(e))
  return { type: 'error', id, error: { name: err.name || 'Error', message: err.message } }
}

/** The id of a message that is not a valid call, when it has one, else 0. */
function idOf(v: unknown): number {
  const id = (v as { id?: unknown } | null)?.id
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : 0
}

/** Parses, validates and runs one call; never throws. */
export async function handleCall(api: ClusterApi, text: string): Promise<WireMessage> {
  let msg: unknown
  try {
    msg = JSON.parse(text)
  } catch (e) {
    return errorReply(0, new TypeError(`a call must be JSON: ${(e as Error).message}`))
  }
  const id = idOf(msg)
  const m = msg as { type?: unknown; method?: unknown; args?: unknown }
  if (typeof msg !== 'object' || msg === null || m.type !== 'call' || id <= 0) {
    return errorReply(
      id,
      new TypeError('a call is {"type": "call", "id": <positive integer>, "method", "args"}'),
    )
  }
  if (!isApiMethodName(m.method)) {
    return errorReply(id, new TypeError(`raftlab has no method ${JSON.stringify(m.method)}`))
  }
  if (!Array.isArray(m.args)) {
    return errorReply(id, new TypeError(`raftlab.${m.method}: args must be an array`))
  }
  try {
    const args = parseArgs(m.method, m.args) as unknown[]
    const method = api[m.method] as (...a: unknown[]) => Promise<unknown>
    const result = await method.apply(api, args)
    return { type: 'result', id, result: result ?? null }
  } catch (e) {
    return errorReply(id, e)
  }
}
