import { Child } from '../lib/children'
import { log, type Bench, type RowSystem } from '../lib/context'
import { cpus } from 'node:os'
import { CEILING, CPU_CEILING } from '../lib/report'
import type { Job, Shape, TaskRecords } from '../lib/protocol'
import { percentile } from '../lib/stats'

const now = (): number => Number(process.hrtime.bigint())

export interface OrderCheck {
  /** Tasks that started before their predecessor in the same queue had ended. */
  violations: number
  /** Tasks that never ran. */
  lost: number
  /** Extra runs of tasks that had run already. */
  duplicates: number
  lastEnd: number
  /** Sum over first runs of end − start (ns): the time handlers spent sleeping. */
  busyNs: number
  /** Per queue, start of task s − end of task s-1 (ms), for every s > 0 whose both ran. */
  gapsMs: number[]
}

/** Checks every queue's history: task s must start after task s-1 ended. */
export function checkOrder (records: TaskRecords[], keys: number, perKey: number): OrderCheck {
  const start = new Float64Array(keys * perKey).fill(NaN)
  const end = new Float64Array(keys * perKey).fill(NaN)
  let duplicates = 0
  let lastEnd = 0
  let violations = 0
  let busyNs = 0
  for (const r of records) {
    for (let i = 0; i < r.key.length; i++) {
      const at = r.key[i] * perKey + r.seq[i]
      if (!Number.isNaN(start[at])) {
        duplicates++
        // A second run that overlaps anything else in the queue is an order break too.
        violations++
        continue
      }
      start[at] = r.start[i]
      end[at] = r.end[i]
      busyNs += r.end[i] - r.start[i]
      if (r.end[i] > lastEnd) lastEnd = r.end[i]
    }
  }
  let lost = 0
  const gapsMs: number[] = []
  for (let k = 0; k < keys; k++) {
    for (let s = 0; s < perKey; s++) {
      const at = k * perKey + s
      if (Number.isNaN(start[at])) { lost++; continue }
      if (s === 0 || Number.isNaN(end[at - 1])) continue
      if (start[at] < end[at - 1]) violations++
      gapsMs.push((start[at] - end[at - 1]) / 1e6)
    }
  }
  return { violations, lost, duplicates, lastEnd, busyNs, gapsMs }
}

interface Shaped { keys: number, perKey: number, shape: Shape }

/** What runShape measured; `cpuCeiling` is 0 for BullMQ's shared-queue run. */
interface ShapeRun { rate: number, check: OrderCheck, ceiling: number, cpuCeiling: number }

/**
 * Pre-fills keys × perKey tasks, then 3 worker processes × 4 slots drain them
 * with handlers that sleep 0–2 ms (the same deterministic sleep per task for
 * every system). Time runs from "go" to the last handler's end. System
 * `limit`: the same processes × slots run the same sleeps with one no-op
 * EVALSHA between a queue's tasks and no queue library (lib/many-limit.ts).
 */
