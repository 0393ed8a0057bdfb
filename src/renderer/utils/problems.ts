// The schemas the host validates with (src/shared/api.ts), read as sentences a user can act
// on: "Election ticks must be at least 2" rather than zod's "electionTicks: Too small:
// expected number to be >=2". The create form and the timing panel check the same fields.

/** What a zod issue offers that the sentences need. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[]
  readonly message: string
}

const LABELS: Record<string, string> = {
  nodes: 'Nodes',
  name: 'Name',
  tickMs: 'Tick',
  electionTicks: 'Election ticks',
  heartbeatTicks: 'Heartbeat ticks',
  snapshotCount: 'Snapshot every',
  slowMotion: 'Slow motion',
}

function describe(field: string, message: string): string {
  if (field === 'electionTicks' && /heartbeat/i.test(message)) {
    return 'Election ticks must be greater than heartbeat ticks'
  }
  const r = /Too (small|big): expected \w+ to (?:be|have) ([<>]=?)\s*([\d.]+)/i.exec(message)
  const label = LABELS[field] ?? field
  if (r) return `${label} must be ${r[2]?.startsWith('>') ? 'at least' : 'at most'} ${r[3]}`
  if (/int/i.test(message)) return `${label} must be a whole number`
  if (/number/i.test(message)) return `${label} must be a number`
  return `${label}: ${message}`
}

/** One sentence per field with a problem, keyed by the field's name, first issue first. */
export function fieldProblems(issues: readonly SchemaIssue[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of issues) {
    const last = issue.path.at(-1)
    const field = last === undefined ? 'form' : String(last)
    // The refine on the timing object (election ticks above heartbeat ticks) has no field of
    // its own: it is about the election ticks.
    const onTiming = field === 'timing' || field === 'form'
    const key = onTiming && /heartbeat/i.test(issue.message) ? 'electionTicks' : field
    out[key] ??= describe(key, issue.message)
  }
  return out
}
