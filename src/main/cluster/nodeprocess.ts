// One node as a child process of the manager: forked with an IPC channel (the control
// channel), its stdout and stderr kept in a file of the workspace, its state tracked from the
// reports it sends, its exit turned into an event with the last lines it wrote.

import { fork, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ControlRequest, NodeReport, RequestEnvelope } from '../node/control'
import type { NodeEvent, NodeState } from '../node/raftnode'

/** How long a node may take to open its data and bind its ports. */
const START_TIMEOUT_MS = 30_000

export interface NodeLaunch {
  readonly id: number
  /** The node's JSON configuration, written to node.json in its data directory. */
  readonly config: Record<string, unknown>
  readonly dataDir: string
  /** Path of out/main/node.js. */
  readonly entry: string
}

export interface NodeExit {
  readonly id: number
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly lastLines: readonly string[]
}

export class NodeProcess {
  state: NodeState | undefined
  private child: ChildProcess | undefined
  private seq = 0
  private readonly replies = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >()
  onState: (s: NodeState) => void = () => {}
  onEvent: (e: NodeEvent) => void = () => {}
  onExit: (e: NodeExit) => void = () => {}
  private exited: Promise<NodeExit> | undefined

  /** Where this run's output starts in node.log and process.log: the tail shows this run only. */
  private runStart = { nodeLog: 0, processLog: 0 }

