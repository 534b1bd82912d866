import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import fifo, { taskContext } from '../../plugin'
import { sleep, until } from '../helpers/app'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'

/**
 * Redis lost while the app runs. Enqueue calls reject with a typed error within
 * commandTimeoutMs (never hang); workers pause and resume by themselves; no
 * accepted task is lost; the process never crashes and keeps serving HTTP.
 */

const unhandled: unknown[] = []
const onUnhandled = (err: unknown): void => { unhandled.push(err) }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

interface Run { queue: string, n: number, attempt: number, aborted: string | null }

async function appWithStep (t: { teardown: (fn: () => Promise<void>) => void }, redis: TestRedis, opts: { leaseMs: number, commandTimeoutMs: number, workMs: number }) {
  const app: FastifyInstance = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  await app.register(fifo, { redis: redis.url, prefix: uniquePrefix('out'), leaseMs: opts.leaseMs, sweepMs: 100, commandTimeoutMs: opts.commandTimeoutMs, concurrency: 4, dashboard: false })
  const runs: Run[] = []
  const step = app.fifo.define('step', { queue: (queue: string) => queue, attempts: 10, backoff: 50 }, async (queue: string, n: number, workMs?: number) => {
    const ctx = taskContext()
    const run: Run = { queue, n, attempt: ctx?.attempt ?? 0, aborted: null }
    runs.push(run)
    ctx?.signal.addEventListener('abort', () => { run.aborted = String((ctx.signal.reason as { code?: string }).code) })
    await sleep(workMs ?? opts.workMs)
  })
  app.get('/alive', async () => ({ ok: true }))
  await app.ready()
  return { app, step, runs }
}

/** Per queue, the task numbers in the order they first started. */
function firstStarts (runs: Run[], queue: string): number[] {
  const seen: number[] = []
  for (const r of runs) if (r.queue === queue && !seen.includes(r.n)) seen.push(r.n)
  return seen
}

for (const how of ['stop', 'kill'] as const) {
  t.test(`redis-server ${how === 'stop' ? 'stopped' : 'killed -9'} while tasks run, then started again (AOF): enqueue rejects in bounded time, workers resume, nothing is lost`, async (t) => {
    const redis = await startRedis({ appendonly: true, appendfsync: 'always' })
    t.teardown(() => redis.cleanup())
    const commandTimeoutMs = 400
    const { app, step, runs } = await appWithStep(t, redis, { leaseMs: 6000, commandTimeoutMs, workMs: 150 })
    const accepted: Record<string, number[]> = { a: [], b: [] }
    for (let n = 1; n <= 6; n++) {
      for (const q of ['a', 'b']) {
        await step(q, n)
        accepted[q].push(n)
      }
    }
    await until('some tasks ran', () => runs.length >= 2)

    if (how === 'stop') await redis.stop()
    else await redis.kill()
    const refusals: Array<{ code: string | undefined, ms: number }> = []
    for (let n = 100; n < 105; n++) {
      const began = Date.now()
      const err = await step('a', n).then(() => null, (e: unknown) => e as { code?: string })
      refusals.push({ code: err?.code, ms: Date.now() - began })
    }
    for (const r of refusals) {
      t.equal(r.code, 'FST_FIFO_REDIS_UNAVAILABLE', 'enqueue rejects with a typed error')
      t.ok(r.ms <= commandTimeoutMs + 1000, `within commandTimeoutMs (${r.ms} ms)`)
    }
    const alive = await app.inject({ method: 'GET', url: '/alive' })
    t.equal(alive.statusCode, 200, 'the server keeps serving requests during the outage')
    await sleep(800)
    await redis.start()

    for (let n = 7; n <= 8; n++) {
      await until(`enqueue works again (a#${n})`, async () => await step('a', n).then(() => true, () => false), 10_000)
      accepted.a.push(n)
    }
    await until('every accepted task ran', () => ['a', 'b'].every((q) => accepted[q].every((n) => runs.some((r) => r.queue === q && r.n === n))), 20_000)
    for (const q of ['a', 'b']) t.same(firstStarts(runs, q), accepted[q], `queue ${q}: every accepted task ran, in order; refused calls left nothing behind`)
    await until('the store is empty', async () => (await app.fifo.store.overview().catch(() => null))?.pendingTasks === 0, 10_000)
    t.same(unhandled, [], 'no unhandled rejection')
  })
}

t.test('redis-server restarted without persistence (data gone): workers notice and keep running', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.cleanup())
  const { app, step, runs } = await appWithStep(t, redis, { leaseMs: 1500, commandTimeoutMs: 400, workMs: 20 })
  await step('before', 1)
  await until('the first task ran', () => runs.length === 1)
  // A task is running while Redis loses everything, its lease included.
  await step('slow', 1, 2000)
  await until('the slow task started', () => runs.some((r) => r.queue === 'slow'))
  await redis.stop()
  await redis.start()
  const rows = await app.fifo.store.overview().catch(() => null)
  t.comment(`after the restart the store reports ${rows?.queues ?? '?'} queues`)
  for (let n = 1; n <= 5; n++) {
    await until(`enqueue works after the restart (after#${n})`, async () => await step('after', n).then(() => true, () => false), 10_000)
  }
  await until('tasks enqueued after the restart run', () => firstStarts(runs, 'after').length === 5, 10_000)
  t.same(firstStarts(runs, 'after'), [1, 2, 3, 4, 5])
  await until('this instance is listed again', async () => (await app.fifo.store.listInstances().catch(() => [])).some((i) => i.id === app.fifo.instanceId), 5000)
  t.pass('the instance heartbeats into the new, empty Redis')
  const slow = runs.find((r) => r.queue === 'slow')
  await until('the slow run learns its lease is gone', () => slow?.aborted !== null, 5000)
  t.equal(slow?.aborted, 'FST_FIFO_LEASE_LOST', 'its signal fired: the lease vanished with the data')
  t.same(unhandled, [], 'no unhandled rejection')
})
