// What a key's value is, decided from its bytes: etcd stores bytes, and users store JSON
// documents, plain text, and serialized binaries (protobuf, msgpack) side by side.

import { base64ToBytes } from '../../shared/api'

export type ValueKind = 'json' | 'text' | 'binary'

export type DetectedValue =
  | { readonly kind: 'json'; readonly text: string; readonly pretty: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Control characters other than tab, newline, carriage return and form feed mark binary data. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) || c === 0x7f) {
      return true
    }
  }
  return false
}

export function decodeText(bytes: Uint8Array): string | null {
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return null
  }
  return hasControl(text) ? null : text
}

export function detectValue(bytes: Uint8Array): DetectedValue {
  const text = decodeText(bytes)
  if (text === null) return { kind: 'binary', bytes }
  // Only objects and arrays count as JSON: "42" or "true" read better as the text they are.
  const trimmed = text.trim()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed)
      return { kind: 'json', text, pretty: JSON.stringify(parsed, null, 2) }
    } catch {
      // Not JSON after all: a text that happens to start with a bracket.
    }
  }
  return { kind: 'text', text }
}

export function detectBase64Value(b64: string): DetectedValue {
  return detectValue(base64ToBytes(b64))
}

/** A size a person reads: 512 B, 1.5 KiB, 2.0 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}