async function runShape (bench: Bench, scenario: string, system: RowSystem, s: Shaped, bullmqShared: boolean): Promise<ShapeRun> {
  const ns = await bench.fresh()
  const url = bench.redis.url
  const total = s.keys * s.perKey
  const { processes, slots } = bench.cfg
  // Worker 0 pre-fills before it says ready; the others connect meanwhile and wait.
  const job = (index: number): Job => system === 'limit'
    ? { role: 'many-limit', url, ns, slots, keyCount: s.keys, perKey: s.perKey, processes, index }
    : { role: 'worker', system, url, ns, slots, keyCount: s.keys, processes, index, bullmqShared, fill: index === 0 ? { perKey: s.perKey, shape: s.shape } : null }
  const workers = await Promise.all(Array.from({ length: processes }, async (_, index) => await Child.start(job(index), 600_000)))
  try {
    const before = await bench.snapshot()
    const t0 = now()
    for (const w of workers) w.go()
    // Done when every task has run once; give up after 20 s without progress.
    let done = 0
    let lastProgress = Date.now()
    while (true) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const sum = workers.reduce((n, w) => n + w.done, 0)
      if (sum !== done) { done = sum; lastProgress = Date.now() }
      if (done >= total) break
      if (Date.now() - lastProgress > 20_000) {
        bench.notes.push(`${scenario} ${system}${bullmqShared ? ' (shared queue)' : ''}: stalled at ${done}/${total} tasks`)
        log(`  ${scenario} ${system}: stalled at ${done}/${total}`)
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
    const check = checkOrder(records, s.keys, s.perKey)
    const ran = total - check.lost
    const rate = ran / ((check.lastEnd - t0) / 1e9)
    let cpuCeiling = 0
    if (!bullmqShared) {
      const use = bench.recordCost(scenario, system, ran, { userUs: cpuUs, systemUs: 0 }, before, after)
      bench.profile(scenario, system, ran, before, after)
      // Handlers sleep rather than spin, so the only other bound is CPU: the workers' and Redis's
      // CPU per task, spread over every core of the machine (the bench parent and other tenants
      // take their share too, so this is an upper bound).
      const cpuPerTask = (cpuUs + use.cpuUs) / Math.max(1, ran)
      cpuCeiling = cpuPerTask === 0 ? 0 : cpus().length * 1e6 / cpuPerTask
    }
    // As many tasks at once as there are slots (BullMQ per key: one Worker per queue), at most one per queue.
    const slotsBusy = Math.min(system === 'bullmq' && !bullmqShared ? s.keys : processes * slots, s.keys)
    const ceiling = ran === 0 ? 0 : slotsBusy / (check.busyNs / ran / 1e9)
    return { rate, check, ceiling, cpuCeiling }
  } finally {
    await Promise.all(workers.map(async (w) => await w.end()))
  }
}

/** Records one many-queues run of `system` (fastify-fifo, a peer, or the safe-mode limit). */
function recordShape (bench: Bench, scenario: string, system: RowSystem, r: ShapeRun): void {
  bench.record(scenario, system, 'tasks/s', '/s', r.rate)
  bench.record(scenario, system, CEILING, '/s', r.ceiling)
  bench.record(scenario, system, 'share of that ceiling', 'x', r.rate / r.ceiling)
  bench.record(scenario, system, CPU_CEILING, '/s', r.cpuCeiling)
  bench.record(scenario, system, 'share of the CPU ceiling', 'x', r.rate / r.cpuCeiling)
  bench.record(scenario, system, GAP_P50, 'ms', percentile(r.check.gapsMs, 50))
  bench.record(scenario, system, GAP_P99, 'ms', percentile(r.check.gapsMs, 99))
  bench.record(scenario, system, 'order violations', 'count', r.check.violations)
  bench.record(scenario, system, 'lost tasks', 'count', r.check.lost)
}

/** Per queue, from a task's end to its successor's start (with more queues than slots, the wait for a slot is in it). */
export const GAP_P50 = "gap between a queue's tasks, p50"
export const GAP_P99 = "gap between a queue's tasks, p99"

/**
 * many-queues: 200 queues × 30 tasks grouped by key, and 10 queues × 600
 * round-robin (full run). Once per round, the safe-mode limit (system `limit`) runs the
 * same shape: fastify-fifo's tasks/s is set against it round by round.
 */
export async function manyQueues (bench: Bench): Promise<void> {
  for (const s of bench.cfg.many) {
    const scenario = `many-queues:${s.keys}x${s.perKey}`
    bench.pair({ scenario, metric: 'tasks/s', against: 'limit', kind: 'ratio' })
    await bench.interleave(scenario, bench.cfg.heavyRounds, async (system, round) => {
      if (system === bench.systems[round % bench.systems.length]) recordShape(bench, scenario, 'limit', await runShape(bench, scenario, 'limit', s, false))
      recordShape(bench, scenario, system, await runShape(bench, scenario, system, s, false))
      if (system === 'bullmq' && bench.cfg.bullmqShared) {
        const shared = await runShape(bench, scenario, system, s, true)
        bench.record(scenario, system, 'tasks/s (one shared queue, unordered)', '/s', shared.rate)
        bench.record(scenario, system, 'order violations (one shared queue)', 'count', shared.check.violations)
      }
    })
  }
}

/**
 * wide: many short queues vs few long ones, same worker setup; the claim cost
 * must not grow with the number of queues. Both shapes run back to back in
 * each round (order alternating), so their ratio is measured under the same
 * conditions. BullMQ needs one Worker (and one blocking connection) per queue
 * to keep order, so shapes with more than 1,000 queues are out of its reach.
 */
export async function wide (bench: Bench): Promise<void> {
  const [many, few] = bench.cfg.wide
  for (const w of [many, few]) {
    if (w.keys > 1000 && bench.systems.includes('bullmq')) bench.notes.push(`wide:${w.keys}x${w.perKey}: BullMQ not run (it would need ${w.keys} Workers, each with its own blocking connection, per process)`)
  }
  await bench.interleave('wide', bench.cfg.heavyRounds, async (system, round) => {
    const rates: number[] = []
    const shapes = round % 2 === 0 ? [many, few] : [few, many]
    for (const w of shapes) {
      if (system === 'bullmq' && w.keys > 1000) continue
      const scenario = `wide:${w.keys}x${w.perKey}`
      const r = await runShape(bench, scenario, system, { keys: w.keys, perKey: w.perKey, shape: 'grouped' }, false)
      bench.record(scenario, system, 'tasks/s', '/s', r.rate)
      bench.record(scenario, system, 'order violations', 'count', r.check.violations)
      bench.record(scenario, system, 'lost tasks', 'count', r.check.lost)
      rates[w === many ? 0 : 1] = r.rate
    }
    if (rates[0] !== undefined && rates[1] !== undefined) {
      bench.record('wide', system, `tasks/s ${many.keys} ÷ ${few.keys} queues`, 'x', rates[0] / rates[1])
    }
  })
}
