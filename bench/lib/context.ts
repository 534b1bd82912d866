import type { Redis } from 'ioredis'
import { SYSTEMS, type SystemName } from '../systems/types'
import { snapshot, scriptCalls, diff, type RedisSnapshot, type RedisUse, type TestRedis } from './redis'
import { summarize } from './stats'
import type { CpuUse } from './protocol'

export type RowSystem = SystemName | 'limit'

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
  processes: number
  slots: number
}

export function config (quick: boolean, rounds?: number): Config {
  return quick
    ? {
        quick,
        rounds: rounds ?? 2,
        heavyRounds: rounds ?? 1,
        serialTasks: 3_000,
        enqueueSeqCalls: 2_000,
        enqueueConcurrentCalls: 10_000,
        pickupSamples: 100,
        many: [{ keys: 200, perKey: 20, shape: 'grouped' }, { keys: 10, perKey: 300, shape: 'round-robin' }],
        wide: [{ keys: 2_000, perKey: 3 }, { keys: 100, perKey: 60 }],
        memoryTasks: 5_000,
        httpSeconds: 2,
        limitCalls: 5_000,
        warmupTasks: 2_000,
        bullmqShared: false,
        processes: 3,
        slots: 4,
      }
    : {
        quick,
        rounds: rounds ?? 3,
        heavyRounds: rounds ?? 3,
        serialTasks: 20_000,
        enqueueSeqCalls: 10_000,
        enqueueConcurrentCalls: 20_000,
        pickupSamples: 300,
        many: [{ keys: 200, perKey: 50, shape: 'grouped' }, { keys: 10, perKey: 1000, shape: 'round-robin' }],
        wide: [{ keys: 10_000, perKey: 5 }, { keys: 100, perKey: 500 }],
        memoryTasks: 10_000,
        httpSeconds: 5,
        limitCalls: 20_000,
        warmupTasks: 5_000,
        bullmqShared: true,
        processes: 3,
        slots: 4,
      }
}

interface Series { scenario: string, system: RowSystem, metric: string, unit: string, values: number[] }

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
      s = { scenario, system, metric, unit, values: [] }
      this.#series.set(id, s)
    }
    s.values.push(value)
  }

  rows (): Row[] {
    return [...this.#series.values()].map((s) => {
      const sum = summarize(s.values)
      return { scenario: s.scenario, system: s.system, metric: s.metric, value: sum.median, unit: s.unit, runs: sum.runs, min: sum.min, max: sum.max }
    })
  }

  /** A fresh, empty keyspace and a namespace no earlier run used. */
  async fresh (): Promise<string> {
    await this.admin.flushall()
    this.#runCounter++
    return `bench${this.#runCounter}`
  }

  /**
   * Runs `fn` for every system in every round, interleaved: round 1 runs
   * A B C, round 2 B C A, …, so drift on a noisy machine hits every system alike.
   */
  async interleave (scenario: string, rounds: number, fn: (system: SystemName, round: number) => Promise<void>, systems: SystemName[] = this.systems): Promise<void> {
    for (let round = 0; round < rounds; round++) {
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
  recordCost (scenario: string, system: SystemName, units: number, cpu: CpuUse | null, before: RedisSnapshot, after: RedisSnapshot): RedisUse {
    const use = diff(before, after)
    if (cpu !== null) this.record(scenario, system, 'node cpu per task', 'µs', (cpu.userUs + cpu.systemUs) / units)
    this.record(scenario, system, 'redis cpu per task', 'µs', use.cpuUs / units)
    const scripts = scriptCalls(use)
    this.record(scenario, system, 'script calls per task', 'calls', scripts.calls / units)
    if (scripts.calls > 0) this.record(scenario, system, 'script time per call', 'µs', scripts.usec / scripts.calls)
    return use
  }

  profile (scenario: string, system: SystemName, units: number, before: RedisSnapshot, after: RedisSnapshot): void {
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
