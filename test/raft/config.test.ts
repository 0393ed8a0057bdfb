// validateConfig fills in defaults and rejects nonsense with a sentence saying what to change.

import { describe, expect, it } from 'vitest'
import {
  type ConfigInput,
  DEFAULTS,
  MemoryStorage,
  RawNode,
  validateConfig,
} from '../../src/main/raft'
import { storageWith } from './support/scripted'

const storage = new MemoryStorage({ voters: [1], learners: [] })
const input = (over: Partial<ConfigInput>): ConfigInput => ({ id: 1, storage, ...over })

describe('validateConfig', () => {
  it('fills in every default, with PreVote and CheckQuorum on', () => {
    const c = validateConfig({ id: 1, storage })
    expect(c).toMatchObject({ ...DEFAULTS, id: 1, storage, unsafe: {} })
    expect(c.preVote).toBe(true)
    expect(c.checkQuorum).toBe(true)
    expect(c.electionTick).toBeGreaterThan(c.heartbeatTick)
  })

  it('rejects nonsense with a sentence naming the setting and the value', () => {
    const cases: [Partial<ConfigInput>, string][] = [
      [{ id: 0 }, 'id must be a positive integer, got 0'],
      [{ id: -3 }, 'id must be a positive integer, got -3'],
      [{ id: 1.5 }, 'id must be a positive integer, got 1.5'],
      [{ electionTick: 0 }, 'election tick must be a positive integer, got 0'],
      [{ heartbeatTick: 0 }, 'heartbeat tick must be a positive integer, got 0'],
      [{ electionTick: 5, heartbeatTick: 5 }, 'election tick must be greater than heartbeat tick'],
      [{ electionTick: 3, heartbeatTick: 4 }, 'election tick must be greater than heartbeat tick'],
      [{ maxInflightMsgs: 0 }, 'max inflight msgs must be a positive integer, got 0'],
      [{ maxEntriesPerMsg: 2.5 }, 'max entries per msg must be a positive integer, got 2.5'],
      [{ maxSizePerMsg: 0 }, 'max size per msg must be positive, got 0'],
      [{ maxSizePerMsg: Number.NaN }, 'max size per msg must be positive, got NaN'],
      [{ maxInflightBytes: -1 }, 'max inflight bytes must be positive, got -1'],
      [{ maxCommittedSizePerReady: 0 }, 'max committed size per ready must be positive, got 0'],
      [{ applied: -1 }, 'applied must be a non-negative integer, got -1'],
      [
        { commitBroadcast: 'lazy' as ConfigInput['commitBroadcast'] },
        "commit broadcast must be 'immediate' or 'piggyback', got lazy",
      ],
      [{ applied: 0.5 }, 'applied must be a non-negative integer, got 0.5'],
    ]
    for (const [over, sentence] of cases) {
      expect(() => validateConfig(input(over)), JSON.stringify(over)).toThrow(sentence)
    }
  })

  it('accepts an unbounded in-flight byte window and a heartbeat of one tick', () => {
    expect(() =>
      validateConfig(input({ maxInflightBytes: Infinity, heartbeatTick: 1, electionTick: 2 })),
    ).not.toThrow()
  })

  it('a node refuses to start when storage and the applied index contradict each other', () => {
    const conf = { voters: [1, 2, 3], learners: [] }
    expect(
      () =>
        new RawNode({
          id: 1,
          storage: storageWith(conf, { terms: [1, 1], hardState: { commit: 5 } }),
        }),
    ).toThrow(
      'hard state commit 5 is beyond the last stored index 2: the log was truncated or lost',
    )
    expect(
      () =>
        new RawNode({
          id: 1,
          storage: storageWith(conf, { terms: [1, 1], hardState: { commit: 1 } }),
          applied: 2,
        }),
    ).toThrow('applied index 2 is beyond commit 1')
    expect(() => new RawNode({ id: 0, storage: storageWith(conf) })).toThrow(
      'id must be a positive integer, got 0',
    )
  })
})
