// The node process: `node out/main/node.js --config node.json` or flags (see config.ts). Forked
// by the cluster manager it reports over the IPC channel and exits when that channel closes, so
// a crashed manager leaves no node behind; started by hand it runs on its own.

import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { attachControl, type NodeReport } from './control'
import { parseArgs, splitHostPort, USAGE } from './config'
import { startEtcdServer } from './grpc'
import { startIdleWatcher } from './idle'
import { createLogger } from './logger'
import { processCommandLine, processStopped, takePidLock } from './pidlock'
import { RaftNode } from './raftnode'

/**
 * Why `dir` cannot be this node's data directory (created here when missing), or undefined
 * when it can: a file in its place, a file on its path, no permission, a read-only disk.
 */
async function dataDirProblem(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') return 'is not a directory (a file is in the way)'
    return `cannot be created (${code ?? (e as Error).message})`
  }
  const s = await stat(dir).catch(() => undefined)
  return s?.isDirectory() === false ? 'is not a directory' : undefined
}

/** How long a node waits for another process to let go of its data directory. */
const DATA_DIR_WAIT_MS = 10_000

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  let cfg
  try {
    cfg = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`raftlab node: ${(e as Error).message}\n`)
    process.exit(2)
  }
  // Before the logger, which writes into it: a path that cannot be a directory is a usage error.
  const notDir = await dataDirProblem(cfg.dataDir)
  if (notDir !== undefined) {
    process.stderr.write(`raftlab node: --data-dir ${cfg.dataDir} ${notDir}\n`)
    process.exit(2)
  }
  const log = createLogger({
    file: join(cfg.dataDir, 'node.log'),
    stdout: !process.send,
    base: { node: cfg.id },
  })
  const fail = (what: string, e: unknown): never => {
    const message = `${what}: ${(e as Error).message}`
    log('error', message)
    process.stderr.write(`raftlab node ${cfg.id}: ${message}\n`)
    process.exit(1)
  }

  // Registered before anything slow: a manager that dies while this node starts must not leave
  // it running.
  const running: { node?: RaftNode; server?: { close(): Promise<void> } } = {}
  let stopping = false
  const shutdown = (why: string, handOver = false): void => {
    if (stopping) return
    stopping = true
    log('info', `shutting down: ${why}`)
    // A node that cannot stop cleanly within 5 s stops anyway.
    setTimeout(() => process.exit(1), 5000).unref()
    const node = running.node
    if (!node) return process.exit(0)
    // Asked to stop (not orphaned by its manager), a leader first hands over, as etcd's does.
    void node.gracefulStop(handOver)
  }
  process.on('SIGTERM', () => shutdown('SIGTERM', true))
  // Ctrl-C in a terminal reaches every node of the process group at once: none to hand to.
  process.on('SIGINT', () => shutdown('SIGINT'))
  if (process.send) {
    process.on('disconnect', () => shutdown('the manager closed the control channel'))
    if (!process.connected) shutdown('the manager closed the control channel')
  }

  // One process per data directory: two would interleave their writes to the same log. A
  // predecessor still shutting down (its manager crashed, say) gets time to finish.
  const dataDir = cfg.dataDir
  const lock = await takePidLock(join(dataDir, 'node.lock'), {
    waitMs: DATA_DIR_WAIT_MS,
    onWait: (pid) => {
      log('warn', 'waiting for the process that holds this data directory to exit', { pid })
      // A predecessor that was paused (SIGSTOP) when its manager died would hold the directory
      // for ever: it cannot notice its closed control channel. Resumed, it does, and exits.
      // Only a node process of this directory: a lock's pid may belong to another process by
      // now, and resuming someone's suspended job is not ours to do.
      if (processStopped(pid) && processCommandLine(pid).includes(dataDir)) {
        log('warn', 'that process is paused; resuming it so that it can exit', { pid })
        try {
          process.kill(pid, 'SIGCONT')
        } catch {
          // Gone meanwhile, or not ours to signal: the wait decides.
        }
      }
    },
    busy: (pid) =>
      new Error(
        `data directory ${dataDir} is in use by another node process (pid ${pid}), which did not exit within ${DATA_DIR_WAIT_MS / 1000} s; stop it first`,
      ),
  }).catch((e: unknown) => fail('cannot start', e))
  process.on('exit', () => lock.releaseSync())

  const node = await RaftNode.start(cfg, log).catch((e: unknown) => fail('cannot start', e))
  running.node = node
  const sizeTimer = setInterval(() => void node.measureDbSize().catch(() => {}), 5000)
  // Heartbeats move none of these, so a node with no clients counts as quiet.
  const idle = startIdleWatcher({
    progress: () => {
      const s = node.state()
      // Reads move no index, yet a node serving them is busy.
      return `${s.lastIndex}:${s.applied}:${s.snapshotIndex}:${node.requestsServed}`
    },
    onChange: (mode) =>
      log('info', mode === 'memory' ? 'idle: favouring memory' : 'busy: favouring speed', {
        rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      }),
  })
  node.onStopped = (code) => {
    clearInterval(sizeTimer)
    idle.stop()
    void (running.server?.close() ?? Promise.resolve()).finally(() => process.exit(code))
  }
  if (stopping) {
    void node.stop(0)
    return
  }
  const client = splitHostPort(cfg.clientAddr, 'client address')
  running.server = await startEtcdServer(node, { host: client.host, port: client.port, log }).catch(
    (e: unknown) => fail('cannot serve the etcd API', e),
  )
  void node.measureDbSize().catch(() => {})

  if (process.send && process.connected) {
    // The manager may be gone before 'disconnect' is seen (it died; this process was paused):
    // the write then fails with EPIPE, which without a callback is an 'error' event that
    // nothing handles, and the node would crash instead of shutting down on 'disconnect'.
    const send = (r: NodeReport): void => {
      if (process.connected) process.send?.(r, undefined, undefined, () => {})
    }
    process.on('message', attachControl(node, send))
  }
}

void main()
