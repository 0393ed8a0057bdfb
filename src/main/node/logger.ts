// Structured logs: one JSON object per line, to the node's log file and to stdout, so that the
// manager, the GUI and a person with `jq` read the same record.

import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type Level = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  (level: Level, msg: string, fields?: Record<string, unknown>): void
}

export interface LoggerOptions {
  readonly file?: string
  readonly stdout?: boolean
  readonly base?: Record<string, unknown>
  /** Called with every record, e.g. to forward it over the control channel. */
  readonly tap?: (record: Record<string, unknown>) => void
}

export function createLogger(opts: LoggerOptions): Logger {
  if (opts.file) mkdirSync(dirname(opts.file), { recursive: true })
  return (level, msg, fields) => {
    const record = { ts: new Date().toISOString(), level, msg, ...opts.base, ...fields }
    const line = JSON.stringify(record) + '\n'
    // Synchronous on purpose: the last lines before a crash are the ones worth having.
    if (opts.file) {
      try {
        appendFileSync(opts.file, line)
      } catch {
        // A full disk must not take the node down with it; stdout still has the record.
      }
    }
    if (opts.stdout !== false) process.stdout.write(line)
    opts.tap?.(record)
  }
}

export const silentLogger: Logger = () => {}
