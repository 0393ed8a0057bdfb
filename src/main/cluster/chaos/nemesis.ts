// The nemesis: faults struck at a real cluster through ClusterApi, one at a time, in a schedule
// drawn from a seed. Each fault is struck, held for a while, then repaired, so the cluster
// keeps a chance to make progress between faults and the workload keeps producing history
// that crosses every kind of failure: crash, stall, partition, slow or lossy links,
// reconfiguration and leadership change.

import type { ClusterApi, ClusterStatus, NodeView } from '../../../shared/api'
import { seededRandom } from '../../raft/rng'

/** What the nemesis needs of a cluster host: a part of ClusterApi. */
export type NemesisApi = Pick<
  ClusterApi,
  | 'status'
  | 'killNode'
  | 'restartNode'
  | 'startNode'
  | 'pauseNode'
  | 'resumeNode'
  | 'partition'
  | 'isolate'
  | 'setLinkFault'
  | 'heal'
  | 'removeNode'
  | 'addNode'
  | 'transferLeadership'
>

export const FAULT_KINDS = [
  /** SIGKILL a node, then restart it from its data directory. */
  'kill',
  /** SIGSTOP a node, then SIGCONT it: a process that stalls and wakes with stale beliefs. */
  'pause',
  /** Cut the leader off from every other node. */
  'isolateLeader',
  /** Split the nodes into a majority and a minority, at random. */
  'partition',
  /** Two groups that cannot reach each other but both reach one bridge node. */
  'bridge',
  /** Slow links from one node. */
  'delay',
  /** Lossy links from one node. */
  'drop',
  /** Remove a follower, then add a fresh node in its place. */
  'membership',
  /** Hand leadership to a follower. */
  'transfer',
] as const

export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultRecord {
  readonly kind: FaultKind
  /** Milliseconds since the run started, on the clock of the history. */
  readonly at: number
  /** How long it was held, ms. */
  readonly heldMs: number
  readonly nodes: readonly number[]
  readonly detail: string
  /** Set when the fault could not be struck or repaired; the run goes on. */
  readonly error?: string
}

export interface NemesisOptions {
  readonly seed: number
  readonly kinds?: readonly FaultKind[]
  /** Quiet time between faults, ms: [min, max). */
  readonly quietMs?: readonly [number, number]
  /** How long a fault is held, ms: [min, max). */
  readonly holdMs?: readonly [number, number]
  /** Never fewer running voters than this after a membership change (default 3). */
  readonly minVoters?: number
  readonly log?: (line: string) => void
  /** The clock of `FaultRecord.at`; the runner passes its history's, so the two line up. */
  readonly now?: () => number
}

