import '../helpers/guard'
import t from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { keyBase, redisKeys } from '../../plugin/store/redis/keys'
import { scripts } from '../../plugin/store/redis/scripts'
import { startRedisWithAdmin, uniquePrefix } from '../helpers/redis-server'

// The enqueue script called directly with many tasks: every branch of its lazily
// built new-queue path in one call (handoff, claim on enqueue, paused, waiting,
// a dedupe hit), and ids across a base-36 carry.

t.test('enqueue script, many tasks in one call', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)
  const enqueueLua = scripts().get('enqueue')?.lua ?? ''

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
})
