import { Child } from '../lib/children'
import type { Bench } from '../lib/context'
import type { RedisSnapshot } from '../lib/redis'
import type { ChildResult, Job } from '../lib/protocol'
import type { SystemName } from '../systems/types'
import { percentile } from '../lib/stats'
import { measureIdleRoundTrip, measureLimits } from './limits'

/**
 * serial-drain: N no-op tasks pre-filled in one queue (after `warmupTasks`
 * more that let the JIT settle), one process with one slot drains them;
 * tasks/s and order violations (a task not the successor of the one before it).
 */
export async function serialDrain (bench: Bench): Promise<void> {
  const tasks = bench.cfg.serialTasks
  bench.pair({ scenario: 'serial-drain', metric: 'tasks/s', against: 'limit', againstMetric: 'sequential EVALSHA', kind: 'ratio' })
  for (const scenario of PIPELINED_DRAINS) {
    bench.pair({ scenario, metric: 'tasks/s', against: 'limit', againstMetric: 'pipelined EVALSHA (100 in flight)', againstScenario: 'serial-drain', kind: 'ratio' })
    bench.pair({ scenario, metric: 'tasks/s', against: 'limit', againstMetric: 'sequential EVALSHA', againstScenario: 'serial-drain', kind: 'ratio' })
  }
  await bench.interleave('serial-drain', bench.cfg.rounds, async (system, round) => {
    if (system === bench.systems[round % bench.systems.length]) await measureLimits(bench, 'serial-drain')
    await drainRun(bench, 'serial-drain', system, tasks, 0)
    // The opt-in mode is its own row, never the fastify-fifo figure the targets are checked on
    // (with --base, the base tree runs it too, so a change to it gets its paired ratios).
    if (system === 'fastify-fifo' || system === 'fastify-fifo-base') {
      for (const [i, n] of PIPELINED_ACKS.entries()) await drainRun(bench, PIPELINED_DRAINS[i], system, tasks, n)
    }
  })
}

/**
 * fastify-fifo's opt-in pipelinedAcks, benchmarked as rows of their own (README: what it gives up):
 * 16 (the depth the README suggests) and 100, the depth of the limit it is set against (pipelined
 * EVALSHA, 100 in flight): issue 13's target is checked on the deepest row a run has (report.ts).
 */
export const PIPELINED_ACKS = [16, 100]
export const PIPELINED_DRAINS = PIPELINED_ACKS.map((n) => `serial-drain:pipelinedAcks=${n} (opt-in)`)

async function drainRun (bench: Bench, scenario: string, system: SystemName, tasks: number, pipelinedAcks: number): Promise<void> {
  const warmup = bench.cfg.warmupTasks
  const ns = await bench.fresh()
  await measuredRun(bench, { role: 'drain', system, url: bench.redis.url, ns, tasks, warmup, pipelinedAcks }, 'drain', (r, before, after) => {
    bench.record(scenario, system, 'tasks/s', '/s', r.tasks / (r.ns / 1e9))
    bench.record(scenario, system, 'order violations', 'count', r.violations)
    // Redis's cost per task does not depend on the JIT: it is taken over warm-up and window alike.
    bench.recordCost(scenario, system, r.warmup + r.tasks, null, before, after)
    bench.record(scenario, system, 'node cpu per task', 'µs', (r.cpu.userUs + r.cpu.systemUs) / r.tasks)
    bench.profile(scenario, system, r.warmup + r.tasks, before, after)
  })
}

/** Starts a child for `job`, lets it run its measured window between two Redis snapshots, and always ends it. */
async function measuredRun<R extends ChildResult['role']> (bench: Bench, job: Job, role: R, use: (r: Extract<ChildResult, { role: R }>, before: RedisSnapshot, after: RedisSnapshot) => void): Promise<void> {
  const child = await Child.start(job)
  try {
    const before = await bench.snapshot()
    child.go()
    const r = await child.result()
    const after = await bench.snapshot()
    if (r.role !== role) throw new Error(`unexpected ${r.role} result`)
    use(r as Extract<ChildResult, { role: R }>, before, after)
  } finally {
    await child.end()
  }
}