  /** Replaced by the manager when timing or membership change; used at the next start. */
  constructor(public launch: NodeLaunch) {}

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    )
  }

  get outputFile(): string {
    return join(this.launch.dataDir, 'process.log')
  }

  get logFile(): string {
    return join(this.launch.dataDir, 'node.log')
  }

  /** Resolves with the current run's exit; undefined when no process was started. */
  get exit(): Promise<NodeExit> | undefined {
    return this.exited
  }

  private starting: Promise<void> | undefined

  /**
   * Starts the process and resolves once it reports that it serves; rejects if it exits or
   * stays silent first. Concurrent calls share one start: two processes on one data
   * directory would corrupt it.
   */
  start(): Promise<void> {
    if (this.running && !this.starting) return Promise.resolve()
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined
    })
    return this.starting
  }

  private async spawn(): Promise<void> {
    await mkdir(this.launch.dataDir, { recursive: true })
    const configPath = join(this.launch.dataDir, 'node.json')
    await writeFile(configPath, JSON.stringify(this.launch.config, null, 2) + '\n')
    this.runStart = { nodeLog: sizeOf(this.logFile), processLog: sizeOf(this.outputFile) }
    const out = openSync(this.outputFile, 'a')
    const child = fork(this.launch.entry, ['--config', configPath], {
      stdio: ['ignore', out, out, 'ipc'],
      serialization: 'advanced',
      // Not the manager's own flags (a tsx loader, an inspector): a node runs as users run it.
      execArgv: [],
      // glibc keeps what a node frees after a burst unless told otherwise: two malloc arenas
      // instead of eight per core (one JS thread and a few libuv workers need no more), and
      // blocks of 128 KiB and up mapped on their own so that freeing one returns it (by
      // default that threshold climbs to 32 MiB as big buffers are freed). Measured after
      // 100,000 puts: about 20-30 MB and 35 MB per node. The user's own settings win.
      // In the desktop app process.execPath is Electron's binary, which runs a script as Node
      // only with ELECTRON_RUN_AS_NODE (Electron's fork sets it too; plain Node ignores it).
      env: {
        MALLOC_ARENA_MAX: '2',
        MALLOC_MMAP_THRESHOLD_: '131072',
        ...process.env,
        ELECTRON_RUN_AS_NODE: '1',
      },
    })
    closeSync(out)
    this.child = child
    // A failed fork or a send to a process that just died must not take the manager down.
    child.on('error', (e) => {
      for (const r of this.replies.values()) r.reject(e)
      this.replies.clear()
    })
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (msg: NodeReport) => {
        if (msg.type === 'ready') {
          this.state = msg.state
          resolve()
        }
        this.report(msg)
      })
      this.exited = new Promise((done) => {
        child.once('exit', (code, signal) => {
          const e: NodeExit = { id: this.launch.id, code, signal, lastLines: this.tail(20) }
          for (const r of this.replies.values())
            r.reject(new Error(`node ${this.launch.id} exited`))
          this.replies.clear()
          // The last lines follow a colon only when there are any: a process stopped before it
          // wrote anything leaves none.
          const lines = e.lastLines.length > 0 ? `:\n${e.lastLines.join('\n')}` : ''
          reject(
            new Error(
              `node ${this.launch.id} exited before it was ready (code ${code}, signal ${signal})${lines}`,
            ),
          )
          this.onExit(e)
          done(e)
        })
      })
    })
    let timer: NodeJS.Timeout | undefined
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(
          new Error(`node ${this.launch.id} did not report ready within ${START_TIMEOUT_MS} ms`),
        )
      }, START_TIMEOUT_MS)
    })
    try {
      await Promise.race([ready, silent])
    } finally {
      clearTimeout(timer)
    }
  }

  private report(msg: NodeReport): void {
    switch (msg.type) {
      case 'ready':
      case 'state':
        this.state = msg.state
        this.onState(msg.state)
        break
      case 'event':
        this.onEvent(msg.event)
        break
      case 'reply': {
        const r = this.replies.get(msg.id)
        if (!r) break
        this.replies.delete(msg.id)
        if (msg.error !== undefined) r.reject(new Error(`node ${this.launch.id}: ${msg.error}`))
        else r.resolve(msg.result)
        break
      }
    }
  }

  request(request: ControlRequest, timeoutMs = 5000): Promise<unknown> {
    const child = this.child
    if (!child || !this.running || !child.connected) {
      return Promise.reject(new Error(`node ${this.launch.id} is not running`))
    }
    const id = ++this.seq
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id)
        reject(
          new Error(
            `node ${this.launch.id} did not answer ${request.method} within ${timeoutMs} ms`,
          ),
        )
      }, timeoutMs)
      this.replies.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      const env: RequestEnvelope = { type: 'request', id, request }
      child.send(env, (e) => {
        if (!e) return
        this.replies.delete(id)
        clearTimeout(timer)
        reject(new Error(`node ${this.launch.id}: ${e.message}`))
      })
    })
  }

  /**
   * Graceful stop: asks the node, then SIGTERM, then SIGKILL if it will not go. `handOver`: a
   * leader first hands leadership to another voter.
   */
  async stop(timeoutMs = 5000, handOver = false): Promise<NodeExit | undefined> {
    if (!this.running || !this.exited) return undefined
    const exited = this.exited
    this.request({ method: 'stop', handOver }, 1000).catch(() => this.signal('SIGTERM'))
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
    const e = await exited
    clearTimeout(timer)
    return e
  }

  /** SIGKILL: the crash of the playground. */
  async kill(): Promise<NodeExit | undefined> {
    if (!this.running || !this.exited) return undefined
    const exited = this.exited
    this.signal('SIGKILL')
    return exited
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child?.kill(sig)
  }

  /**
   * The last lines this run wrote: its structured log, then its stderr (a crash's stack trace
   * lands there, after the last log record).
   */
  tail(n: number): string[] {
    const lines = [
      ...tailLines(this.logFile, this.runStart.nodeLog, n),
      ...tailLines(this.outputFile, this.runStart.processLog, n),
    ]
    return lines.slice(-n)
  }
}

function sizeOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0
}

/** The last n lines of a file after byte `from`, reading at most its last 64 KiB. */
function tailLines(path: string, from: number, n: number): string[] {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return []
  }
  try {
    const size = sizeOf(path)
    const start = Math.max(from, size - 65_536)
    if (size <= start) return []
    const buf = Buffer.alloc(size - start)
    readSync(fd, buf, 0, buf.length, start)
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
    // A window that starts mid-line cuts its first line: drop it.
    if (start > from) lines.shift()
    return lines.slice(-n)
  } finally {
    closeSync(fd)
  }
}
