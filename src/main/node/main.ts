// The node process: `node out/main/node.js --config node.json` or flags (see config.ts). Forked
// by the cluster manager it reports over the IPC channel and exits when that channel closes, so
// a crashed manager leaves no node behind; started by hand it runs on its own.

import { join } from 'node:path'
import { attachControl, type NodeReport } from './control'
import { parseArgs, splitHostPort, USAGE } from './config'
import { startEtcdServer } from './grpc'
import { createLogger } from './logger'
import { RaftNode } from './raftnode'

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

  const node = await RaftNode.start(cfg, log).catch((e: unknown) => fail('cannot start', e))
  const client = splitHostPort(cfg.clientAddr, 'client address')
  const server = await startEtcdServer(node, { host: client.host, port: client.port, log }).catch(
    (e: unknown) => fail('cannot serve the etcd API', e),
  )
  const sizeTimer = setInterval(() => void node.measureDbSize(), 5000)
  void node.measureDbSize()

  node.onStopped = (code) => {
    clearInterval(sizeTimer)
    void server.close().finally(() => process.exit(code))
  }
  const shutdown = (why: string): void => {
    log('info', `shutting down: ${why}`)
    void node.stop(0)
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  if (process.send) {
    const send = (r: NodeReport): void => {
      if (process.connected) process.send?.(r)
    }
    process.on('message', attachControl(node, send))
    // The manager is gone (exited or crashed): a node must not outlive it.
    process.on('disconnect', () => shutdown('the manager closed the control channel'))
  }
}

void main()
