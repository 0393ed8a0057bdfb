// Command-line arguments: positionals and --flags, checked against what each command accepts,
// so a typo is a usage error that names the flag instead of an option silently ignored.

/** A mistake in how the command was called: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** bool flags take no value; the others take the next argument or `--flag=value`. */
export type FlagKind = 'bool' | 'string' | 'int' | 'number'

export type FlagSpec = Readonly<Record<string, FlagKind>>

/** Flags every command accepts. */
export const GLOBAL_FLAGS: FlagSpec = { workspace: 'string', json: 'bool', help: 'bool' }

export interface ParsedArgs {
  readonly positionals: readonly string[]
  readonly flags: Flags
}

/** Typed access to the flags that were given. */
export class Flags {
  constructor(private readonly values: ReadonlyMap<string, string | true>) {}

  has(name: string): boolean {
    return this.values.has(name)
  }

  bool(name: string): boolean {
    return this.values.has(name)
  }

  string(name: string): string | undefined {
    const v = this.values.get(name)
    return typeof v === 'string' ? v : undefined
  }

  int(
    name: string,
    min = Number.MIN_SAFE_INTEGER,
    max = Number.MAX_SAFE_INTEGER,
  ): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    const n = Number(v)
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) {
      throw new UsageError(`--${name} needs a whole number, not "${v}"`)
    }
    if (n < min || n > max)
      throw new UsageError(`--${name} must be between ${min} and ${max}, not ${n}`)
    return n
  }

  number(name: string, min = -Infinity, max = Infinity): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`--${name} needs a number, not "${v}"`)
    if (n < min || n > max)
      throw new UsageError(`--${name} must be between ${min} and ${max}, not ${n}`)
    return n
  }

  /** A comma-separated list: --type normal,confChange. */
  list(name: string): string[] | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
    if (items.length === 0) throw new UsageError(`--${name} needs a comma-separated list`)
    return items
  }
}

/**
 * Splits argv into positionals and flags. `--` ends the flags, so a key or value that starts
 * with `--` can still be given.
 */
export function parseArgv(argv: readonly string[], spec: FlagSpec, command: string): ParsedArgs {
  const all: FlagSpec = { ...GLOBAL_FLAGS, ...spec }
  const positionals: string[] = []
  const values = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (a === '-h') {
      values.set('help', true)
      continue
    }
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
    const kind = all[name]
    if (kind === undefined) {
      throw new UsageError(`raftlab ${command} has no option --${name}`)
    }
    if (kind === 'bool') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`)
      values.set(name, true)
      continue
    }
    let value: string | undefined
    if (eq >= 0) value = a.slice(eq + 1)
    else {
      value = argv[i + 1]
      i++
    }
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value`)
    }
    values.set(name, value)
  }
  return { positionals, flags: new Flags(values) }
}

/** A node id given on the command line. */
export function nodeIdArg(text: string | undefined, what = 'NODE'): number {
  if (text === undefined) throw new UsageError(`missing ${what} (a node id such as 2)`)
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${what} must be a node id (a whole number from 1), not "${text}"`)
  }
  return n
}

/** "1,2,3" → [1, 2, 3]. */
export function nodeListArg(text: string, what = 'NODES'): number[] {
  const parts = text.split(',')
  if (parts.every((s) => s === '')) throw new UsageError(`${what} must list node ids, such as 1,2`)
  // "1,,2" or "1,": a node id left out is a typo, not a shorter list.
  if (parts.includes('')) throw new UsageError(`${what} "${text}" has an empty item`)
  return parts.map((p) => nodeIdArg(p, what))
}
