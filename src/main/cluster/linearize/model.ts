// The sequential specification the checker holds histories to: one key of etcd's keyspace as a
// register whose value is a string or absent. The history is partitioned by key, so one key's
// model is all a search needs.

import type { KvInput, KvOutput } from './history'

/** A sequential object: its start state and what one operation does to a state. */
export interface Model<S, I, O> {
  init(): S
  /**
   * The state after `input` runs on `state` and answers `output`, or undefined when the
   * operation could not have answered that from this state. A null output (outcome unknown)
   * matches any answer.
   */
  step(state: S, input: I, output: O | null): S | undefined
  /** A string that is equal for equal states: the memo of the search keys on it. */
  key(state: S): string
  describe(state: S): string
}

/** The value of one key; null while the key is absent. */
export type RegisterState = string | null

export const kvRegister: Model<RegisterState, KvInput, KvOutput> = {
  init: () => null,

  step(state, input, output) {
    switch (input.type) {
      case 'get':
        if (output === null) return state
        return output.type === 'get' && output.value === state ? state : undefined
      case 'put':
        return input.value
      case 'delete':
        if (output === null) return null
        return output.type === 'delete' && output.deleted === (state === null ? 0 : 1)
          ? null
          : undefined
      case 'txn': {
        const holds = state === input.expect
        if (output === null) return holds ? input.value : state
        if (output.type !== 'txn' || output.succeeded !== holds) return undefined
        if (holds) return input.value
        return output.value === undefined || output.value === state ? state : undefined
      }
    }
  },

  key: (state) => (state === null ? '\u0000' : `=${state}`),

  describe: (state) => (state === null ? 'absent' : JSON.stringify(state)),
}
