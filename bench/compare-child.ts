/**
 * One serial-drain run of the fastify-fifo found in another source tree (see
 * bench/compare-commits.ts): the same measurement as bench/child.ts's drain
 * (pre-fill warmup + tasks no-op tasks in one queue, then one process with one
 * slot drains them; the window starts when task `warmup` starts), but the
 * plugin is `require(<tree>/plugin)`, so old commits run under one harness.
 * With `scenario: 'enqueue-seq'` it times sequential enqueues instead (one
 * awaited call at a time into 100 queues, after `warmup` of them).
 * Driven over IPC: job → ready → go → result.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { join } from 'node:path'

export interface CompareJob { tree: string, url: string, ns: string, tasks: number, warmup: number, scenario: 'serial-drain' | 'enqueue-seq' }
export interface CompareResult { tasks: number, ns: number, cpuUs: number, violations: number, otelApi: boolean }
export type CompareMessage = { type: 'ready' } | { type: 'result', result: CompareResult } | { type: 'error', message: string }

type Plugin = Parameters<FastifyInstance['register']>[0]
interface Fifo { define: (name: string, options: object, handler: (...args: any[]) => unknown) => (...args: unknown[]) => Promise<unknown> }

const now = (): number => Number(process.hrtime.bigint())
const send = async (msg: CompareMessage): Promise<void> => await new Promise((resolve) => {
  if (process.send === undefined) resolve()
  else process.send(msg, undefined, {}, () => resolve())
})

async function open (fifo: Plugin, job: CompareJob, handler: ((seq: number) => void) | null): Promise<{ app: FastifyInstance, task: (key: string, seq: number) => Promise<unknown> }> {
  const app = Fastify({ logger: false })
  await app.register(fifo, { redis: job.url, prefix: job.ns, concurrency: 1, worker: handler !== null, dashboard: false })
  const api = (app as unknown as { fifo: Fifo }).fifo
  const task = api.define('bench', { queue: (key: string) => key }, async (_key: string, seq: number) => { handler?.(seq) })
  return { app, task }
}

async function main (job: CompareJob, go: Promise<void>): Promise<void> {
  const mod = require(join(job.tree, 'plugin')) as { default: Plugin }
  let otelApi = true
  try {
    require.resolve('@opentelemetry/api', { paths: [join(job.tree, 'plugin', 'core')] })
  } catch {
    otelApi = false
  }
  const total = job.warmup + job.tasks
  if (job.scenario === 'enqueue-seq') {
    // As npm run bench's enqueue-seq: one awaited call at a time, 100 queues, a producer without worker.
    const app = await open(mod.default, job, null)
    await app.app.ready()
    for (let i = 0; i < job.warmup; i++) await app.task(`k${i % 100}`, i)
    await send({ type: 'ready' })
    await go
    const cpu0 = process.cpuUsage()
    const t0 = now()
    for (let i = job.warmup; i < total; i++) await app.task(`k${i % 100}`, i)
    const ns = now() - t0
    const cpu = process.cpuUsage(cpu0)
    await send({ type: 'result', result: { tasks: job.tasks, ns, cpuUs: cpu.user + cpu.system, violations: 0, otelApi } })
    await app.app.close()
    return
  }
  const producer = await open(mod.default, job, null)
  await producer.app.ready()
  let next = 0
  await Promise.all(Array.from({ length: 100 }, async () => { while (next < total) await producer.task('serial', next++) }))
  await producer.app.close()

  let cpu0 = process.cpuUsage()
  let t0 = now()
  let expected = 0
  let violations = 0
  let done = 0
  let finished: () => void = () => {}
  const allDone = new Promise<void>((resolve) => { finished = resolve })
  const consumer = await open(mod.default, job, (seq) => {
    if (done === job.warmup) {
      cpu0 = process.cpuUsage()
      t0 = now()
    }
    if (seq !== expected) violations++
    expected = seq + 1
    if (++done === total) finished()
  })
  await send({ type: 'ready' })
  await go
  await consumer.app.ready()
  await allDone
  const ns = now() - t0
  const cpu = process.cpuUsage(cpu0)
  await send({ type: 'result', result: { tasks: job.tasks, ns, cpuUs: cpu.user + cpu.system, violations, otelApi } })
  await consumer.app.close()
}

let onGo: () => void = () => {}
const go = new Promise<void>((resolve) => { onGo = resolve })
process.on('disconnect', () => process.exit(1))
process.on('message', (msg: { type: 'job', job: CompareJob } | { type: 'go' }) => {
  if (msg.type === 'go') {
    onGo()
    return
  }
  main(msg.job, go).then(() => process.exit(0), async (err: unknown) => {
    await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    process.exit(1)
  })
})
