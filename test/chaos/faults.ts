import type { TestCluster } from '../helpers/redis-cluster'
import type { TestRedis } from '../helpers/redis-server'
import type { AppConfig } from './app'
import { AppProcess } from './cluster'
import { clientKill, killMaster, killReplica } from './cluster-faults'
import type { EventLog } from './events'
import { Prng } from './prng'

/**
 * The fault side of a chaos run: a fleet of app instances kept at a fixed size,
 * a seeded fault plan, and the code that carries each fault out.
 */

/** On a Cluster (--cluster): redis-restart is a master kill -9 with a replica promoted; replica-kill only happens there. */
export type FaultKind = 'kill' | 'stop' | 'term' | 'client-kill' | 'redis-restart' | 'replica-kill'

export interface PlannedFault {
  /** ms after the fault phase began. */
  atMs: number
  kind: FaultKind
  /** Uniform [0, 1) draws: which eligible instance, how long, which variant. */
  pick: number
  param: number
}

export interface PlanOptions {
  seconds: number
  gapMs: [number, number]
  /** Redis restarts forced at these fractions of the run (more may be drawn). */
  redisRestartsAt: number[]
  /** At least this many kills and stops together: other drawn faults are turned into kills/stops until there are. */
  minProcessFaults?: number
  weights?: Partial<Record<FaultKind, number>>
}

