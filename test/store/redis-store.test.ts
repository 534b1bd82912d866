import '../helpers/guard'
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { encodeTask } from '../../plugin/store/redis/codec'
import { queueKey, redisKeys } from '../../plugin/store/redis/keys'
import { scripts } from '../../plugin/store/redis/scripts'
import { startRedisWithAdmin, uniquePrefix } from '../helpers/redis-server'

// RedisStore behaviour the cross-store contract suite cannot see: script
// loading, the stored layout, corrupt records planted behind the store's back.

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('RedisStore', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)

  // Stores close with the subtest that opened them, before the server goes.
  async function open (tt: Test, prefix = uniquePrefix('rs'), deadLetterLimit = 100): Promise<RedisStore> {
    const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit })
    tt.teardown(async () => await store.close())
    await store.connect()
    return store
  }

  t.test('scripts are loaded at connect, get one key and rebuild every KEYS header name from it', async (t) => {
    const store = await open(t)
    const names = [...scripts().keys()].sort()
    t.same(names, ['claim', 'complete', 'delete-dead', 'enqueue', 'fail', 'find-outcome', 'get-queue', 'get-task', 'heartbeat',
      'leave', 'limit-acquire', 'limit-pause', 'limit-release', 'limit-renew', 'limit-resume', 'list-dead',
      'list-instances', 'list-limiters', 'list-queues', 'overview', 'park', 'pause', 'queue-tasks', 'release', 'remove-instance',
      'requeue-dead', 'resume', 'retry-head', 'skip-head', 'sweep', 'throttle', 'wake-throttled'])
    const all = [...scripts().values()]
    t.same(await admin.script('EXISTS', ...all.map((s) => s.sha)), all.map(() => 1), 'every script is in the script cache after connect')
    const client = store.client as unknown as Record<string, unknown>
    t.notOk(Object.keys(client).some((k) => k.startsWith('fifo_')), 'no command is defined on the client')
    const keys = redisKeys('x')
    for (const script of all) {
      t.equal(script.sha, createHash('sha1').update(script.lua).digest('hex'), `${script.name}: sha is the script's`)
      const prologue = script.keys.map((k) => `KEYS[1] .. '${keys[k].slice('{x}:'.length)}'`).join(', ')
      t.ok(script.lua.split('\n')[2] === `local KEYS = {${prologue}}`, `${script.name} rebuilds its KEYS from the one key (after the Dragonfly flag and versioned name lines)`)
      t.ok(script.lua.includes('local rcall = redis.call'), `${script.name} uses rcall`)
      t.notOk(/-- @include/.test(script.lua), `${script.name} has its includes expanded`)
      t.ok(script.keys.length > 0, `${script.name} declares its KEYS`)
    }
  })

  t.test('a script call sends the namespace base as its one key', async (t) => {
    const prefix = uniquePrefix('one')
    const store = await open(t, prefix)
    const monitor = await admin.monitor()
    t.teardown(() => monitor.disconnect())
    const seen: string[][] = []
    monitor.on('monitor', (_time: string, args: string[]) => { if (args[0]?.toLowerCase() === 'evalsha') seen.push(args) })
    await store.enqueue({ queue: 'q', name: 'job', payload: '[1]' })
    await store.claim('w', 5000)
    await sleep(50)
    t.equal(seen.length, 2)
    for (const args of seen) t.same(args.slice(2, 4), ['1', `{${prefix}}:`])
  })

  t.test('everything keeps working after SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)', async (t) => {
    const store = await open(t)
    await store.enqueue({ queue: 'q', name: 'job', payload: '[1]' })
    await store.enqueue({ queue: 'q', name: 'job', payload: '[2]' })
    await admin.script('FLUSH')
    const first = await store.claim('w', 5000)
    t.equal(first?.payload, '[1]')
    await admin.script('FLUSH')
    const done = await store.complete({ queue: 'q', token: first!.token }, first!.id, 'w', 5000, true)
    t.match(done, { ok: true, next: { payload: '[2]', attempt: 1, token: first!.token } })
    await admin.script('FLUSH')
    t.match(await store.getQueue('q'), { state: 'running', depth: 1 })
    await admin.script('FLUSH')
    t.match(await store.overview(), { queues: 1, running: 1, pendingTasks: 1 })
    // A second store (another process) after a flush loads the scripts again too.
    await admin.script('FLUSH')
    const other = await open(t)
    t.equal((await other.listQueues({ offset: 0, limit: 10 })).total, 0)
  })

  t.test('fencing: tokens only grow; a stale token changes nothing', async (t) => {
    const store = await open(t)
    for (let i = 0; i < 3; i++) await store.enqueue({ queue: 'f', name: 'job', payload: `[${i}]` })
    const a = await store.claim('w1', 150)
    t.ok(a)
    await sleep(250)
    t.same(await store.complete({ queue: 'f', token: a!.token }, a!.id, 'w1', 150, true), { ok: false, fenced: true }, 'an expired lease cannot acknowledge')
    t.same(await store.heartbeat({ id: 'w1', host: 'h', pid: 1, version: 'v', startedAt: 0, concurrency: 1, handlers: ['job'] }, [{ queue: 'f', token: a!.token }], 150), ['f'], 'nor extend')
    t.match(await store.sweep([]), { recovered: 1 })
    const b = await store.claim('w2', 5000)
    t.ok(BigInt(b!.token) > BigInt(a!.token), 'the new token is larger')
    t.equal(b!.attempt, 2, 'the crashed attempt stays counted')
    const stale = { queue: 'f', token: a!.token }
    t.same(await store.complete(stale, a!.id, 'w1', 5000, true), { ok: false, fenced: true })
    t.same(await store.fail(stale, { error: 'x', maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter' }), { ok: false, fenced: true })
    t.equal(await store.release(stale, false), false)
    t.equal(await store.park(stale, 'nope'), false)
    const row = await store.getQueue('f')
    t.match(row, { state: 'running', depth: 3, holder: 'w2', head: { attempts: 2, payload: '[0]' } }, 'nothing changed')
    t.equal((await store.listDead(0, 10)).total, 0)
    const kept = await store.complete({ queue: 'f', token: b!.token }, b!.id, 'w2', 5000, true)
    t.match(kept, { ok: true, next: { payload: '[1]', token: b!.token, attempt: 1 } }, 'keep renews the same lease and hands over the next head')
  })

  t.test('a task id names its queue; queues are forgotten when empty and get a new number later', async (t) => {
    const store = await open(t)
    const keys = store.keys
    const a = await store.enqueue({ queue: 'order:1', name: 'job', payload: '[1]' })
    const num = await admin.hget(keys.qid, 'order:1')
    t.ok(a.id.startsWith(`${num!}-`))
    const c = await store.claim('w', 5000)
    await store.complete({ queue: 'order:1', token: c!.token }, c!.id, 'w', 5000, true)
    t.equal(await admin.hget(keys.qid, 'order:1'), null, 'an empty queue leaves no trace')
    t.equal(await admin.exists(queueKey(keys, num!)), 0)
    t.equal(await admin.hlen(keys.qname), 0)
    t.equal(await admin.zcard(keys.queues), 0)
    const b = await store.enqueue({ queue: 'order:1', name: 'job', payload: '[2]' })
    t.not(b.id.split('-')[0], num, 'a new incarnation gets a new number')
  })

  t.test('a requeued dead letter keeps its id even when its queue was renumbered', async (t) => {
    const store = await open(t)
    const a = await store.enqueue({ queue: 'r', name: 'job', payload: '[1]' })
    const c = await store.claim('w', 5000)
    await store.fail({ queue: 'r', token: c!.token }, { error: 'no', maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter' })
    t.equal(await store.getQueue('r'), null)
    await store.enqueue({ queue: 'r', name: 'job', payload: '[2]' })
    const requeued = await store.requeueDead(a.id)
    t.same(requeued, { id: a.id, queue: 'r', name: 'job', duplicate: false })
    t.match(await store.getTask(a.id), { id: a.id, queue: 'r', where: 'pending', position: 1, attempts: 0 })
    t.equal(await admin.hget(store.keys.moved, a.id), 'r')
    const first = await store.claim('w', 5000)
    const next = await store.complete({ queue: 'r', token: first!.token }, first!.id, 'w', 5000, true)
    t.match(next, { ok: true, next: { id: a.id } })
    await store.complete({ queue: 'r', token: first!.token }, a.id, 'w', 5000, true)
    t.equal(await store.getTask(a.id), null)
    t.equal(await admin.hlen(store.keys.moved), 0, 'the note goes with the task')
  })

  t.test('a corrupt record is handed over as corrupt, dead-lettered, and readable everywhere', async (t) => {
    const store = await open(t)
    const keys = store.keys
    await store.enqueue({ queue: 'c', name: 'job', payload: '[1]' })
    await store.enqueue({ queue: 'c', name: 'job', payload: '[2]' })
    await store.enqueue({ queue: 'c', name: 'job', payload: '[3]' })
    const num = (await admin.hget(keys.qid, 'c'))!
    await admin.lset(queueKey(keys, num), 0, 'garbage without fields')
    await admin.lset(queueKey(keys, num), 1, encodeTask({ id: `${num}-zz`, name: 'job', enqueuedAt: Number.NaN, requestId: null, payload: '[2]' }))

    t.match(await store.getQueue('c'), { state: 'waiting', depth: 3, head: { id: '(unknown)', payload: 'garbage without fields' } }, 'reads do not throw')
    t.match((await store.queueTasks('c', 0, 10)).items.map((i) => i.id), ['(unknown)', `${num}-zz`, /.+/])
    t.match((await store.listQueues({ offset: 0, limit: 10 })).items, [{ name: 'c' }])
    t.ok(await store.overview())

    const claimed = await store.claim('w', 5000)
    t.match(claimed, { queue: 'c', corrupt: /fields/, attempt: 1 })
    const dead = await store.fail({ queue: 'c', token: claimed!.token }, { error: `FST_FIFO_CORRUPT_TASK: ${claimed!.corrupt!}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter', deadLetterNow: true })
    t.match(dead, { ok: true, outcome: 'dead' })
    const letters = await store.listDead(0, 10)
    t.equal(letters.total, 1)
    t.match(letters.items[0], { id: new RegExp(`^${num}-x`), queue: 'c', reason: /CORRUPT/, payload: 'garbage without fields' })
    t.match(await store.getDead(letters.items[0].id), { queue: 'c' })
    t.match(await store.getTask(letters.items[0].id), { where: 'dead' })
    await t.rejects(store.requeueDead(letters.items[0].id), { code: 'FST_FIFO_CONFLICT' }, 'a corrupt record stays dead')

    // The next head decodes badly too (enqueuedAt): complete hands it over as corrupt.
    const store2 = await open(t)
    await store2.enqueue({ queue: 'c2', name: 'job', payload: '[1]' })
    await store2.enqueue({ queue: 'c2', name: 'job', payload: '[2]' })
    const num2 = (await admin.hget(store2.keys.qid, 'c2'))!
    await admin.lset(queueKey(store2.keys, num2), 1, `${num2}-q\njob\nnot-a-time\n\n[2]`)
    const c2 = await store2.claim('w', 5000)
    const next = await store2.complete({ queue: 'c2', token: c2!.token }, c2!.id, 'w', 5000, true)
    t.match(next, { ok: true, next: { id: `${num2}-q`, corrupt: /enqueuedAt/ } })

    // A corrupt dead letter entry reads as something sensible.
    await admin.hset(keys.deadrec, 'bad-1', 'nonsense')
    await admin.lpush(keys.dead, 'bad-1')
    t.match((await store.listDead(0, 10)).items[0], { id: 'bad-1', reason: /corrupt/ })
    await t.rejects(store.requeueDead('bad-1'), { code: 'FST_FIFO_CONFLICT' })
    await store.deleteDead('bad-1')
  })

  t.test('pausing a running queue: its head finishes, then complete releases instead of going on', async (t) => {
    const store = await open(t)
    await store.enqueue({ queue: 'p', name: 'job', payload: '[1]' })
    await store.enqueue({ queue: 'p', name: 'job', payload: '[2]' })
    const c = await store.claim('w', 5000)
    await store.pause('p')
    t.match(await store.getQueue('p'), { state: 'running', paused: true })
    t.same(await store.complete({ queue: 'p', token: c!.token }, c!.id, 'w', 5000, true), { ok: true, next: null })
    t.match(await store.getQueue('p'), { state: 'paused', depth: 1, holder: null })
    t.equal(await store.claim('w', 5000), null)
    await store.resume('p')
    t.match(await store.claim('w', 5000), { payload: '[2]' })
  })

  t.test('a paused then resumed running queue goes on; complete reads the mark from its lease', async (t) => {
    const store = await open(t)
    for (let i = 0; i < 3; i++) await store.enqueue({ queue: 'pr', name: 'job', payload: `[${i}]` })
    const c = await store.claim('w', 5000)
    await store.pause('pr')
    await store.resume('pr')
    const next = await store.complete({ queue: 'pr', token: c!.token }, c!.id, 'w', 5000, true)
    t.match(next, { ok: true, next: { payload: '[1]' } }, 'not paused any more: keep goes on')
    t.same((await store.heartbeat({ id: 'w', host: 'h', pid: 1, version: 'v', startedAt: 0, concurrency: 1, handlers: [] }, [{ queue: 'pr', token: c!.token }], 5000)), [])
    await store.pause('pr')
    t.match(await store.getQueue('pr'), { state: 'running', paused: true, holder: 'w' }, 'the heartbeat kept the mark')
    t.same(await store.complete({ queue: 'pr', token: c!.token }, next.ok ? next.next!.id : '', 'w', 5000, true), { ok: true, next: null })
    t.match(await store.getQueue('pr'), { state: 'paused', depth: 1 })
  })

  t.test("the lease's `1` flag: complete skips rewriting the next head's attempt count only when it already reads 1", async (t) => {
    const store = await open(t)
    const keys = store.keys
    const flagsOf = async (queue: string): Promise<string | undefined> => (await admin.hget(keys.lease, queue))?.split(':')[3]
    for (let i = 0; i < 5; i++) await store.enqueue({ queue: 'h', name: 'job', payload: `[${i}]` })
    // [0] fails once, then succeeds on attempt 2: the next head must read attempt 1 with no last error.
    let c = await store.claim('w', 5000)
    t.equal(await flagsOf('h'), '1', 'a first attempt with no last error is marked')
    await store.fail({ queue: 'h', token: c!.token }, { error: 'boom', maxAttempts: 3, delayMs: 0, onExhausted: 'halt' })
    await store.sweep([])
    c = await store.claim('w', 5000)
    t.match(c, { payload: '[0]', attempt: 2, lastError: 'boom' })
    t.equal(await flagsOf('h'), '', 'a retried head is not marked')
    let r = await store.complete({ queue: 'h', token: c!.token }, c!.id, 'w', 5000, true)
    t.match(r, { ok: true, next: { payload: '[1]', attempt: 1 } })
    t.notOk(r.ok && r.next?.lastError !== undefined, 'no last error carried over')
    t.equal(await admin.hget(keys.heads, 'h'), '1', 'complete wrote the next head\'s count')
    t.equal(await flagsOf('h'), '1')
    t.match(await store.getQueue('h'), { head: { attempts: 1, lastError: null } })
    // Marked: the count is left as it is (it already reads 1).
    r = await store.complete({ queue: 'h', token: c!.token }, r.ok ? r.next!.id : '', 'w', 5000, true)
    t.match(r, { ok: true, next: { payload: '[2]', attempt: 1 } })
    t.equal(await admin.hget(keys.heads, 'h'), '1')
    // pause + resume while held drop the mark (safe): complete writes the count again.
    await store.pause('h')
    await store.resume('h')
    t.equal(await flagsOf('h'), '')
    await admin.hset(keys.heads, 'h', '1')
    r = await store.complete({ queue: 'h', token: c!.token }, r.ok ? r.next!.id : '', 'w', 5000, true)
    t.match(r, { ok: true, next: { payload: '[3]', attempt: 1 } })
    t.equal(await flagsOf('h'), '1')
    // A later claim after a lost lease counts the attempt as ever.
    await store.release({ queue: 'h', token: c!.token }, true)
    c = await store.claim('w', 5000)
    t.match(c, { payload: '[3]', attempt: 2 })
    t.equal(await flagsOf('h'), '', 'a second attempt is not marked')
  })

  t.test('a running queue is listed by its current head, though complete does not rewrite its score', async (t) => {
    for (const stop of ['read while running', 'fail', 'release', 'park', 'complete'] as const) {
      const store = await open(t)
      await store.enqueue({ queue: 'a', name: 'job', payload: '[1]' })
      await store.enqueue({ queue: 'a', name: 'job', payload: '[2]' })
      await sleep(5)
      await store.enqueue({ queue: 'b', name: 'job', payload: '[1]' })
      await sleep(5)
      await store.enqueue({ queue: 'a', name: 'job', payload: '[3]' })
      await store.enqueue({ queue: 'a', name: 'job', payload: '[4]' })
      let c = await store.claim('w', 5000)
      for (let i = 0; i < 2; i++) {
        const r = await store.complete({ queue: 'a', token: c!.token }, c!.id, 'w', 5000, true)
        c = r.ok ? r.next : null
      }
      t.equal(c!.payload, '[3]')
      const lease = { queue: 'a', token: c!.token }
      if (stop === 'fail') await store.fail(lease, { error: 'x', maxAttempts: 5, delayMs: 60_000, onExhausted: 'halt' })
      if (stop === 'release') await store.release(lease, false)
      if (stop === 'park') await store.park(lease, 'other')
      if (stop === 'complete') await store.complete(lease, c!.id, 'w', 5000, false)
      const names = (await store.listQueues({ offset: 0, limit: 10 })).items.map((r) => r.name)
      t.same(names, ['b', 'a'], `${stop}: a's head is younger than b's`)
    }
  })

  t.test('listQueues keeps urgency order and filters over many queues', async (t) => {
    const store = await open(t)
    const n = 300
    for (let i = 0; i < n; i++) await store.enqueue({ queue: `q${String(i).padStart(4, '0')}`, name: 'job', payload: '[]' })
    const halt = await store.claim('w', 5000)
    await store.fail({ queue: halt!.queue, token: halt!.token }, { error: 'x', maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
    const run = await store.claim('w', 5000)
    const all = await store.listQueues({ offset: 0, limit: 500 })
    t.equal(all.total, n)
    t.equal(all.items[0].name, halt!.queue, 'halted first')
    t.equal(all.items[0].state, 'halted')
    const rest = all.items.slice(1).map((r) => r.head!.enqueuedAt)
    t.same(rest, [...rest].sort((a, b) => a - b), 'then oldest head first')
    t.same((await store.listQueues({ state: 'running', offset: 0, limit: 10 })).items.map((r) => r.name), [run!.queue])
    const waiting = await store.listQueues({ state: 'waiting', offset: 10, limit: 5 })
    t.equal(waiting.total, n - 2)
    t.equal(waiting.items.length, 5)
    const search = await store.listQueues({ search: 'q01', offset: 0, limit: 500 })
    t.equal(search.total, 100)
    t.ok(search.items.every((r) => r.name.includes('q01')))
  })

  t.test('odd paging numbers read as empty pages, not errors', async (t) => {
    const store = await open(t)
    await store.enqueue({ queue: 'o', name: 'job', payload: '[]' })
    for (const offset of [1e20, Infinity, Number.NaN, -5, 2.5]) {
      t.ok(await store.listQueues({ offset, limit: 10 }), `listQueues offset ${offset}`)
      t.ok(await store.queueTasks('o', offset, 10), `queueTasks offset ${offset}`)
      t.ok(await store.listDead(offset, 10), `listDead offset ${offset}`)
    }
    t.equal((await store.listQueues({ offset: 0, limit: Infinity })).items.length, 1)
  })

  t.test('the dead letters are capped, newest first', async (t) => {
    const store = await open(t, uniquePrefix('cap'), 3)
    for (let i = 0; i < 5; i++) {
      await store.enqueue({ queue: `d${i}`, name: 'job', payload: `[${i}]` })
      const c = await store.claim('w', 5000)
      await store.fail({ queue: c!.queue, token: c!.token }, { error: `e${i}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter' })
    }
    const page = await store.listDead(0, 10)
    t.equal(page.total, 3)
    t.same(page.items.map((d) => d.reason), ['e4', 'e3', 'e2'])
    t.equal(await admin.hlen(store.keys.deadrec), 3, 'dropped entries leave no record behind')
  })

  t.test('a client with an ioredis keyPrefix: every key, including those built in Lua, gets it', async (t) => {
    const { Redis: RedisClient } = await import('ioredis')
    const client = new RedisClient(redis.url, { keyPrefix: 'app:' })
    t.teardown(() => client.disconnect())
    const prefix = uniquePrefix('kp')
    const store = new RedisStore({ redis: client, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 10 })
    t.teardown(async () => await store.close())
    await store.connect()
    const waiting = store.waitForWork(3000)
    const a = await store.enqueue({ queue: 'k', name: 'job', payload: '[1]', dedupeId: 'once', dedupeMs: 60_000 })
    t.equal(await waiting, true, 'the wake list is prefixed alike')
    t.match(await store.enqueue({ queue: 'k', name: 'job', payload: '[1]', dedupeId: 'once', dedupeMs: 60_000 }), { id: a.id, duplicate: true })
    const c = await store.claim('w', 5000)
    await store.fail({ queue: 'k', token: c!.token }, { error: 'x', maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter' })
    t.match(await store.getDead(a.id), { id: a.id, queue: 'k' })
    const keys = await admin.keys(`*${prefix}*`)
    t.ok(keys.length > 0)
    t.ok(keys.every((k) => k.startsWith(`app:{${prefix}}:`)), keys.join(' '))
  })

  t.test('keys all share the prefix hash tag', async (t) => {
    const prefix = uniquePrefix('tag')
    const keys = redisKeys(prefix)
    for (const key of Object.values(keys)) t.ok(key.startsWith(`{${prefix}}:`), key)
    t.throws(() => new RedisStore({ redis: redis.url, prefix: 'a{b}', connectTimeoutMs: 1, commandTimeoutMs: 1, deadLetterLimit: 1 }), { code: 'FST_FIFO_INVALID_OPTION' })
  })
})
