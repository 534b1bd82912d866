import type { Redis } from 'ioredis'
import { SYSTEMS, type SystemName } from '../systems/types'
import { snapshot, scriptCalls, diff, type RedisSnapshot, type RedisUse, type TestRedis } from './redis'
import { summarize } from './stats'
import type { CpuUse } from './protocol'

export type RowSystem = SystemName | 'limit'
/** Metric prefix of fastify-fifo-base's own ratio rows to the peers (`--base`). */
export const BASE_PREFIX = 'base: '

/** One JSON row: a figure's median over `runs` runs. */
export interface Row {
  scenario: string
  system: RowSystem
  metric: string
  value: number
  unit: string
  runs: number
  min: number
  max: number
}

export interface Config {
  quick: boolean
  /** Rounds of serial-drain and enqueue-seq. */
  rounds: number
  /** Rounds of the other scenarios (fewer in quick mode, where process start-up dominates). */
  heavyRounds: number
  serialTasks: number
  enqueueSeqCalls: number
  enqueueConcurrentCalls: number
  pickupSamples: number
  many: Array<{ keys: number, perKey: number, shape: 'grouped' | 'round-robin' }>
  wide: Array<{ keys: number, perKey: number }>
  memoryTasks: number
  httpSeconds: number
  limitCalls: number
  /** Calls or tasks run before a measured window so V8 has optimised the hot paths (a server runs warm). */
  warmupTasks: number
  /** BullMQ's one-shared-queue run in many-queues (unordered; shows why per-key queues are needed). */
  bullmqShared: boolean
  /** saturate: seconds of warm-up, then of steady state measured. */
  saturate: { warmupSeconds: number, windowSeconds: number }
  /** throttled: keys × perKey tasks under one limit of max per perMs; starts counted over the first windowSeconds. */
  throttled: { keys: number, perKey: number, max: number, perMs: number, windowSeconds: number }
  processes: number
  slots: number
}

/**
 * Short runs, many rounds: on a shared machine whose speed moves by 2× within
 * an hour, a ratio holds still only when both sides of it run back to back,
 * so each round is short and there are many of them.
 */
export function config (quick: boolean, rounds?: number): Config {
  return quick
    ? {
        quick,
        rounds: rounds ?? 3,
        heavyRounds: rounds ?? 2,
        serialTasks: 2_000,
        enqueueSeqCalls: 2_000,
        enqueueConcurrentCalls: 6_000,
        pickupSamples: 80,
        many: [{ keys: 200, perKey: 20, shape: 'grouped' }, { keys: 10, perKey: 300, shape: 'round-robin' }],
        wide: [{ keys: 2_000, perKey: 3 }, { keys: 100, perKey: 60 }],
        memoryTasks: 5_000,
        httpSeconds: 2,
        limitCalls: 2_000,
        warmupTasks: 2_000,
        bullmqShared: false,
        saturate: { warmupSeconds: 2, windowSeconds: 4 },
        throttled: { keys: 200, perKey: 4, max: 100, perMs: 1000, windowSeconds: 5 },
        processes: 3,
        slots: 4,
      }
    : {
        quick,
        rounds: rounds ?? 7,
        heavyRounds: rounds ?? 3,
        serialTasks: 5_000,
        enqueueSeqCalls: 4_000,
        enqueueConcurrentCalls: 10_000,
        pickupSamples: 150,
        many: [{ keys: 200, perKey: 30, shape: 'grouped' }, { keys: 10, perKey: 600, shape: 'round-robin' }],
        wide: [{ keys: 10_000, perKey: 3 }, { keys: 100, perKey: 300 }],
        memoryTasks: 10_000,
        httpSeconds: 3,
        limitCalls: 4_000,
        warmupTasks: 4_000,
        bullmqShared: true,
        saturate: { warmupSeconds: 3, windowSeconds: 10 },
        throttled: { keys: 200, perKey: 7, max: 100, perMs: 1000, windowSeconds: 10 },
        processes: 3,
        slots: 4,
      }
}

interface Series { scenario: string, system: RowSystem, metric: string, unit: string, values: number[], rounds: number[] }

/**
 * A figure of fastify-fifo set against the same round's figure of a peer or a
 * limit: `ratio` divides, `over` subtracts (pickup latency above the idle
 * round trip). The ratio row's system is the peer (or `limit`).
 */
export interface Pairing {
  scenario: string
  metric: string
  against: RowSystem
  /** The peer's metric when it differs (a limit's name); default: the same metric. */
  againstMetric?: string
  /** Where the peer's figure is recorded when not under `scenario` (the opt-in drain row uses serial-drain's limits). */
  againstScenario?: string
  kind: 'ratio' | 'over'
}

