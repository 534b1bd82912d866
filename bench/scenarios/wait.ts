import { Child } from '../lib/children'
import type { Bench } from '../lib/context'
import type { WaitWorker } from '../lib/protocol'
import { percentile } from '../lib/stats'
import type { SystemName } from '../systems/types'
import { measureIdleRoundTrip } from './limits'

const PING_P50 = 'PING after 10–30 ms idle, p50'
const WORKERS: WaitWorker[] = ['other process', 'same process']

/**
 * wait-latency: on an idle system, the time from an enqueue until its handler
 * starts (pickup) and from an enqueue until its outcome is back
 * (enqueue-and-wait: fastify-fifo's `wait` call option, BullMQ's
 * `job.waitUntilFinished(queueEvents)`), with the worker in another process
 * (a waiter on another instance) and in the producer's own process. Per round
 * the idle PING is measured too; `wait − pickup p50` is set against it
 * (target: the wait costs at most one more idle round trip than pickup).
 */
export async function waitLatency (bench: Bench): Promise<void> {
  const scenario = 'wait-latency'
  const systems = bench.systems.filter((s): s is SystemName => s === 'fastify-fifo' || s === 'bullmq')
  if (systems.length === 0) return
  for (const where of WORKERS) bench.pair({ scenario, metric: `wait − pickup p50 (${where})`, against: 'limit', againstMetric: PING_P50, kind: 'over' })
  await bench.interleave(scenario, bench.cfg.rounds, async (system, round) => {
    if (system === systems[round % systems.length]) await measureIdleRoundTrip(bench, scenario, bench.cfg.pickupSamples)
    for (const where of WORKERS) {
      const ns = await bench.fresh()
      const child = await Child.start({ role: 'wait', system, url: bench.redis.url, ns, samples: bench.cfg.pickupSamples, warmup: 20, worker: where })
      try {
        child.go()
        const r = await child.result()
        if (r.role !== 'wait') throw new Error(`unexpected ${r.role} result`)
        for (const p of [50, 99]) {
          bench.record(scenario, system, `pickup p${p} (${where})`, 'ms', percentile(r.pickupMs, p))
          bench.record(scenario, system, `enqueue-and-wait p${p} (${where})`, 'ms', percentile(r.waitMs, p))
        }
        bench.record(scenario, system, `wait − pickup p50 (${where})`, 'ms', percentile(r.waitMs, 50) - percentile(r.pickupMs, 50))
      } finally {
        await child.end()
      }
    }
  }, systems)
}
