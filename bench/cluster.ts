// Cluster scenario (issue 14): one node vs a 3-master Redis Cluster with
// partitions: 12, in the same run. Idle pickup (a worker app woken by another
// app's enqueue), and a drain of many queues with no-op handlers: tasks/s,
// Redis CPU per task on each master (INFO used_cpu_user + used_cpu_sys of
// each node ÷ tasks), balance = max ÷ mean of the masters' CPU.
// Run: node scripts/run-ts.mjs bench/cluster.ts [--tasks 20000] [--queues 300],
// or as the `cluster` scenario of `npm run bench` (bench/scenarios/cluster.ts).
import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import fifo, { type FifoOptions } from '../plugin'
import { startCluster } from '../test/helpers/redis-cluster'
import { startRedis, uniquePrefix } from '../test/helpers/redis-server'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : Number(process.argv[i + 1])
}

async function cpuUs (node: Redis): Promise<number> {
  const info = await node.info('cpu')
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6
}

async function app (redis: FifoOptions, worker: boolean, onRun: (q: string, n: number) => void): Promise<{ app: FastifyInstance, job: (q: string, n: number) => Promise<unknown> }> {
  const a = Fastify({ logger: false })
  await a.register(fifo, { ...redis, worker, concurrency: 32, dashboard: false })
  const job = a.fifo.define('noop', { queue: (q: string) => q }, async (q: string, n: number) => { onRun(q, n) })
  await a.ready()
  return { app: a, job }
}

export interface TargetFigures {
  pickupP50Ms: number
  pickupP90Ms: number
  tasksPerSecond: number
  /** Redis CPU per task on each master (µs). */
  redisUsPerTask: number[]
  /** max ÷ mean of redisUsPerTask. */
  balance: number
}

export async function measure (label: string, redis: FifoOptions, masters: Redis[], TASKS = arg('tasks', 20_000), QUEUES = arg('queues', 300), PICKUPS = arg('pickups', 200)): Promise<TargetFigures> {
  // Idle pickup: the producer has no worker, so the task is picked up through the wake path.
  let started: (() => void) | null = null
  let runs = 0
  const worker = await app(redis, true, () => { runs++; started?.() })
  const producer = await app(redis, false, () => {})
  const samples: number[] = []
  for (let i = 0; i < PICKUPS; i++) {
    const ran = new Promise<void>((resolve) => { started = resolve })
    const t0 = performance.now()
    await producer.job(`pickup-${i % 20}`, i)
    await ran
    samples.push(performance.now() - t0)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  samples.sort((a, b) => a - b)
  const p50 = samples[Math.floor(samples.length / 2)]
  const p90 = samples[Math.floor(samples.length * 0.9)]

  // Drain: enqueue everything first (no worker running the measured part), then time the run.
  await worker.app.close()
  runs = 0
  for (let i = 0; i < TASKS; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, TASKS - i) }, async (_, k) => await producer.job(`q${(i + k) % QUEUES}`, i + k)))
  }
  const cpu0 = await Promise.all(masters.map(cpuUs))
  const t0 = performance.now()
  let done!: () => void
  const finished = new Promise<void>((resolve) => { done = resolve })
  const drainer = await app(redis, true, () => { if (++runs === TASKS) done() })
  await finished
  const seconds = (performance.now() - t0) / 1000
  const cpu = (await Promise.all(masters.map(cpuUs))).map((c, i) => c - cpu0[i])
  const perTask = cpu.map((c) => c / TASKS)
  const mean = perTask.reduce((a, b) => a + b, 0) / perTask.length
  console.log(`${label}: idle pickup p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms; drain ${TASKS} tasks over ${QUEUES} queues: ${Math.round(TASKS / seconds)} tasks/s; ` +
    `Redis CPU per task ${perTask.map((c) => c.toFixed(1)).join(' / ')} µs (sum ${perTask.reduce((a, b) => a + b, 0).toFixed(1)}), balance max÷mean ${(Math.max(...perTask) / mean).toFixed(2)}`)
  await Promise.all([drainer.app.close(), producer.app.close()])
  return { pickupP50Ms: p50, pickupP90Ms: p90, tasksPerSecond: TASKS / seconds, redisUsPerTask: perTask, balance: Math.max(...perTask) / mean }
}

async function main (): Promise<void> {
  const single = await startRedis()
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
  try {
    const one = single.client()
    await measure('1 node', { redis: single.url, prefix: uniquePrefix('bc') }, [one])
    one.disconnect()
    const masters = (await cluster.masters()).map((m) => m.node.client())
    await measure('3 masters × partitions 12', { redis: { cluster: cluster.startupNodes }, partitions: 12, prefix: uniquePrefix('bc') }, masters)
    for (const m of masters) m.disconnect()
  } finally {
    await cluster.cleanup()
    await single.cleanup()
  }
}
if (require.main === module) main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
