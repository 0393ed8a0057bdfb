import { describe, expect, it } from 'vitest'
import { plural } from '../../src/renderer/utils/plural'

describe('plural', () => {
  it('agrees the noun with the count', () => {
    expect(plural(1, 'node')).toBe('1 node')
    expect(plural(0, 'node')).toBe('0 nodes')
    expect(plural(2, 'node')).toBe('2 nodes')
  })

  it('takes an irregular plural when given one', () => {
    expect(plural(1, 'index', 'indexes')).toBe('1 index')
    expect(plural(3, 'index', 'indexes')).toBe('3 indexes')
  })
})