export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((s) => s.trim())
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown fault "${k}"; the faults are ${FAULT_KINDS.join(', ')}`)
    }
  }
  return kinds as FaultKind[]
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

function voters(s: ClusterStatus): number[] {
  const leader = s.nodes.find((n) => n.id === s.leader)
  const fromLeader = leader?.raft?.voters
  if (fromLeader && fromLeader.length > 0) return [...fromLeader]
  return s.nodes.filter((n) => n.member === 'voter').map((n) => n.id)
}

function live(n: NodeView): boolean {
  return n.process === 'running' && n.member !== 'removed'
}

export class Nemesis {
  readonly faults: FaultRecord[] = []
  private readonly rnd: () => number
  private readonly kinds: readonly FaultKind[]
  private readonly now: () => number
  private readonly log: (line: string) => void

  constructor(
    private readonly api: NemesisApi,
    private readonly opts: NemesisOptions,
  ) {
    this.rnd = seededRandom(opts.seed)
    this.kinds = opts.kinds ?? FAULT_KINDS
    if (this.kinds.length === 0) throw new Error('the nemesis needs at least one kind of fault')
    this.log = opts.log ?? (() => {})
    const started = performance.now()
    this.now = opts.now ?? (() => performance.now() - started)
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * Math.max(1, hi - lo))
  }

  private pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('nemesis: nothing to pick from')
    return xs[Math.floor(this.rnd() * xs.length)] as T
  }

  private shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.rnd() * (i + 1))
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }

  private deck: FaultKind[] = []

  /**
   * The next kind of fault: the kinds are dealt like a shuffled deck, each once per round, so
   * a run long enough for one round meets every kind, in an order the seed decides.
   */
  private deal(): FaultKind {
    if (this.deck.length === 0) this.deck = this.shuffle(this.kinds)
    return this.deck.pop() as FaultKind
  }

  /** Strikes faults until `signal` aborts, then repairs the one in force. */
  async run(signal: AbortSignal): Promise<void> {
    const [qLo, qHi] = this.opts.quietMs ?? [300, 1500]
    const [hLo, hHi] = this.opts.holdMs ?? [800, 2500]
    while (!signal.aborted) {
      await sleep(this.int(qLo, qHi), signal)
      if (signal.aborted) break
      const kind = this.deal()
      const hold = this.int(hLo, hHi)
      await this.strike(kind, hold, signal)
    }
  }

  private async strike(kind: FaultKind, hold: number, signal: AbortSignal): Promise<void> {
    const at = Math.round(this.now())
    const t0 = performance.now()
    let nodes: number[] = []
    let detail = ''
    let repair: (() => Promise<unknown>) | undefined
    try {
      const s = await this.api.status()
      const running = s.nodes.filter(live).map((n) => n.id)
      const vs = voters(s).filter((id) => running.includes(id))
      const leader = s.leader
      const followers = vs.filter((id) => id !== leader)
      switch (kind) {
        case 'kill': {
          const id = this.pick(running)
          nodes = [id]
          detail = `SIGKILL node ${id}${id === leader ? ' (the leader)' : ''}`
          await this.api.killNode(id)
          repair = () => this.api.restartNode(id)
          break
        }
        case 'pause': {
          const id = this.pick(running)
          nodes = [id]
          detail = `SIGSTOP node ${id}${id === leader ? ' (the leader)' : ''}`
          await this.api.pauseNode(id)
          repair = () => this.api.resumeNode(id)
          break
        }
        case 'isolateLeader': {
          const id = leader ?? this.pick(running)
          nodes = [id]
          detail = `isolate node ${id}${leader === null ? ' (no leader known)' : ' (the leader)'}`
          await this.api.isolate(id)
          repair = () => this.api.heal()
          break
        }
        case 'partition': {
          const all = this.shuffle(s.nodes.filter((n) => n.member !== 'removed').map((n) => n.id))
          const minority = all.slice(0, this.int(1, Math.floor((all.length - 1) / 2) + 1))
          const majority = all.filter((id) => !minority.includes(id))
          nodes = minority
          detail = `partition [${majority.join(',')}] | [${minority.join(',')}]`
          await this.api.partition([majority, minority])
          repair = () => this.api.heal()
          break
        }
        case 'bridge': {
          const all = this.shuffle(s.nodes.filter((n) => n.member !== 'removed').map((n) => n.id))
          if (all.length < 3) throw new Error('a bridge needs three nodes')
          const bridge = all[0] as number
          const rest = all.slice(1)
          const a = rest.slice(0, Math.ceil(rest.length / 2))
          const b = rest.slice(Math.ceil(rest.length / 2))
          nodes = [bridge]
          detail = `bridge: [${a.join(',')}] and [${b.join(',')}] reach each other only through ${bridge}`
          // A partition cannot overlap groups, so the bridge is made of cut links: every
          // message between the two sides is dropped, both ways.
          for (const x of a) {
            for (const y of b) await this.api.setLinkFault({ from: x, to: y, drop: 1 })
          }
          repair = () => this.api.heal()
          break
        }
        case 'delay':
        case 'drop': {
          const id = this.pick(running)
          const others = s.nodes.filter((n) => n.id !== id && n.member !== 'removed')
          nodes = [id]
          const delayMs = kind === 'delay' ? this.int(20, 200) : 0
          const drop = kind === 'drop' ? Math.round((0.2 + this.rnd() * 0.5) * 100) / 100 : 0
          detail =
            kind === 'delay'
              ? `delay ${delayMs} ms on every link of node ${id}`
              : `drop ${Math.round(drop * 100)}% on every link of node ${id}`
          for (const o of others) {
            await this.api.setLinkFault({ from: id, to: o.id, delayMs, drop })
          }
          repair = () => this.api.heal()
          break
        }
        case 'membership': {
          const min = this.opts.minVoters ?? 3
          const id = followers.length > 0 ? this.pick(followers) : undefined
          if (id === undefined || vs.length - 1 < min - 1 || s.pendingChange) {
            detail = 'skipped: no follower can be removed safely now'
            break
          }
          nodes = [id]
          detail = `remove node ${id}, then add a new node`
          await this.api.removeNode(id)
          repair = async () => {
            const added = await this.api.addNode()
            nodes = [id, added.id]
            detail = `removed node ${id}, added node ${added.id}`
          }
          break
        }
        case 'transfer': {
          if (leader === null || followers.length === 0) {
            detail = 'skipped: no leader or no follower'
            break
          }
          const to = this.pick(followers)
          nodes = [leader, to]
          detail = `transfer leadership ${leader} → ${to}`
          await this.api.transferLeadership(to)
          break
        }
      }
      this.log(`nemesis: ${detail}`)
      if (repair) {
        await sleep(hold, signal)
        await repair()
      }
      this.record(kind, at, t0, nodes, detail)
    } catch (e) {
      const error = (e as Error).message
      this.log(`nemesis: ${kind} failed: ${error}`)
      this.record(kind, at, t0, nodes, detail, error)
      // Whatever half happened, put the network and the processes back.
      await this.healAll().catch(() => {})
    }
  }

  private record(
    kind: FaultKind,
    at: number,
    t0: number,
    nodes: readonly number[],
    detail: string,
    error?: string,
  ): void {
    this.faults.push({
      kind,
      at,
      heldMs: Math.round(performance.now() - t0),
      nodes,
      detail,
      ...(error === undefined ? {} : { error }),
    })
  }

  /** Heals the network, resumes paused nodes and starts every stopped member. */
  async healAll(): Promise<void> {
    await this.api.heal()
    const s = await this.api.status()
    for (const n of s.nodes) {
      if (n.member === 'removed') continue
      if (n.process === 'paused') await this.api.resumeNode(n.id)
      else if (n.process === 'stopped') await this.api.startNode(n.id)
    }
  }

  /** Faults actually struck (not skipped, not failed). */
  injected(): FaultRecord[] {
    return this.faults.filter((f) => f.error === undefined && !f.detail.startsWith('skipped'))
  }
}