/** enqueue-seq (one awaited call at a time) and enqueue-concurrent (100 in flight). */
export async function enqueue (bench: Bench, concurrent: boolean): Promise<void> {
  const scenario = concurrent ? 'enqueue-concurrent' : 'enqueue-seq'
  const calls = concurrent ? bench.cfg.enqueueConcurrentCalls : bench.cfg.enqueueSeqCalls
  bench.pair({ scenario, metric: 'calls/s', against: 'limit', againstMetric: concurrent ? 'pipelined EVALSHA (100 in flight)' : 'sequential EVALSHA', kind: 'ratio' })
  await bench.interleave(scenario, concurrent ? bench.cfg.heavyRounds : bench.cfg.rounds, async (system, round) => {
    if (system === bench.systems[round % bench.systems.length]) await measureLimits(bench, scenario)
    const ns = await bench.fresh()
    const job: Job = { role: 'enqueue', system, url: bench.redis.url, ns, calls, inFlight: concurrent ? 100 : 1, warmup: bench.cfg.warmupTasks, keys: 100 }
    await measuredRun(bench, job, 'enqueue', (r, before, after) => {
      bench.record(scenario, system, 'calls/s', '/s', r.calls / (r.ns / 1e9))
      bench.recordCost(scenario, system, r.calls, r.cpu, before, after)
      bench.profile(scenario, system, r.calls, before, after)
    })
  })
}

/**
 * Pickups run back to back before the idle samples (see child.ts): a server that has been up has
 * run its path thousands of times. With 20 idle warm-up pickups only, ~40 % of the JavaScript time
 * of fastify-fifo's pickup was unoptimised code (bench/README.md, pickup probe).
 */
export const PICKUP_HOT_WARMUP = 2000

/** pickup-latency: an idle worker; enqueue one task, time until its handler starts. */
export async function pickupLatency (bench: Bench): Promise<void> {
  const scenario = 'pickup-latency'
  for (const p of ['p50', 'p99']) bench.pair({ scenario, metric: p, against: 'limit', againstMetric: `PING after 10–30 ms idle, ${p}`, kind: 'over' })
  await bench.interleave(scenario, bench.cfg.rounds, async (system, round) => {
    if (system === bench.systems[round % bench.systems.length]) await measureIdleRoundTrip(bench, scenario, bench.cfg.pickupSamples)
    const ns = await bench.fresh()
    const child = await Child.start({ role: 'pickup', system, url: bench.redis.url, ns, samples: bench.cfg.pickupSamples, warmup: 20, hotWarmup: PICKUP_HOT_WARMUP })
    try {
      child.go()
      const r = await child.result()
      if (r.role !== 'pickup') throw new Error(`unexpected ${r.role} result`)
      bench.record(scenario, system, 'p50', 'ms', percentile(r.latenciesMs, 50))
      bench.record(scenario, system, 'p95', 'ms', percentile(r.latenciesMs, 95))
      bench.record(scenario, system, 'p99', 'ms', percentile(r.latenciesMs, 99))
    } finally {
      await child.end()
    }
  })
}

/** memory: Redis bytes per pending task with a ~105-byte payload, all in one queue. */
export async function memory (bench: Bench): Promise<void> {
  const scenario = 'memory'
  await bench.interleave(scenario, bench.cfg.heavyRounds, async (system) => {
    const ns = await bench.fresh()
    const child = await Child.start({ role: 'memory', system, url: bench.redis.url, ns, tasks: bench.cfg.memoryTasks })
    try {
      const before = await bench.snapshot()
      child.go()
      const r = await child.result()
      const after = await bench.snapshot()
      if (r.role !== 'memory') throw new Error(`unexpected ${r.role} result`)
      bench.record(scenario, system, 'bytes per pending task', 'B', (after.usedMemory - before.usedMemory) / r.tasks)
      if (system === 'fastify-fifo') await bench.memoryBreakdown(r.tasks)
    } finally {
      await child.end()
    }
  })
}
