// `raftlab chaos` arguments: what a user types, and the errors that say what is wrong.

import { describe, expect, it } from 'vitest'
import { parseChaosArgs, parseDuration, parseHold } from '../../src/main/cli/chaos'
import { parseFaultKinds } from '../../src/main/cluster/chaos/nemesis'

describe('raftlab chaos arguments', () => {
  it('reads the documented flags', () => {
    const a = parseChaosArgs([
      'chaos',
      '--seed',
      '42',
      '--duration',
      '90s',
      '--clients',
      '3',
      '--nodes',
      '5',
      '--faults',
      'kill,bridge',
      '--hold=2s-4s',
      '--json',
    ])
    expect(a).toMatchObject({
      seed: 42,
      durationMs: 90_000,
      clients: 3,
      nodes: 5,
      faults: ['kill', 'bridge'],
      holdMs: [2000, 4000],
      json: true,
    })
  })

  it('defaults to 60 s, 8 clients and 3 nodes', () => {
    const a = parseChaosArgs([])
    expect(a).toMatchObject({ durationMs: 60_000, clients: 8, nodes: 3, faults: undefined })
    expect(Number.isInteger(a.seed)).toBe(true)
  })

  it('reads durations in ms, s, m and bare seconds', () => {
    expect(parseDuration('1500ms')).toBe(1500)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('10')).toBe(10_000)
    expect(() => parseDuration('soon')).toThrow(/not a duration/)
    expect(() => parseDuration('10ms')).toThrow(/too short/)
  })

  it('names what is wrong', () => {
    expect(() => parseChaosArgs(['--nodes', '4'])).toThrow(/--nodes must be 3 or 5/)
    expect(() => parseChaosArgs(['--clients', 'many'])).toThrow(/--clients needs a whole number/)
    expect(() => parseChaosArgs(['--speed', '1'])).toThrow(/unknown option --speed/)
    expect(() => parseChaosArgs(['--seed'])).toThrow(/--seed needs a value/)
    expect(() => parseFaultKinds('kill,flood')).toThrow(/unknown fault "flood"/)
    expect(() => parseHold('4s-2s')).toThrow(/MIN < MAX/)
  })
})
