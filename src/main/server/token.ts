// The secret of one browser-mode run. Whoever holds it drives the cluster, so it is made from
// the OS's random source, never logged except in the URL the user asked for, and compared in
// constant time so that response timing tells an attacker nothing about how close a guess was.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** 32 random bytes as base64url: safe in a URL, a cookie and a header without escaping. */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * True when `given` is the token. Both sides are hashed first so that timingSafeEqual sees
 * equal lengths: a length mismatch must not return early either.
 */
export function tokenMatches(token: string, given: string | undefined | null): boolean {
  if (given === undefined || given === null || given === '') return false
  const a = createHash('sha256').update(token).digest()
  const b = createHash('sha256').update(given).digest()
  return timingSafeEqual(a, b)
}
