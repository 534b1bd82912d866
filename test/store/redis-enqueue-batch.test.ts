import '../helpers/guard'
import Fastify from 'fastify'
import type { Redis } from 'ioredis'
import t from 'tap'
import fifo from '../../plugin'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

// How enqueues reach Redis (README "Performance", bench/README.md "http"): the calls of one turn of the
// event loop go as one script call; a lone or sequential caller sends at once; after a call that carried
// more than one task, the next call waits for the end of its turn too, so a burst is one call.

async function commandCalls (admin: Redis, command: string): Promise<number> {
  const line = (await admin.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
}
const scriptCalls = async (admin: Redis): Promise<number> => await commandCalls(admin, 'evalsha')

t.test('enqueue calls per burst and per sequential call; every caller gets its own stored task, in order', async (t) => {
  const redis = await startRedis()
  const admin = redis.client()
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    admin.disconnect()
    await redis.cleanup()
  })
  const prefix = uniquePrefix('batch')
  await app.register(fifo, { redis: redis.url, prefix, worker: false, dashboard: false })
  const job = app.fifo.define('job', { queue: (q: string, _n: number) => q }, async (_q: string, _n: number) => {})
  await app.ready()

  const burst = async (n: number, from: number): Promise<string[]> =>
    (await Promise.all(Array.from({ length: n }, async (_, i) => await job(`q${i % 3}`, from + i)))).map((r) => r.id)
  const calls0 = await scriptCalls(admin)
  const first = await burst(10, 0)
  const calls1 = await scriptCalls(admin)
  t.equal(calls1 - calls0, 2, 'the first burst: its first task at once (nothing was on the wire), the other 9 together at the end of the turn')
  const [incr1, incrby1] = [await commandCalls(admin, 'incr'), await commandCalls(admin, 'incrby')]
  const second = await burst(10, 10)
  const calls2 = await scriptCalls(admin)
  t.equal(calls2 - calls1, 1, 'after a call of several tasks, a burst is one call')
  // Inside that call: the 10 task numbers from one INCRBY, the pending count from another, no INCR.
  t.equal(await commandCalls(admin, 'incr') - incr1, 0, 'no INCR per task')
  t.equal(await commandCalls(admin, 'incrby') - incrby1, 2, 'one INCRBY for the task numbers, one for the pending count')
  t.same(second.map((id) => parseInt(id.split('-')[1], 36)), Array.from({ length: 10 }, (_, i) => 11 + i), 'the call\'s tasks numbered 11–20, in call order')
  const seq: string[] = []
  for (let i = 0; i < 4; i++) seq.push((await job('q0', 20 + i)).id)
  const calls3 = await scriptCalls(admin)
  t.equal(calls3 - calls2, 4, 'sequential calls: one call each (the first waits for the end of its turn, the rest go at once)')
  t.equal(new Set([...first, ...second, ...seq]).size, 24, 'each caller got its own task id')

  // Stored in call order within each queue.
  const q0 = await app.fifo.store.queueTasks('q0', 0, 100)
  t.same(q0.items.map((task) => (JSON.parse(task.payload) as unknown[])[1]), [0, 3, 6, 9, 10, 13, 16, 19, 20, 21, 22, 23])

  // A call's ids are `<queue number>-<task number in base 36>`, also where the task number carries into
  // the next digit (25–104 pass 36 and 72); five new queues start within the same call as tasks join
  // queues that already have some.
  const wide = (await Promise.all(Array.from({ length: 80 }, async (_, i) => await job(`w${i % 5}`, i)))).map((r) => r.id)
  t.same(wide.map((id) => id.split('-')[1]), Array.from({ length: 80 }, (_, i) => (25 + i).toString(36)), 'task numbers 25–104 in base 36')
  t.equal(new Set(wide.map((id) => id.split('-')[0])).size, 5, 'one queue number per new queue')
  const w1 = await app.fifo.store.queueTasks('w1', 0, 100)
  t.same(w1.items.map((task) => task.id), wide.filter((_, i) => i % 5 === 1), 'each queue holds its tasks in call order')
})