/** Shared state of one bench run: the Redis server, the config and every figure measured. */
export class Bench {
  readonly redis: TestRedis
  readonly admin: Redis
  readonly cfg: Config
  readonly systems: SystemName[]
  readonly notes: string[] = []
  /** Where Redis time goes, per scenario and system: command → calls and µs per task, summed over runs. */
  readonly profiles = new Map<string, { units: number, commands: Map<string, { calls: number, usec: number }> }>()
  /** fastify-fifo's keys in the memory scenario: pattern → type, encoding, bytes per task. */
  memoryLines: string[] = []
  /** Figures set against a limit measured in the same round (scenarios add theirs). */
  readonly pairings: Pairing[] = []
  /** The round being measured: every figure recorded is tagged with it, so ratios pair runs of one round. */
  round = 0
  readonly #series = new Map<string, Series>()
  #runCounter = 0

  constructor (redis: TestRedis, admin: Redis, cfg: Config, systems: SystemName[]) {
    this.redis = redis
    this.admin = admin
    this.cfg = cfg
    this.systems = systems
  }

  record (scenario: string, system: RowSystem, metric: string, unit: string, value: number): void {
    if (!Number.isFinite(value)) return
    const id = `${scenario}\u0000${system}\u0000${metric}`
    let s = this.#series.get(id)
    if (s === undefined) {
      s = { scenario, system, metric, unit, values: [], rounds: [] }
      this.#series.set(id, s)
    }
    s.values.push(value)
    s.rounds.push(this.round)
  }

  /** Declares that `metric` of fastify-fifo is set against a limit (or a peer's other metric) of the same round. */
  pair (p: Pairing): void {
    if (!this.pairings.some((q) => q.scenario === p.scenario && q.metric === p.metric && q.against === p.against && q.againstMetric === p.againstMetric)) this.pairings.push(p)
  }

