// The editor lets a value be typed as text, base64 or hex; these turn what was typed into the
// bytes to store and back. Each error says which encoding is wrong and how to get out of it.

import { base64ToBytes, bytesToBase64 } from '../../shared/api'
import { parseHex, toHex } from './hex'
import { decodeText } from './value'

export type ValueEncoding = 'text' | 'base64' | 'hex'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** The bytes a draft stands for; throws an Error a user can act on. */
export function draftToBytes(draft: string, encoding: ValueEncoding): Uint8Array {
  switch (encoding) {
    case 'text':
      return new TextEncoder().encode(draft)
    case 'base64': {
      const compact = draft.replace(/\s+/g, '')
      if (!BASE64.test(compact) || compact.length % 4 !== 0) {
        throw new Error('The value is not valid base64: fix it or switch the encoding to text.')
      }
      return base64ToBytes(compact)
    }
    case 'hex':
      try {
        return parseHex(draft)
      } catch (cause) {
        throw new Error(`The value is not valid hex: ${(cause as Error).message}.`)
      }
  }
}

/** The bytes written in an encoding; throws when they are not text and text was asked for. */
export function bytesToDraft(bytes: Uint8Array, encoding: ValueEncoding): string {
  switch (encoding) {
    case 'text': {
      const text = decodeText(bytes)
      if (text === null) {
        throw new Error('The value is not UTF-8 text: keep editing it as hex or base64.')
      }
      return text
    }
    case 'base64':
      return bytesToBase64(bytes)
    case 'hex': {
      const lines: string[] = []
      for (let i = 0; i < bytes.length; i += 16) {
        lines.push(Array.from(bytes.subarray(i, i + 16), toHex).join(' '))
      }
      return lines.join('\n')
    }
  }
}
