// The core draws randomness (election timeouts) only from an injected generator so that a run
// is reproducible from its seed.

export interface Rng {
  /** A uniformly distributed integer in [0, n). */
  int(n: number): number
}

/**
 * mulberry32: numbers in [0, 1) from a seed. Small, fast, and good enough for jitter and for
 * tests that must replay from a seed. Not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function seededRng(seed: number): Rng {
  const next = seededRandom(seed)
  return { int: (n) => Math.floor(next() * n) }
}