  /** Every figure as a row: the median over its runs, with min and max, then the ratio rows. */
  rows (): Row[] {
    const rows: Row[] = [...this.#series.values()].map((s) => {
      const sum = summarize(s.values)
      return { scenario: s.scenario, system: s.system, metric: s.metric, value: sum.median, unit: s.unit, runs: sum.runs, min: sum.min, max: sum.max }
    })
    return [...rows, ...this.ratioRows()]
  }

  /**
   * Per-round ratios: fastify-fifo's figure ÷ the same round's figure of each
   * peer, for every metric both have (counts excepted), and for every declared
   * pairing with a limit. A round contributes only when both sides ran in it;
   * several runs of one side in a round (a limit measured twice) are averaged.
   */
  ratioRows (): Row[] {
    const out: Row[] = []
    const byRound = (s: Series | undefined): Map<number, number> => {
      const m = new Map<number, number[]>()
      if (s !== undefined) s.values.forEach((v, i) => { const r = s.rounds[i]; m.set(r, [...(m.get(r) ?? []), v]) })
      return new Map([...m].map(([r, vs]) => [r, vs.reduce((a, b) => a + b, 0) / vs.length]))
    }
    const get = (scenario: string, system: RowSystem, metric: string): Series | undefined => this.#series.get(`${scenario}\u0000${system}\u0000${metric}`)
    const emit = (ours: Series, theirs: Series | undefined, system: RowSystem, metric: string, kind: 'ratio' | 'over'): void => {
      const a = byRound(ours)
      const b = byRound(theirs)
      const per: number[] = []
      for (const [r, v] of a) {
        const w = b.get(r)
        if (w === undefined) continue
        if (kind === 'ratio' && w !== 0) per.push(v / w)
        if (kind === 'over') per.push(v - w)
      }
      if (per.length === 0) return
      const sum = summarize(per)
      out.push({ scenario: ours.scenario, system, metric, value: sum.median, unit: kind === 'ratio' ? 'x' : ours.unit, runs: sum.runs, min: sum.min, max: sum.max })
    }
    for (const s of this.#series.values()) {
      if (s.unit === 'count' || s.unit === 'x') continue
      if (s.system === 'fastify-fifo') {
        for (const peer of this.systems) {
          if (peer === 'fastify-fifo') continue
          emit(s, get(s.scenario, peer, s.metric), peer, `${s.metric} ratio`, 'ratio')
        }
      } else if (s.system === 'fastify-fifo-base') {
        // --base: the other commit's ratios to the same rounds' peers, so before and after are read off one run.
        for (const peer of this.systems) {
          if (peer === 'fastify-fifo' || peer === 'fastify-fifo-base') continue
          emit(s, get(s.scenario, peer, s.metric), peer, `${BASE_PREFIX}${s.metric} ratio`, 'ratio')
        }
      }
    }
    for (const p of this.pairings) {
      const ours = get(p.scenario, 'fastify-fifo', p.metric)
      if (ours === undefined) continue
      const theirsMetric = p.againstMetric ?? p.metric
      const theirs = get(p.againstScenario ?? p.scenario, p.against, theirsMetric)
      const label = p.kind === 'ratio' ? `${p.metric} ratio (÷ ${theirsMetric})` : `${p.metric} over ${theirsMetric}`
      emit(ours, theirs, p.against, label, p.kind)
    }
    return out
  }

  /** A fresh, empty keyspace and a namespace no earlier run used. */
  async fresh (): Promise<string> {
    await this.admin.flushall()
    this.#runCounter++
    return `bench${this.#runCounter}`
  }

  /**
   * Runs `fn` for every system in every round, back to back: round 1 runs
   * A B C, round 2 B C A, …, so drift on a noisy machine hits every system
   * alike, and each round's figures are paired into per-round ratios.
   */
  async interleave (scenario: string, rounds: number, fn: (system: SystemName, round: number) => Promise<void>, systems: SystemName[] = this.systems): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      this.round = round
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]
        const t0 = Date.now()
        try {
          await fn(system, round)
          log(`  ${scenario} ${system} round ${round + 1}/${rounds} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
        } catch (err) {
          const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
          this.notes.push(`${scenario} ${system} round ${round + 1}: FAILED: ${message}`)
          log(`  ${scenario} ${system} round ${round + 1}/${rounds} FAILED: ${message}`)
        }
      }
    }
  }

  async snapshot (): Promise<RedisSnapshot> {
    return await snapshot(this.admin)
  }

  /** Records Node and Redis CPU per task (or call) and the script cost of a measured window. */
  recordCost (scenario: string, system: RowSystem, units: number, cpu: CpuUse | null, before: RedisSnapshot, after: RedisSnapshot): RedisUse {
    const use = diff(before, after)
    if (cpu !== null) this.record(scenario, system, 'node cpu per task', 'µs', (cpu.userUs + cpu.systemUs) / units)
    this.record(scenario, system, 'redis cpu per task', 'µs', use.cpuUs / units)
    const scripts = scriptCalls(use)
    this.record(scenario, system, 'script calls per task', 'calls', scripts.calls / units)
    if (scripts.calls > 0) this.record(scenario, system, 'script time per call', 'µs', scripts.usec / scripts.calls)
    return use
  }

  profile (scenario: string, system: RowSystem, units: number, before: RedisSnapshot, after: RedisSnapshot): void {
    const id = `${scenario} ${system}`
    let p = this.profiles.get(id)
    if (p === undefined) {
      p = { units: 0, commands: new Map() }
      this.profiles.set(id, p)
    }
    p.units += units
    for (const c of diff(before, after).commands) {
      const sum = p.commands.get(c.name) ?? { calls: 0, usec: 0 }
      sum.calls += c.calls
      sum.usec += c.usec
      p.commands.set(c.name, sum)
    }
  }

  /** Groups the keyspace by key shape and reports Redis's own MEMORY USAGE per pending task. */
  async memoryBreakdown (tasks: number): Promise<void> {
    const groups = new Map<string, { keys: number, bytes: number, type: string, encodings: Set<string>, items: number }>()
    let cursor = '0'
    do {
      const [next, keys] = await this.admin.scan(cursor, 'COUNT', 1000)
      cursor = next
      for (const key of keys) {
        const shape = key.replace(/\d+/g, '#')
        const [type, encoding, bytes] = await Promise.all([
          this.admin.type(key),
          this.admin.object('ENCODING', key) as Promise<string>,
          this.admin.memory('USAGE', key, 'SAMPLES', '0') as Promise<number>,
        ])
        const items = type === 'hash' ? await this.admin.hlen(key) : type === 'list' ? await this.admin.llen(key) : type === 'zset' ? await this.admin.zcard(key) : type === 'set' ? await this.admin.scard(key) : 1
        const g = groups.get(shape) ?? { keys: 0, bytes: 0, type, encodings: new Set<string>(), items: 0 }
        g.keys++
        g.bytes += bytes
        g.items += items
        g.encodings.add(encoding)
        groups.set(shape, g)
      }
    } while (cursor !== '0')
    this.memoryLines = [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).map(([shape, g]) =>
      `${shape}: ${g.keys} key(s), ${g.type} ${[...g.encodings].join('/')}, ${g.items} item(s), ${(g.bytes / tasks).toFixed(1)} B per task`)
  }
}

export function log (line: string): void {
  process.stderr.write(line + '\n')
}

export { SYSTEMS }
