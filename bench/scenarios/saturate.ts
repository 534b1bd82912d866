import { Child } from '../lib/children'
import { log, type Bench } from '../lib/context'

/**
 * saturate: what one namespace on one Redis node carries. 1,000 queues,
 * producers in 2 processes enqueueing as fast as they can (concurrent calls),
 * workers in 2 processes with no-op handlers. After a warm-up, a steady-state
 * window: end-to-end tasks/s and Redis CPU per task (everything Redis did —
 * enqueue, claim, run, complete — ÷ tasks completed, from INFO's
 * used_cpu_user + used_cpu_sys of the bench's own redis-server).
 *
 * fastify-fifo and GroupMQ: one namespace, a queue/group per key, `slots`
 * concurrency per worker process. BullMQ: one queue, concurrency 8 per worker
 * (unordered: BullMQ's per-key order needs a Worker per key, which 1,000 keys
 * × 2 processes rules out).
 */
export const SATURATE = { keys: 1000, producers: 2, workers: 2, inFlight: 64, slots: 16, bullmqSlots: 8 }

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export async function saturate (bench: Bench): Promise<void> {
  const scenario = 'saturate'
  const { warmupSeconds, windowSeconds } = bench.cfg.saturate
  const s = SATURATE
  if (bench.systems.includes('bullmq')) bench.notes.push(`saturate: BullMQ runs one shared queue with concurrency ${s.bullmqSlots} per worker — unordered (per-key order would need ${s.keys} Workers per process)`)
  await bench.interleave(scenario, bench.cfg.heavyRounds, async (system) => {
    const ns = await bench.fresh()
    const url = bench.redis.url
    const bullmqShared = system === 'bullmq'
    const slots = bullmqShared ? s.bullmqSlots : s.slots
    // Each producer keeps up to 2 tasks per queue waiting: enough that no worker starves, bounded so Redis does not fill up.
    const backlog = Math.round(2 * s.keys / s.producers)
    const start = async (): Promise<{ workers: Child[], producers: Child[] }> => {
      const workers = await Promise.all(Array.from({ length: s.workers }, async () => await Child.start({ role: 'counter', system, url, ns, slots, bullmqShared })))
      const producers = await Promise.all(Array.from({ length: s.producers }, async (_, i) =>
        await Child.start({ role: 'producer', system, url, ns, keys: s.keys, offset: i * Math.floor(s.keys / s.producers), inFlight: s.inFlight, backlog, bullmqShared })))
      return { workers, producers }
    }
    const { workers, producers } = await start()
    const all = [...workers, ...producers]
    try {
      for (const c of all) c.go()
      const completed = (): number => workers.reduce((n, w) => n + w.done, 0)
      const enqueued = (): number => producers.reduce((n, p) => n + p.done, 0)
      // The producers learn how many tasks have run (split evenly: they enqueue at the same pace).
      const feed = setInterval(() => { const d = completed() / producers.length; for (const p of producers) p.completed(Math.floor(d)) }, 10)
      try {
        await sleep(warmupSeconds * 1000)
        const before = await bench.snapshot()
        const c0 = completed()
        const e0 = enqueued()
        const cpu0 = all.map((c) => c.cpuUs())
        const t0 = performance.now()
        await sleep(windowSeconds * 1000)
        const after = await bench.snapshot()
        const seconds = (performance.now() - t0) / 1000
        const ran = completed() - c0
        const sent = enqueued() - e0
        const nodeUs = all.reduce((n, c, i) => n + c.cpuUs() - cpu0[i], 0)
        if (ran === 0) throw new Error('no task completed in the window')
        const redisUs = after.cpuUs - before.cpuUs
        bench.record(scenario, system, 'tasks/s', '/s', ran / seconds)
        bench.record(scenario, system, 'enqueued/s', '/s', sent / seconds)
        bench.record(scenario, system, 'redis cpu per task', 'µs', redisUs / ran)
        bench.record(scenario, system, 'redis cpu busy', 'x', redisUs / 1e6 / seconds)
        bench.record(scenario, system, 'node cpu per task', 'µs', nodeUs / ran)
        bench.record(scenario, system, 'tasks/s at 80 % of one Redis core', '/s', 0.8e6 / (redisUs / ran))
        bench.profile(scenario, system, ran, before, after)
        log(`  saturate ${system}: ${Math.round(ran / seconds)} tasks/s, Redis ${(redisUs / ran).toFixed(1)} µs/task (${Math.round(100 * redisUs / 1e6 / seconds)} % of a core)`)
      } finally {
        clearInterval(feed)
      }
    } finally {
      await Promise.all(all.map(async (c) => await c.end()))
    }
  })
}
