import '../helpers/guard'
import t from 'tap'
import type { Redis } from 'ioredis'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { keyBase, redisKeys } from '../../plugin/store/redis/keys'
import { scripts } from '../../plugin/store/redis/scripts'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'

// The enqueue and complete scripts called directly, many tasks per call: every
// branch of enqueue's lazily built new-queue path in one call (handoff, claim on
// enqueue, paused, waiting, a dedupe hit), ids across a base-36 carry, and one
// queue's completions in one call (the lease read once per run of them).

t.test('scripts, many tasks in one call', async (t) => {
  const redis: TestRedis = await startRedis()
  const admin: Redis = redis.client()
  t.teardown(async () => {
    admin.disconnect()
    await redis.cleanup()
  })
  const enqueueLua = scripts().get('enqueue')?.lua ?? ''
  const completeLua = scripts().get('complete')?.lua ?? ''

  const task = (queue: string, n: number, dedupe = '', claim = ''): string[] => [queue, 'job', `[${n}]`, '', dedupe, '60000', claim]

  t.test('one enqueue call: handoff, claim on enqueue, paused, waiting, dedupe; ids across 1296', async (t) => {
    const prefix = uniquePrefix('one-call')
    const keys = redisKeys(prefix)
    const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 10 })
    t.teardown(async () => await store.close())
    await store.connect()
    await admin.sadd(keys.paused, 'P') // as pause leaves a queue it paused (pause needs an existing queue)
    await admin.set(keys.tseq, String(36 * 36 - 3))
    const [sec] = await admin.time()
    await admin.zadd(keys.idle, Number(sec) * 1000 + 60000, '3000\tidleW')
    const args = ['me', '3000',
      ...task('A', 1), ...task('A', 2), ...task('B', 3, '', '1'), ...task('P', 4),
      ...task('C', 5), ...task('D', 6, 'x'), ...task('E', 7, 'x'), ...task('A', 8)]
    const r = await admin.eval(enqueueLua, 1, keyBase(prefix), ...args) as unknown[]
    const numbers = [1293 + 1, 1293 + 2, 1293 + 3, 1293 + 4, 1293 + 5, 1293 + 6, null, 1293 + 7]
    t.equal(r.length, 8)
    const idOf = (x: unknown): string => typeof x === 'string' ? x : String((x as unknown[])[1])
    numbers.forEach((n, i) => { if (n !== null) t.equal(idOf(r[i]).split('-')[1], n.toString(36), `task ${i} id`) })
    t.type(r[0], 'string', 'A handed off: a bare id')
    t.type(r[1], 'string')
    t.equal((r[2] as unknown[])[0], 2, 'B claimed on enqueue')
    t.type(r[3], 'string', 'P paused: a bare id')
    t.type(r[4], 'string')
    t.type(r[5], 'string')
    t.same(r[6], [1, r[5], 'D', 'job'], 'dedupe hit within the call')
    t.equal(await admin.llen(`${keys.inbox}idleW`), 1, 'A went to the idle instance')
    t.same(await admin.lrange(keys.ready, 0, -1), ['C', 'D'], 'C and D wait; A, B are held, P is paused')
    t.equal(await admin.get(keys.pending), '7')
    t.equal(await admin.sismember(keys.paused, 'P'), 1)
    t.equal(await admin.zscore(keys.queues, 'P') !== null, true, 'P listed')
  })

  t.test('one complete call on one queue: zero lease, retried completion inside a run', async (t) => {
    const prefix = uniquePrefix('one-call')
    const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 10 })
    t.teardown(async () => await store.close())
    await store.connect()
    for (let n = 1; n <= 6; n++) await store.enqueue({ queue: 'q', name: 'job', payload: `[${n}]` })
    const c = await store.claim('w', 5000, undefined, 5)
    if (c === null) throw new Error('nothing to claim')
    const ids = [c.id, ...(c.following ?? []).map((f) => f.id)]
    const one = (id: string, leaseMs: string, keep = '1'): string[] => ['q', c.token, 'w', leaseMs, keep, id, '0', '', '']
    // t1 kept; t1 again (a retry: head is t2, handed back, lease rewritten with same flags); t2 kept; t3 kept with lease 0; t4 must be fenced.
    const r = await admin.eval(completeLua, 1, keyBase(prefix), ...one(ids[0], '5000'), ...one(ids[0], '5000'), ...one(ids[1], '5000'), ...one(ids[2], '0'), ...one(ids[3], '5000')) as unknown[][]
    t.equal(r[0][0], 1)
    t.equal(r[1][0], 1)
    t.equal(r[1][3], 1, 'retry reply: attempt 1')
    t.equal(r[2][0], 1)
    t.equal(r[3][0], 1)
    t.same(r[4], [-1], 'lease of 0 ms expired: fenced')
    t.match(await store.getQueue('q'), { depth: 3 })
  })
})
