// The CLI's argument parser and its output helpers, without processes.

import { describe, expect, it } from 'vitest'
import { nodeListArg, parseArgv, UsageError } from '../../src/main/cli/args'
import { displayValue, formatTable } from '../../src/main/cli/output'

describe('parseArgv', () => {
  const spec = { limit: 'int', prefix: 'bool', key: 'string', drop: 'number' } as const

  it('separates positionals from flags in any order, with --flag value and --flag=value', () => {
    const { positionals, flags } = parseArgv(
      ['1', '--limit', '5', '--key=/a', 'x', '--prefix', '--json', '--workspace', '/w'],
      spec,
      'log',
    )
    expect(positionals).toEqual(['1', 'x'])
    expect(flags.int('limit')).toBe(5)
    expect(flags.string('key')).toBe('/a')
    expect(flags.bool('prefix')).toBe(true)
    expect(flags.bool('json')).toBe(true)
    expect(flags.string('workspace')).toBe('/w')
    expect(flags.has('drop')).toBe(false)
  })

  it('takes everything after -- as positionals, so keys may start with dashes', () => {
    const { positionals, flags } = parseArgv(['--prefix', '--', '--odd-key', '-v'], spec, 'put')
    expect(positionals).toEqual(['--odd-key', '-v'])
    expect(flags.bool('prefix')).toBe(true)
  })

  it('names the command and the flag in every usage error', () => {
    const bad: [string[], RegExp][] = [
      [['--nope'], /raftlab log has no option --nope/],
      [['--limit'], /--limit needs a value/],
      [['--limit', '--prefix'], /--limit needs a value/],
      [['--prefix=yes'], /--prefix takes no value/],
    ]
    for (const [argv, message] of bad) {
      expect(() => parseArgv(argv, spec, 'log')).toThrow(message)
      expect(() => parseArgv(argv, spec, 'log')).toThrow(UsageError)
    }
    const { flags } = parseArgv(['--limit', '2.5', '--drop', 'lots'], spec, 'log')
    expect(() => flags.int('limit')).toThrow(/--limit needs a whole number, not "2.5"/)
    expect(() => flags.number('drop')).toThrow(/--drop needs a number, not "lots"/)
    const range = parseArgv(['--drop', '1.5'], spec, 'link').flags
    expect(() => range.number('drop', 0, 1)).toThrow(/--drop must be between 0 and 1, not 1.5/)
  })

  it('reads node lists such as 1,2,3', () => {
    expect(nodeListArg('1,2,3')).toEqual([1, 2, 3])
    expect(() => nodeListArg('1,x')).toThrow(/must be a node id/)
    expect(() => nodeListArg(',')).toThrow(/must list node ids/)
    expect(() => nodeListArg('1,,2')).toThrow(/"1,,2" has an empty item/)
    expect(() => nodeListArg('1,')).toThrow(UsageError)
  })
})

describe('output', () => {
  it('aligns columns and right-aligns numbers', () => {
    expect(
      formatTable(
        ['ID', 'ROLE', 'TERM'],
        [
          [1, 'leader', 12],
          [10, null, 3],
        ],
      ),
    ).toBe(['ID  ROLE    TERM', ' 1  leader    12', '10  -          3'].join('\n'))
  })

  it('shows text values as text and binary values as hex', () => {
    expect(displayValue(Buffer.from('héllo').toString('base64'))).toBe('héllo')
    expect(displayValue(Buffer.from([0, 1, 255]).toString('base64'))).toBe('0x0001ff')
    expect(displayValue(Buffer.from('abcdef').toString('base64'), 4)).toBe('abc…')
  })
})
