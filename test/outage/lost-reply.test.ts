import '../helpers/guard'
import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import fifo, { taskContext } from '../../plugin'
import { scripts, type ScriptName } from '../../plugin/store/redis/scripts'
import { until } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { RedisProxy } from './proxy'

/**
 * A store call can run in Redis while its reply is lost (the connection drops
 * in between). The worker cannot tell that from "did not run", so whatever it
 * does next (retry, give up) must be safe either way: no accepted task may be
 * skipped, and order must hold.
 */

/** Whether a RESP command runs the script `name` for queue `queue` (its ARGV[1]). */
function runsScript (args: string[], name: ScriptName, queue: string): boolean {
  const script = scripts().get(name)
  if (script === undefined) throw new Error(`no script ${name}`)
  const cmd = args[0]?.toLowerCase()
  if (cmd === 'evalsha' && args[1] !== createHash('sha1').update(script.lua).digest('hex')) return false
  if (cmd === 'eval' && args[1] !== script.lua) return false
  if (cmd !== 'evalsha' && cmd !== 'eval') return false
  const argv = args.slice(3 + Number(args[2]))
  // enqueue: owner, leaseMs, then 7 fields per task, the queue first.
  if (name === 'enqueue') return argv.some((a, i) => i >= 2 && (i - 2) % 7 === 0 && a === queue)
  // complete: 9 fields per completion, the queue first (one call may carry several).
  if (name === 'complete') return argv.some((a, i) => i % 9 === 0 && a === queue)
  return argv[0] === queue
}

async function setup (t: { teardown: (fn: () => Promise<void>) => void }, leaseMs = 10_000) {
  const redis = await startRedis()
  const proxy = new RedisProxy(redis.port)
  await proxy.listen()
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    await proxy.close()
    await redis.cleanup()
  })
  // A long lease: the holder keeps it through the blip, so a retried call still carries a valid token.
  await app.register(fifo, { redis: proxy.url, prefix: uniquePrefix('lr'), leaseMs, sweepMs: 100, concurrency: 1, commandTimeoutMs: 1000, dashboard: false })
  return { redis, proxy, app }
}

t.test('a completion that ran but whose reply was lost does not complete the next task too', async (t) => {
  const { proxy, app } = await setup(t)
  const ran: Array<[number, number]> = []
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const step = app.fifo.define('step', { queue: 'victim', attempts: 5 }, async (n: number) => {
    ran.push([n, taskContext()?.attempt ?? 0])
    if (n === 1) await gate
  })
  await app.ready()
  const dropped = proxy.dropReplyOf((args) => runsScript(args, 'complete', 'victim'))
  await step(1)
  await until('task 1 started', () => ran.length === 1)
  await step(2)
  await step(3)
  release()
  await dropped
  t.equal(proxy.trapped.length, 1, 'the reply of complete(task 1) was dropped')
  await until('the queue is empty', async () => (await app.fifo.store.overview().catch(() => null))?.pendingTasks === 0, 8000)
  await until('tasks 2 and 3 ran', () => ran.some(([n]) => n === 3), 3000).catch(() => {})
  const order = ran.map(([n]) => n)
  t.ok(order.includes(2), `task 2 ran (runs: ${JSON.stringify(ran)})`)
  t.ok(order.includes(3), `task 3 ran (runs: ${JSON.stringify(ran)})`)
  t.same(order.filter((n, i) => order.indexOf(n) === i), [1, 2, 3], 'in order')
})

t.test('a failure that ran but whose reply was lost keeps the task at the head', async (t) => {
  const { proxy, app } = await setup(t)
  const ran: Array<[number, number]> = []
  const step = app.fifo.define('step', { queue: 'victim', attempts: 5, backoff: 20 }, async (n: number) => {
    const attempt = taskContext()?.attempt ?? 0
    ran.push([n, attempt])
    if (n === 1 && attempt === 1) throw new Error('first attempt fails')
  })
  await app.ready()
  const dropped = proxy.dropReplyOf((args) => runsScript(args, 'fail', 'victim'))
  // Both in one call: task 1 starts (and fails) as soon as the enqueue answers, and the
  // dropped fail reply takes the connection down with whatever is in flight.
  await Promise.all([step(1), step(2)])
  await dropped
  await until('the queue is empty', async () => (await app.fifo.store.overview().catch(() => null))?.pendingTasks === 0, 8000)
  const order = ran.map(([n]) => n)
  t.same(order.filter((n, i) => order.indexOf(n) === i), [1, 2], 'task 1 (retried) before task 2')
  t.ok(ran.some(([n, a]) => n === 1 && a > 1), `task 1 ran again after its failure (runs: ${JSON.stringify(ran)})`)
  t.equal(ran.findIndex(([n]) => n === 2) > ran.findLastIndex(([n]) => n === 1), true, 'task 2 started after the last run of task 1')
  const dead = await app.fifo.store.listDead(0, 10)
  t.equal(dead.total, 0, 'nothing dead-lettered')
})

t.test('an enqueue whose reply was lost rejects with a typed error; the task may still have been stored', async (t) => {
  // The enqueue also claimed the queue for this idle instance, and that reply is lost too:
  // the lease runs out unrenewed and the queue is taken over like after a lost claim reply.
  const leaseMs = 1000
  const { proxy, app } = await setup(t, leaseMs)
  const ran: number[] = []
  const step = app.fifo.define('step', { queue: 'victim' }, async (n: number) => { ran.push(n) })
  await app.ready()
  const dropped = proxy.dropReplyOf((args) => runsScript(args, 'enqueue', 'victim'))
  const err = await step(1).then(() => null, (e: unknown) => e as { code?: string })
  await dropped
  t.equal(err?.code, 'FST_FIFO_REDIS_UNAVAILABLE', 'the caller is told')
  // At-least-once from the caller's side: Redis ran the enqueue, so the task runs. A caller that
  // retries after such an error should pass a dedupeId to avoid running it twice.
  await until('the stored task runs', () => ran.length === 1, leaseMs + 5000)
  t.same(ran, [1])
  const again = await step.with({ dedupeId: 'once' })(2)
  const dup = await step.with({ dedupeId: 'once' })(2)
  t.equal(dup.id, again.id, 'a retry with a dedupeId returns the same task')
})
