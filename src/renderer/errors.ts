// Errors cross IPC or a WebSocket before they reach the renderer, and pick up wrappers on the
// way ("Error invoking remote method 'raftlab:killNode': Error: …"). Users should read only
// the sentence that says what went wrong.

const IPC_WRAPPER = /^Error invoking remote method '[^']*':\s*(?:\w*Error:\s*)?/

export function errorMessage(cause: unknown): string {
  let text: string
  if (cause instanceof Error) text = cause.message
  else if (typeof cause === 'string') text = cause
  else if (cause && typeof cause === 'object' && 'message' in cause) text = String(cause.message)
  else text = String(cause)
  text = text.replace(IPC_WRAPPER, '').trim()
  return text || 'unknown error (the host gave no message)'
}
