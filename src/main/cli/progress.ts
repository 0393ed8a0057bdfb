// A progress indicator on stderr for long work (adding a node, import, export): a line that
// rewrites itself on a terminal, one line per step otherwise (logs, CI).

import type { ClusterApi, Progress } from '../../shared/api'

export interface ProgressLine {
  update(p: Progress): void
  done(): void
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true
  let last = ''
  let shown = false
  return {
    update(p) {
      const count = p.total !== null ? `${p.done}/${p.total}` : `${p.done}`
      const pct = p.total ? ` ${Math.floor((100 * p.done) / p.total)}%` : ''
      const text = `${p.task}: ${count}${pct}${p.message ? ` ${p.message}` : ''}`
      if (text === last) return
      last = text
      if (tty) {
        stream.write(`\r\x1b[K${text.slice(0, (stream.columns || 80) - 1)}`)
        shown = true
      } else {
        stream.write(`${text}\n`)
      }
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[K')
      shown = false
    },
  }
}

/** Shows the API's progress events while `work` runs. */
export async function withProgress<T>(api: ClusterApi, work: () => Promise<T>): Promise<T> {
  const line = progressLine()
  const off = api.on('progress', (p) => line.update(p))
  try {
    return await work()
  } finally {
    off()
    line.done()
  }
}
