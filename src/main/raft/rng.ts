// The core draws randomness (election timeouts) only from an injected generator so that a run
// is reproducible from its seed.

export interface Rng {
  /** A uniformly distributed integer in [0, n). */
  int(n: number): number
}

/** mulberry32: small, fast, and good enough for jitter. Not for cryptography. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { int: (n) => Math.floor(next() * n) }
}
