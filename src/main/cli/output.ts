// What the CLI prints: one JSON document with --json (for scripts), aligned tables otherwise.
// Everything that is not the answer (progress, warnings) goes to stderr, so stdout stays
// parseable.

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function print(text = ''): void {
  process.stdout.write(text + '\n')
}

export function warn(text: string): void {
  process.stderr.write(text + '\n')
}

export type Cell = string | number | boolean | null | undefined

function cellText(c: Cell): string {
  return c === null || c === undefined || c === '' ? '-' : String(c)
}

/** Columns padded to their widest cell; numbers right-aligned so digits line up. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])))
  const numeric = headers.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined),
  )
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[], head: boolean): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0
        return numeric[i] && !head ? c.padStart(w) : c.padEnd(w)
      })
      .join('  ')
      .trimEnd()
  return [line(headers, true), ...text.map((r) => line(r, false))].join('\n')
}

export function printTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  print(formatTable(headers, rows))
}

/** A value (base64 on the wire) as a person reads it: text when it is text, else hex. */
export function displayValue(b64: string, max = Infinity): string {
  const bytes = Buffer.from(b64, 'base64')
  let text: string | null
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    // Control characters other than tab and newline make text unreadable in a terminal.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) text = null
  } catch {
    text = null
  }
  const shown = text ?? `0x${bytes.toString('hex')}`
  return shown.length > max ? `${shown.slice(0, Math.max(0, max - 1))}…` : shown
}

/** One line for a table cell: newlines shown as ⏎. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\r?\n/g, '⏎')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}