/** The fault schedule of a seed: the same seed gives the same plan. */
export function planFaults (seed: number, options: PlanOptions): PlannedFault[] {
  const prng = new Prng(seed)
  const weights: Record<FaultKind, number> = { kill: 40, stop: 30, term: 8, 'client-kill': 12, 'redis-restart': 5, 'replica-kill': 0, ...options.weights }
  const endMs = options.seconds * 1000
  const plan: PlannedFault[] = []
  let at = prng.int(options.gapMs[0], options.gapMs[1]) / 2
  while (at < endMs) {
    plan.push({ atMs: Math.round(at), kind: prng.weighted(weights), pick: prng.next(), param: prng.next() })
    at += prng.int(options.gapMs[0], options.gapMs[1])
  }
  const isProcessFault = (f: PlannedFault): boolean => f.kind === 'kill' || f.kind === 'stop'
  let missing = (options.minProcessFaults ?? 0) - plan.filter(isProcessFault).length
  for (const f of plan) {
    if (missing <= 0) break
    if (isProcessFault(f)) continue
    f.kind = f.param < 0.5 ? 'kill' : 'stop'
    missing--
  }
  for (const fraction of options.redisRestartsAt) {
    plan.push({ atMs: Math.round(endMs * fraction), kind: 'redis-restart', pick: prng.next(), param: prng.next() })
  }
  return plan.sort((a, b) => a.atMs - b.atMs)
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** K app instances; one that is killed, shut down or crashes is replaced by a new one. */
export class Fleet {
  readonly members: AppProcess[] = []
  readonly #base: Omit<AppConfig, 'inst'>
  readonly #log: EventLog
  #generation = 0
  #closing = false
  /** Instances that must not be faulted again before this time (ms): they just woke from SIGSTOP. */
  readonly coolUntil = new Map<AppProcess, number>()

  constructor (base: Omit<AppConfig, 'inst'>, log: EventLog) {
    this.#base = base
    this.#log = log
  }

  async start (size: number): Promise<void> {
    await Promise.all(Array.from({ length: size }, async (_, slot) => await this.#spawn(slot)))
  }

  async #spawn (slot: number): Promise<AppProcess> {
    const p = new AppProcess({ ...this.#base, inst: `i${slot}g${this.#generation++}` })
    this.members[slot] = p
    this.#log.write({ type: 'proc', inst: p.inst, action: 'spawn', pid: p.pid })
    p.exited.then(({ code, signal }) => {
      this.#log.write({ type: 'proc', inst: p.inst, action: 'exit', pid: p.pid, detail: `code=${code} signal=${signal}` })
      if (!p.expectExit) {
        const tail = p.stderr().trim().split('\n').slice(-3).join(' | ')
        // Exit 72 before ready: the plugin refused to start (no Redis reply within connectTimeoutMs,
        // e.g. during a failover on a loaded machine), as documented; it never ran a task. A process
        // manager starts it again, and so does the fleet. Any other exit is a crash.
        const refusedStart = code === 72 && p.port === 0
        this.#log.write({ type: 'proc', inst: p.inst, action: refusedStart ? 'start-refused' : 'crash', pid: p.pid, detail: `code=${code} signal=${signal} ${tail}`.slice(0, 1000) })
        if (!this.#closing && this.members[slot] === p) this.#spawn(slot).catch(() => {})
      }
    }, () => {})
    await p.ready().catch(() => {})
    return p
  }

  /** Running (not frozen), ready instances that may be faulted now. */
  eligible (): AppProcess[] {
    const now = Date.now()
    return this.members.filter((p) => p.alive && !p.stopped && p.port > 0 && (this.coolUntil.get(p) ?? 0) <= now)
  }

  async replace (p: AppProcess): Promise<void> {
    const slot = this.members.indexOf(p)
    if (slot >= 0 && !this.#closing) await this.#spawn(slot)
  }

  /** Wakes every frozen instance and shuts every instance down gracefully. */
  async close (): Promise<void> {
    this.#closing = true
    for (const p of this.members) if (p.stopped) this.#cont(p)
    await Promise.all(this.members.map(async (p) => await p.term()))
  }

  #cont (p: AppProcess): void {
    p.cont()
    this.#log.write({ type: 'proc', inst: p.inst, action: 'cont', pid: p.pid })
  }

  /** kill -9, then a new instance in its slot. */
  async kill (p: AppProcess): Promise<void> {
    this.#log.write({ type: 'proc', inst: p.inst, action: 'kill', pid: p.pid })
    p.kill9()
    await p.exited
    await this.replace(p)
  }

  /** SIGSTOP for `ms`, then SIGCONT; returns at once. */
  freeze (p: AppProcess, ms: number, leaseMs: number): Promise<void> {
    this.#log.write({ type: 'proc', inst: p.inst, action: 'stop', pid: p.pid })
    p.stop()
    // After it wakes, leave it alone long enough to notice its lost leases and log the fencing.
    this.coolUntil.set(p, Date.now() + ms + leaseMs)
    return sleep(ms).then(() => { if (p.alive && p.stopped) this.#cont(p) })
  }

  /** Graceful shutdown (app.close() hands its queues over), then a new instance. */
  async term (p: AppProcess): Promise<void> {
    this.#log.write({ type: 'proc', inst: p.inst, action: 'term', pid: p.pid })
    await p.term()
    await this.replace(p)
  }
}

export interface InjectContext {
  fleet: Fleet
  /** The single Redis of a plain run; null on a Cluster. */
  redis: TestRedis | null
  /** The Cluster of a --cluster run, and the namespace whose master its faults hit. */
  /** `base`: a key of the namespace (its first partition's `{tag}:`), whose master the Redis faults hit. */
  cluster?: { nodes: TestCluster, base: string }
  log: EventLog
  leaseMs: number
  /** Background work (SIGCONT timers, replacements) to await before the drain. */
  pending: Array<Promise<void>>
}

/** Carries out one planned fault. Returns what was done, or null when nothing was eligible. */
export async function inject (fault: PlannedFault, ctx: InjectContext): Promise<string | null> {
  const { fleet, redis, log, leaseMs, cluster } = ctx
  if (fault.kind === 'redis-restart' || fault.kind === 'client-kill' || fault.kind === 'replica-kill') {
    if (cluster !== undefined) {
      if (fault.kind === 'redis-restart') return await killMaster(cluster.nodes, cluster.base, log, ctx.pending, 500 + Math.round(fault.param * 3000))
      if (fault.kind === 'replica-kill') return await killReplica(cluster.nodes, cluster.base, log, ctx.pending, fault.pick, 1000 + Math.round(fault.param * 3000))
      return await clientKill(cluster.nodes, cluster.base, log)
    }
    if (redis === null || fault.kind === 'replica-kill') return null
    if (fault.kind === 'redis-restart') {
      const hard = fault.param < 0.5
      log.write({ type: 'redis', action: hard ? 'kill' : 'stop' })
      if (hard) await redis.kill()
      else await redis.stop()
      await sleep(100 + Math.round(fault.pick * 500))
      await redis.start()
      log.write({ type: 'redis', action: 'start' })
      return hard ? 'redis kill -9 + start' : 'redis stop + start'
    }
    const c = redis.client()
    try {
      await c.call('CLIENT', 'KILL', 'TYPE', 'normal')
      log.write({ type: 'redis', action: 'client-kill' })
    } catch {
      // The kill also drops this connection; the command has run by then.
      log.write({ type: 'redis', action: 'client-kill' })
    } finally {
      c.disconnect()
    }
    return 'CLIENT KILL TYPE normal'
  }
  const candidates = fleet.eligible()
  // Keep at least one instance running so the others' queues can be taken over.
  const running = fleet.members.filter((p) => p.alive && !p.stopped).length
  if (candidates.length === 0 || (fault.kind === 'stop' && running <= 1)) return null
  const target = candidates[Math.min(candidates.length - 1, Math.floor(fault.pick * candidates.length))]
  switch (fault.kind) {
    case 'kill':
      await fleet.kill(target)
      return `kill -9 ${target.inst}`
    case 'stop': {
      const ms = leaseMs + 300 + Math.round(fault.param * 1500)
      ctx.pending.push(fleet.freeze(target, ms, leaseMs))
      return `SIGSTOP ${target.inst} for ${ms} ms`
    }
    case 'term':
      await fleet.term(target)
      return `graceful restart ${target.inst}`
  }
}
