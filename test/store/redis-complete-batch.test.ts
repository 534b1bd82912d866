import '../helpers/guard'
import t from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { scripts } from '../../plugin/store/redis/scripts'
import { keyBase } from '../../plugin/store/redis/keys'
import type { ClaimedTask } from '../../plugin/store/store'
import { startRedis, startRedisWithAdmin, uniquePrefix, type TestRedis } from '../helpers/redis-server'

// Completions made in one turn while another is on the wire go to Redis as
// one `complete` call (complete-batch.ts); each keeps its own fencing and reply.

/** Six tasks in queue `q`, claimed by `w` with the five behind the head (a lookahead, as pipelined acks do). */
async function sixClaimed (test: Pick<typeof t, 'teardown' | 'equal'>, url: string, prefix: string): Promise<{ store: RedisStore, c: ClaimedTask, ids: string[] }> {
  const store = new RedisStore({ redis: url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 10 })
  test.teardown(async () => await store.close())
  await store.connect()
  for (let n = 1; n <= 6; n++) await store.enqueue({ queue: 'q', name: 'job', payload: `[${n}]` })
  const c = await store.claim('w', 5000, undefined, 5)
  if (c === null) throw new Error('nothing to claim')
  const ids = [c.id, ...(c.following ?? []).map((f) => f.id)]
  test.equal(ids.length, 6)
  return { store, c, ids }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('completions of one turn: one call for those made while one is out, each fenced and answered on its own', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)
  const store = new RedisStore({ redis: redis.url, prefix: uniquePrefix('cb'), connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 10 })
  t.teardown(async () => await store.close())
  await store.connect()

  for (const q of ['a', 'b', 'c', 'd']) {
    await store.enqueue({ queue: q, name: 'job', payload: `["${q}1"]` })
    if (q !== 'd') await store.enqueue({ queue: q, name: 'job', payload: `["${q}2"]` })
  }
  const held = new Map<string, { id: string, token: string }>()
  for (let i = 0; i < 4; i++) {
    const c = await store.claim('w', 5000)
    if (c === null) throw new Error('nothing to claim')
    held.set(c.queue, { id: c.id, token: c.token })
  }
  const complete = scripts().get('complete')?.sha
  const monitor = await admin.monitor()
  t.teardown(() => monitor.disconnect())
  const calls: number[] = []
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'evalsha' && args[1] === complete) calls.push((args.length - 4) / 9)
  })
  const lease = (q: string): { queue: string, token: string } => ({ queue: q, token: held.get(q)?.token ?? '' })
  const id = (q: string): string => held.get(q)?.id ?? ''

  // One turn: the first goes at once (nothing on the wire), the next four wait for the end of the turn.
  const replies = await Promise.all([
    store.complete(lease('a'), id('a'), 'w', 5000, true),
    store.complete({ queue: 'b', token: '1' + lease('b').token }, id('b'), 'w', 5000, true),
    store.complete(lease('b'), id('b'), 'w', 5000, true),
    store.complete(lease('c'), id('c'), 'w', 5000, false),
    store.complete(lease('d'), id('d'), 'w', 5000, true),
  ])
  await sleep(50)
  t.same(calls, [1, 4], 'two calls: one completion, then the four made while it was out')
  t.match(replies[0], { ok: true, next: { queue: 'a', payload: '["a2"]', attempt: 1, token: lease('a').token } })
  t.same(replies[1], { ok: false, fenced: true }, 'a stale token in the batch is fenced, and changes nothing')
  t.match(replies[2], { ok: true, next: { queue: 'b', payload: '["b2"]', attempt: 1 } }, 'the valid completion of the same queue after it goes through')
  t.same(replies[3], { ok: true, next: null }, 'keep = false releases')
  t.same(replies[4], { ok: true, next: null }, 'an emptied queue')
  t.match(await store.getQueue('c'), { state: 'waiting', depth: 1 })
  t.equal(await store.getQueue('d'), null, 'the emptied queue is forgotten')

  // A completion sent again after its batch's reply was lost: the head it handed out comes back, nothing is removed twice.
  const again = await store.complete(lease('b'), id('b'), 'w', 5000, true)
  t.match(again, { ok: true, next: { payload: '["b2"]', attempt: 1 } })
  t.match(await store.getQueue('b'), { state: 'running', depth: 1 })
})

t.test('a run of one queue\'s completions in one call (pipelined acks): each goes through on the lease the one before kept; one that releases fences those after it', async (t) => {
  const redis: TestRedis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const { store, c, ids } = await sixClaimed(t, redis.url, uniquePrefix('cr'))
  const lease = { queue: 'q', token: c.token }
  // The first goes at once (nothing on the wire); the other four are one call.
  const replies = await Promise.all([
    store.complete(lease, ids[0], 'w', 5000, true),
    store.complete(lease, ids[1], 'w', 5000, true),
    store.complete(lease, ids[2], 'w', 5000, true),
    store.complete(lease, ids[3], 'w', 5000, false),
    store.complete(lease, ids[4], 'w', 5000, true),
  ])
  t.match(replies[1], { ok: true, next: { id: ids[2], attempt: 1, token: c.token } })
  t.match(replies[2], { ok: true, next: { id: ids[3], attempt: 1, token: c.token } }, 'kept on the lease the completion before it renewed')
  t.same(replies[3], { ok: true, next: null }, 'keep = false releases')
  t.same(replies[4], { ok: false, fenced: true }, 'the released lease fences the next completion of the same call')
  t.match(await store.getQueue('q'), { state: 'waiting', depth: 2 })
  const again = await store.claim('w', 5000)
  t.match(again, { id: ids[4], attempt: 1 }, 'the fenced task is the head again, its attempt counted once')
})

t.test('the complete script called directly, one queue\'s completions in one call: a repeated completion, a 0 ms lease that fences the next', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)
  const prefix = uniquePrefix('cz')
  const { store, c, ids } = await sixClaimed(t, redis.url, prefix)
  const completeLua = scripts().get('complete')?.lua ?? ''
  const one = (id: string, leaseMs: string, keep = '1'): string[] => ['q', c.token, 'w', leaseMs, keep, id, '0', '', '']
  // t1 kept; t1 again (its head is gone: answered as kept on the same lease); t2 kept; t3 kept with a 0 ms lease; t4 fenced.
  const r = await admin.eval(completeLua, 1, keyBase(prefix), ...one(ids[0], '5000'), ...one(ids[0], '5000'), ...one(ids[1], '5000'), ...one(ids[2], '0'), ...one(ids[3], '5000')) as unknown[][]
  t.equal(r[0][0], 1)
  t.equal(r[1][0], 1)
  t.equal(r[1][3], 1, 'the repeated completion\'s reply: attempt 1')
  t.equal(r[2][0], 1)
  t.equal(r[3][0], 1)
  t.same(r[4], [-1], 'the lease of 0 ms has expired: fenced')
  t.match(await store.getQueue('q'), { depth: 3 })
})
