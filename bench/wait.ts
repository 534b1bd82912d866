// Waiting for a result (issue 12): on an idle system, enqueue-and-wait latency
// (a producer app without workers enqueues with `wait`; a worker app runs the
// task; the producer hears the outcome) beside plain pickup latency (enqueue
// until the handler starts), on one local redis-server.
// Run: node scripts/run-ts.mjs bench/wait.ts [--samples 500]
import Fastify, { type FastifyInstance } from 'fastify'
import fifo, { type Task } from '../plugin'
import { startRedis, uniquePrefix } from '../test/helpers/redis-server'

const i = process.argv.indexOf('--samples')
const SAMPLES = i < 0 ? 500 : Number(process.argv[i + 1])

async function app (url: string, prefix: string, worker: boolean, onRun: () => void): Promise<{ app: FastifyInstance, job: Task<[string, number]> }> {
  const a = Fastify({ logger: false })
  await a.register(fifo, { redis: url, prefix, worker, dashboard: false })
  const job = a.fifo.define('job', { queue: (q: string) => q }, async (_q: string, n: number) => { onRun(); return { n } })
  await a.ready()
  return { app: a, job }
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
const pause = async (): Promise<void> => await new Promise((resolve) => setTimeout(resolve, 2))

async function main (): Promise<void> {
  const redis = await startRedis()
  const prefix = uniquePrefix('bw')
  let started: (() => void) | null = null
  const worker = await app(redis.url, prefix, true, () => { started?.() })
  const producer = await app(redis.url, prefix, false, () => {})
  const client = redis.client()
  try {
    const ping: number[] = []
    const pickup: number[] = []
    const waited: number[] = []
    // Warm-up: scripts cached, subscriber connected.
    for (let k = 0; k < 20; k++) await producer.job.with({ wait: 5000 })(`w${k % 10}`, k)
    for (let k = 0; k < SAMPLES; k++) {
      const ran = new Promise<void>((resolve) => { started = resolve })
      let t0 = performance.now()
      await producer.job(`p${k % 20}`, k)
      await ran
      pickup.push(performance.now() - t0)
      await pause()
      t0 = performance.now()
      const done = await producer.job.with({ wait: 5000 })(`p${k % 20}`, k)
      if (done.status !== 'succeeded') throw new Error(`unexpected outcome ${done.status}`)
      waited.push(performance.now() - t0)
      await pause()
      // One idle round trip, for scale: the outcome should cost about one more than pickup.
      t0 = performance.now()
      await client.ping()
      ping.push(performance.now() - t0)
      await pause()
    }
    pickup.sort((a, b) => a - b)
    waited.sort((a, b) => a - b)
    ping.sort((a, b) => a - b)
    console.log(`idle PING round trip: p50 ${pct(ping, 0.5).toFixed(2)} ms, p99 ${pct(ping, 0.99).toFixed(2)} ms`)
    console.log(`idle pickup (enqueue → handler starts): p50 ${pct(pickup, 0.5).toFixed(2)} ms, p99 ${pct(pickup, 0.99).toFixed(2)} ms`)
    console.log(`enqueue-and-wait (enqueue → outcome back): p50 ${pct(waited, 0.5).toFixed(2)} ms, p99 ${pct(waited, 0.99).toFixed(2)} ms (${SAMPLES} samples each)`)
  } finally {
    client.disconnect()
    await Promise.all([worker.app.close(), producer.app.close()])
    await redis.cleanup()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
