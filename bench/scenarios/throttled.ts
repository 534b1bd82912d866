import { Child } from '../lib/children'
import { log, type Bench } from '../lib/context'
import type { TaskRecords } from '../lib/protocol'
import type { SystemName } from '../systems/types'
import { checkOrder } from './many'

/**
 * throttled: every task under one rate limit shared by 3 worker processes ×
 * 4 slots, with more queued than the limit lets through (keys × perKey tasks
 * pre-filled; handlers sleep 0–2 ms). What a limiter must do: never more
 * than `max` starts in any window of `perMs`, and no token left unused while
 * work waits — and what it costs Redis per task.
 *
 * fastify-fifo: 200 queues, a limiter `api` named by the task (order kept per
 * queue). BullMQ: its global limiter (`limiter: { max, duration }` on the
 * Worker) is per queue, so one limit for every task needs one shared queue
 * (concurrency 4 per worker): unordered, reported as such. GroupMQ has no
 * limiter and is not run.
 *
 * Starts are timed twice: when the handler began (process.hrtime, one clock
 * for every process; what the called API sees, give or take the network) and,
 * for fastify-fifo, when the store granted the token (ctx.limiter.grantedAt,
 * Redis TIME; what its guarantee is about). BullMQ says nothing of its grants.
 */
const LIMITED: SystemName[] = ['fastify-fifo', 'bullmq']

/** The most values in any half-open window [v, v + width). `values` sorted. */
export function worstWindow (values: number[], width: number): number {
  let worst = 0
  let j = 0
  for (let i = 0; i < values.length; i++) {
    if (j < i) j = i
    while (j < values.length && values[j] < values[i] + width) j++
    worst = Math.max(worst, j - i)
  }
  return worst
}

export async function throttled (bench: Bench): Promise<void> {
  const scenario = 'throttled'
  const { keys, perKey, max, perMs, windowSeconds } = bench.cfg.throttled
  const systems = bench.systems.filter((s) => LIMITED.includes(s))
  if (bench.systems.includes('groupmq')) bench.notes.push('throttled: GroupMQ not run (it has no rate limiter)')
  if (systems.includes('bullmq')) bench.notes.push(`throttled: BullMQ runs one shared queue (its limiter is per queue), concurrency ${bench.cfg.slots} per worker — unordered`)
  await bench.interleave(scenario, bench.cfg.heavyRounds, async (system) => {
    const ns = await bench.fresh()
    const url = bench.redis.url
    const total = keys * perKey
    const { processes, slots } = bench.cfg
    const bullmqShared = system === 'bullmq'
    const workers = await Promise.all(Array.from({ length: processes }, async (_, index) =>
      await Child.start({ role: 'worker', system, url, ns, slots, keyCount: keys, processes, index, bullmqShared, fill: index === 0 ? { perKey, shape: 'grouped' } : null, limiter: { max, perMs } }, 600_000)))
    try {
      const before = await bench.snapshot()
      for (const w of workers) w.go()
      let done = 0
      let lastProgress = Date.now()
      while (done < total) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        const sum = workers.reduce((n, w) => n + w.done, 0)
        if (sum !== done) { done = sum; lastProgress = Date.now() }
        if (Date.now() - lastProgress > 20_000) {
          bench.notes.push(`${scenario} ${system}: stalled at ${done}/${total} tasks`)
          break
        }
      }
      const results = await Promise.all(workers.map(async (w) => await w.stopAndCollect()))
      const after = await bench.snapshot()
      const records: TaskRecords[] = []
      let cpuUs = 0
      for (const r of results) {
        if (r.role !== 'worker') throw new Error(`unexpected ${r.role} result`)
        records.push(r.records)
        cpuUs += r.cpu.userUs + r.cpu.systemUs
      }
      const starts = records.flatMap((r) => r.start).sort((a, b) => a - b)
      const grants = records.flatMap((r) => r.grant).filter(Number.isFinite).sort((a, b) => a - b)
      if (starts.length === 0) throw new Error('no task ran')
      const t0 = starts[0]
      const inWindow = starts.filter((s) => s < t0 + windowSeconds * 1e9).length
      const allowed = max * windowSeconds * 1000 / perMs
      const worstStart = worstWindow(starts, perMs * 1e6)
      bench.record(scenario, system, 'worst window ÷ limit (handler starts)', 'x', worstStart / max)
      if (grants.length > 0) bench.record(scenario, system, 'worst window ÷ limit (store grants)', 'x', worstWindow(grants, perMs) / max)
      bench.record(scenario, system, `utilization (starts in ${windowSeconds} s ÷ allowed)`, 'x', inWindow / allowed)
      const check = checkOrder(records, keys, perKey)
      bench.record(scenario, system, 'order violations', 'count', check.violations)
      bench.record(scenario, system, 'lost tasks', 'count', check.lost)
      const ran = starts.length
      bench.recordCost(scenario, system, ran, { userUs: cpuUs, systemUs: 0 }, before, after)
      bench.profile(scenario, system, ran, before, after)
      log(`  throttled ${system}: worst window ${worstStart}/${max} (handler starts)${grants.length > 0 ? `, ${worstWindow(grants, perMs)}/${max} (grants)` : ''}, ${inWindow}/${allowed} in ${windowSeconds} s, Redis ${((after.cpuUs - before.cpuUs) / ran).toFixed(1)} µs/task`)
    } finally {
      await Promise.all(workers.map(async (w) => await w.end()))
    }
  }, systems)
}
