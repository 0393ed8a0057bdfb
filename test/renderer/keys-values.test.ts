// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { bytesToBase64, textToBase64 } from '../../src/shared/api'
import ValueViewer from '../../src/renderer/components/keys/ValueViewer.vue'
import { bytesToDraft, draftToBytes } from '../../src/renderer/utils/encoding'
import { hexDump, parseHex } from '../../src/renderer/utils/hex'
import { plural } from '../../src/renderer/utils/plural'
import { buildKeyTree, flattenKeyTree } from '../../src/renderer/utils/keytree'
import { detectValue } from '../../src/renderer/utils/value'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('value detection', () => {
  it('pretty-prints JSON objects and arrays', () => {
    const d = detectValue(utf8('{"a":1,"b":[true,null]}'))
    expect(d.kind).toBe('json')
    expect(d.kind === 'json' && d.pretty).toBe(
      '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}',
    )
    expect(detectValue(utf8(' [1, 2] ')).kind).toBe('json')
  })

  it('keeps text as text: plain, multi-line, unicode, bare JSON scalars and broken JSON', () => {
    for (const s of [
      'hello',
      'line 1\nline 2\ttab\r\n',
      'grüße 日本 🚀',
      '42',
      'true',
      '{ not json',
      '',
    ]) {
      const d = detectValue(utf8(s))
      expect(d, s).toEqual({ kind: 'text', text: s })
    }
  })

  it('calls invalid UTF-8 and control bytes binary', () => {
    expect(detectValue(new Uint8Array([0xff, 0xfe, 0x00, 0x01])).kind).toBe('binary')
    expect(detectValue(new Uint8Array([0xc3])).kind).toBe('binary')
    expect(detectValue(utf8('abc\u0000def')).kind).toBe('binary')
    expect(detectValue(utf8('bell\u0007')).kind).toBe('binary')
  })
})

describe('hex dumps', () => {
  it('shows offset, two groups of eight bytes and the printable characters', () => {
    const bytes = new Uint8Array([...utf8('Hello, RaftLab!!'), 0x00, 0xff, 0x41])
    const { lines, omitted } = hexDump(bytes)
    expect(lines).toEqual([
      '00000000  48 65 6c 6c 6f 2c 20 52  61 66 74 4c 61 62 21 21  |Hello, RaftLab!!|',
      '00000010  00 ff 41                                          |..A|',
    ])
    expect(omitted).toBe(0)
  })

  it('stops at the limit and says how much it left out', () => {
    const { lines, omitted } = hexDump(new Uint8Array(100), 32)
    expect(lines).toHaveLength(2)
    expect(omitted).toBe(68)
  })

  it('parses hex back and names a bad byte', () => {
    expect([...parseHex('48 65\n6c')]).toEqual([0x48, 0x65, 0x6c])
    expect(() => parseHex('4')).toThrow(/odd number of digits/)
    expect(() => parseHex('48zz')).toThrow('"zz" at byte 1 is not a hex byte')
  })
})

describe('ValueViewer', () => {
  it('renders each kind the way it was detected', () => {
    const json = mount(ValueViewer, { props: { value: textToBase64('{"x":1}') } })
    expect(json.get('[data-testid=value-kind]').text()).toBe('json')
    expect(json.get('pre').text()).toBe('{\n  "x": 1\n}')

    const plain = mount(ValueViewer, { props: { value: textToBase64('just words') } })
    expect(plain.get('[data-testid=value-kind]').text()).toBe('text')
    expect(plain.get('pre').text()).toBe('just words')

    const bin = mount(ValueViewer, {
      props: { value: bytesToBase64(new Uint8Array([0, 1, 2, 255])) },
    })
    expect(bin.get('[data-testid=value-kind]').text()).toBe('binary')
    expect(bin.get('[data-testid=value-hex]').text()).toContain('00 01 02 ff')
  })
})

describe('the key tree', () => {
  const keys = ['/app/a', '/app/b', '/app/sub/c', '/top', 'plain']

  it('folds keys into folders at the separator, with sizes, and opens only expanded folders', () => {
    const tree = buildKeyTree(keys, '/')
    expect(tree.size).toBe(5)
    const closed = flattenKeyTree(tree, new Set(), '/')
    expect(closed.map((r) => `${r.kind}:${r.name}:${r.size}`)).toEqual([
      'folder:/:4',
      'key:plain:1',
    ])
    const open = flattenKeyTree(tree, new Set(['/', '/app/']), '/')
    expect(open.map((r) => `${'  '.repeat(r.depth)}${r.name}`)).toEqual([
      '/',
      '  app/',
      '    sub/',
      '    a',
      '    b',
      '  top',
      'plain',
    ])
    expect(open.find((r) => r.name === 'a')?.path).toBe('/app/a')
  })

  it('uses any separator', () => {
    const rows = flattenKeyTree(buildKeyTree(['x.y.z', 'x.w'], '.'), new Set(['x.']), '.')
    expect(rows.map((r) => r.path)).toEqual(['x.', 'x.y.', 'x.w'])
  })
})

describe('value encodings in the editor', () => {
  it('turn text, hex and base64 drafts into the same bytes and back', () => {
    const bytes = new Uint8Array([0x48, 0x69, 0x00, 0xff])
    expect(bytesToDraft(bytes, 'hex')).toBe('48 69 00 ff')
    expect(bytesToDraft(bytes, 'base64')).toBe('SGkA/w==')
    expect([...draftToBytes('48 69\n00 FF', 'hex')]).toEqual([...bytes])
    expect([...draftToBytes('SGkA/w==', 'base64')]).toEqual([...bytes])
    expect(bytesToDraft(draftToBytes('grüße', 'text'), 'text')).toBe('grüße')
    const long = bytesToDraft(new Uint8Array(20), 'hex').split('\n')
    expect(long.map((l) => l.split(' ').length)).toEqual([16, 4])
  })

  it('say which encoding is wrong', () => {
    expect(() => bytesToDraft(new Uint8Array([0xff]), 'text')).toThrow(/not UTF-8 text/)
    expect(() => draftToBytes('abc', 'base64')).toThrow(/not valid base64/)
    expect(() => draftToBytes('4g', 'hex')).toThrow(/not valid hex: "4g" at byte 0/)
  })
})

describe('counts in sentences', () => {
  it('takes the singular for exactly one and the plural otherwise, zero included', () => {
    expect(plural(0, 'key')).toBe('0 keys')
    expect(plural(1, 'key')).toBe('1 key')
    expect(plural(2, 'key')).toBe('2 keys')
    expect(plural(1, 'index', 'indexes')).toBe('1 index')
    expect(plural(3, 'index', 'indexes')).toBe('3 indexes')
  })
})
