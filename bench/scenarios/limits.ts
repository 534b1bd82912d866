import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { Bench } from '../lib/context'
import { percentile } from '../lib/stats'

const now = (): number => Number(process.hrtime.bigint())

/**
 * What one ioredis connection can do against this Redis on this machine, in
 * the same run: sequential PING, sequential EVALSHA of a one-key script that
 * returns at once, and the same EVALSHA with 100 in flight (pipelined on the
 * socket). Every queue's task costs at least one such round trip. Recorded
 * under `scenario` as system `limit`, in the current round, so each round's
 * figures are set against the ceiling of that same round.
 */
export async function measureLimits (bench: Bench, scenario: string): Promise<void> {
  const n = bench.cfg.limitCalls
  const c = new Redis(bench.redis.url)
  try {
    const sha = await c.script('LOAD', 'return 1') as string
    const evalsha = async (): Promise<unknown> => await c.evalsha(sha, 1, '{limit}:k')
    for (let i = 0; i < 1000; i++) { await c.ping(); await evalsha() }

    let t0 = now()
    for (let i = 0; i < n; i++) await c.ping()
    bench.record(scenario, 'limit', 'sequential PING', '/s', n / ((now() - t0) / 1e9))

    t0 = now()
    for (let i = 0; i < n; i++) await evalsha()
    bench.record(scenario, 'limit', 'sequential EVALSHA', '/s', n / ((now() - t0) / 1e9))

    const total = n * 5
    let next = 0
    const lane = async (): Promise<void> => { while (next++ < total) await evalsha() }
    t0 = now()
    await Promise.all(Array.from({ length: 100 }, lane))
    bench.record(scenario, 'limit', 'pipelined EVALSHA (100 in flight)', '/s', total / ((now() - t0) / 1e9))
  } finally {
    c.disconnect()
  }
}

/**
 * The floor under pickup latency on this machine: one PING on a connection
 * that sat idle for 10–30 ms (the same gaps the pickup scenario leaves), so
 * both processes were asleep. A pickup needs at least two such hops (the
 * enqueue wakes Redis, Redis wakes the worker) plus the claim.
 */
export async function measureIdleRoundTrip (bench: Bench, scenario: string, samples: number): Promise<void> {
  const c = new Redis(bench.redis.url)
  try {
    await c.ping()
    const ms: number[] = []
    for (let i = 0; i < samples; i++) {
      await sleep(10 + ((i * 7) % 21))
      const t0 = now()
      await c.ping()
      ms.push((now() - t0) / 1e6)
    }
    bench.record(scenario, 'limit', 'PING after 10–30 ms idle, p50', 'ms', percentile(ms, 50))
    bench.record(scenario, 'limit', 'PING after 10–30 ms idle, p99', 'ms', percentile(ms, 99))
  } finally {
    c.disconnect()
  }
}
