import '../helpers/guard'
import Fastify from 'fastify'
import t from 'tap'
import fifo, { MemoryStore, type Task } from '../../plugin'
import { backend, sleep, until, type Backend } from '../helpers/app'

// Waiting for a task's outcome (`wait` call option, `fifo.wait`) through the
// public API, on the memory store, Redis, and a partitioned Redis namespace.
type Kind = 'memory' | 'redis' | 'redis-partitioned'

async function setup (kind: Kind): Promise<{ b: Backend, store?: MemoryStore, extra: Record<string, unknown> }> {
  if (kind === 'memory') {
    const store = new MemoryStore()
    return { b: await backend('memory', store), store, extra: {} }
  }
  return { b: await backend('redis'), extra: kind === 'redis-partitioned' ? { partitions: 3 } : {} }
}

function gate (): { wait: Promise<void>, open: () => void } {
  let open = (): void => {}
  const wait = new Promise<void>((resolve) => { open = resolve })
  return { wait, open }
}

for (const kind of ['memory', 'redis', 'redis-partitioned'] as Kind[]) {
  t.test(kind, async (t) => {
    t.test('a route on instance A replies with what the task did on instance B, which holds the queue', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const a = await b.app({ ...extra, worker: false })
      const bApp = await b.app(extra)
      const ran: string[] = []
      let reserveA: Task<[string, number]> | null = null
      for (const [app, who] of [[a, 'A'], [bApp, 'B']] as const) {
        const reserve = app.fifo.define('reserve', { queue: (order: string) => `order:${order}` }, async (order: string, qty: number) => {
          ran.push(who)
          return { order, reserved: qty, by: app.fifo.instanceId }
        })
        if (who === 'A') reserveA = reserve
      }
      a.post('/checkout/:order', async (request) => {
        const { order } = request.params as { order: string }
        const done = await request.fifo.enqueue(reserveA!.with({ wait: 5000 }), order, 2)
        return { status: done.status, result: done.status === 'succeeded' ? done.result : null, queue: done.queue }
      })
      await a.ready()
      await bApp.ready()
      const res = await a.inject({ method: 'POST', url: '/checkout/o-1' })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { status: 'succeeded', queue: 'order:o-1', result: { order: 'o-1', reserved: 2, by: bApp.fifo.instanceId } })
      t.same(ran, ['B'])
    })

    t.test('50 waiters on one queue each get their own result; undefined comes back as null', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      const hold = gate()
      const step = app.fifo.define('step', { queue: 'q' }, async (n: number) => {
        await hold.wait
        return n === 0 ? undefined : { n, square: n * n }
      })
      await app.ready()
      const waits = Array.from({ length: 51 }, async (_, n) => await step.with({ wait: 10_000 })(n))
      await sleep(20)
      hold.open()
      const outcomes = await Promise.all(waits)
      t.same(outcomes[0], { ...outcomes[0], status: 'succeeded', result: null, queue: 'q', name: 'step', duplicate: false })
      for (let n = 1; n <= 50; n++) {
        const o = outcomes[n]
        t.equal(o.status, 'succeeded')
        if (o.status === 'succeeded') t.same(o.result, { n, square: n * n }, `waiter ${n} gets its own result`)
      }
      t.equal(new Set(outcomes.map((o) => o.id)).size, 51)
      // The outcome is kept: a later wait on the id gets it again.
      t.same(await app.fifo.wait(outcomes[7].id, { timeoutMs: 1000 }), { id: outcomes[7].id, queue: 'q', status: 'succeeded', result: { n: 7, square: 49 } })
    })

    t.test('a timeout rejects with FST_FIFO_WAIT_TIMEOUT and the task still runs; fifo.wait picks it up again', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      const hold = gate()
      let ran = 0
      const slow = app.fifo.define('slow', { queue: 'slow' }, async () => {
        await hold.wait
        ran++
        return 'done'
      })
      await app.ready()
      const err = await slow.with({ wait: 50 })().then(() => null, (e: unknown) => e as Error & { code: string, taskId: string })
      t.equal(err?.code, 'FST_FIFO_WAIT_TIMEOUT')
      t.match(err?.message, /still queued and will run/)
      t.equal(ran, 0)
      const later = app.fifo.wait(err!.taskId, { timeoutMs: 5000 })
      hold.open()
      t.same(await later, { id: err!.taskId, queue: 'slow', status: 'succeeded', result: 'done' })
      t.equal(ran, 1)
    })

    t.test('a halted task\'s waiter gets the halt; a dead-lettered one gets that', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      const halts = app.fifo.define('halts', { queue: 'h', attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, async () => { throw new Error('out of stock') })
      const dies = app.fifo.define('dies', { queue: 'd', attempts: 1, onExhausted: 'dead-letter' }, async () => { throw new Error('card declined') })
      await app.ready()
      const halted = await halts.with({ wait: 5000 })()
      t.match(halted, { status: 'halted', queue: 'h', error: /out of stock/ })
      const dead = await dies.with({ wait: 5000 })()
      t.match(dead, { status: 'dead-lettered', queue: 'd', error: /card declined/ })
    })

    t.test('a result over maxResultBytes or not JSON: the task succeeds, the waiter gets FST_FIFO_RESULT_REFUSED', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ ...extra, maxResultBytes: 100 })
      const after: number[] = []
      const big = app.fifo.define('big', { queue: 'r' }, async () => 'x'.repeat(500))
      const odd = app.fifo.define('odd', { queue: 'r' }, async () => new Map())
      const next = app.fifo.define('next', { queue: 'r' }, async () => { after.push(1) })
      await app.ready()
      const e1 = await big.with({ wait: 5000 })().then(() => null, (e: Error & { code: string }) => e)
      t.equal(e1?.code, 'FST_FIFO_RESULT_REFUSED')
      t.match(e1?.message, /succeeded.*100 byte limit/)
      const e2 = await odd.with({ wait: 5000 })().then(() => null, (e: Error & { code: string }) => e)
      t.equal(e2?.code, 'FST_FIFO_RESULT_REFUSED')
      t.match(e2?.message, /not plain JSON/)
      await next()
      await until('the queue goes on', () => after.length === 1)
    })

    t.test('bad wait options are refused with typed errors', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      const x = app.fifo.define('x', { queue: 'x' }, async () => {})
      await app.ready()
      t.throws(() => x.with({ wait: 0 }), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /"wait".*1 to 300000, got 0/ })
      t.throws(() => x.with({ wait: '5' as unknown as number }), { code: 'FST_FIFO_INVALID_CALL_OPTION' })
      await t.rejects(app.fifo.wait('', { timeoutMs: 10 }), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /taskId/ })
      await t.rejects(app.fifo.wait('1-1', { timeoutMs: 1e9 }), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /timeoutMs/ })
    })

    t.test('fifo.wait on a task enqueued without wait is refused at once, naming it; an unknown or settled id is not found', async (t) => {
      const { b, store, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      const hold = gate()
      let ran = 0
      const job = app.fifo.define('job', { queue: 'j', attempts: 1, onExhausted: 'dead-letter' }, async (fail: boolean) => {
        await hold.wait
        ran++
        if (fail) throw new Error('no')
        return 'ok'
      })
      await app.ready()
      const running = await job(false)
      const queued = await job(false)
      const dies = await job(true)
      const started = Date.now()
      const refused = await app.fifo.wait(queued.id, { timeoutMs: 60_000 }).then(() => null, (e: Error & { code: string, statusCode: number }) => e)
      t.equal(refused?.code, 'FST_FIFO_NOT_WAITED')
      t.equal(refused?.statusCode, 409)
      t.equal(refused?.message, `task ${queued.id} on queue "j" is queued, but it was not enqueued with the wait call option, so its outcome is not kept and cannot be waited for`)
      await t.rejects(app.fifo.wait(running.id, { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_WAITED' }, 'the running head too')
      await job.with({ dedupeId: 'once' })(false)
      await t.rejects(job.with({ dedupeId: 'once', wait: 60_000 })(false), { code: 'FST_FIFO_NOT_WAITED' }, 'a waited duplicate of an unwaited task')
      t.ok(Date.now() - started < 30_000, 'refused without waiting out timeoutMs')
      hold.open()
      await until('all four ran', () => ran === 4)
      await until('the failing one is dead-lettered', async () => (await app.fifo.store.getTask(dies.id))?.where === 'dead')
      await t.rejects(app.fifo.wait(dies.id, { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_WAITED', message: new RegExp(`task ${dies.id} on queue "j" is in the dead letters`) })
      await t.rejects(app.fifo.wait(running.id, { timeoutMs: 60_000 }), {
        code: 'FST_FIFO_NOT_FOUND',
        statusCode: 404,
        message: `task ${running.id}: no outcome is kept for it and it is neither queued nor dead-lettered (an unknown id, a task that settled without the wait call option, or one whose outcome expired 5 minutes after it settled)`,
      }, 'a task that succeeded without wait')
      await t.rejects(app.fifo.wait('9zz-9zz', { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_FOUND', message: /^task 9zz-9zz: no outcome is kept/ }, 'an unknown id')
      if (store !== undefined) {
        t.equal(store.keptOutcomes, 0, 'nothing was kept by the refusals')
        return
      }
      const client = b.redis!.client()
      t.teardown(() => { client.disconnect() })
      t.same(await client.keys('*res:*'), [], 'nothing was written for the unwaited tasks or by the refusals')
      // A waited task that was dead-lettered, once its outcome is gone (kept 5 minutes; deleted here).
      const waited = await job.with({ wait: 5000 })(true)
      t.equal(waited.status, 'dead-lettered')
      const keys = await client.keys('*res:*')
      t.equal(keys.length, 1)
      await client.del(...keys)
      await t.rejects(app.fifo.wait(waited.id, { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_FOUND', message: new RegExp(`task ${waited.id} on queue "j" is in the dead letters, and its outcome is no longer kept`) })
    })

    t.test('closing the waiting instance ends only its wait: the task runs normally', async (t) => {
      const { b, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const a = await b.app({ ...extra, worker: false })
      const bApp = await b.app(extra)
      const hold = gate()
      const ran: string[] = []
      let taskA: Task<[string]> | null = null
      for (const app of [a, bApp]) {
        const task = app.fifo.define('job', { queue: 'j' }, async (v: string) => {
          await hold.wait
          ran.push(v)
        })
        if (app === a) taskA = task
      }
      await a.ready()
      await bApp.ready()
      const waiting = taskA!.with({ wait: 30_000 })('v1').then(() => null, (e: Error & { code: string }) => e)
      await sleep(50)
      await a.close()
      t.equal((await waiting)?.code, 'FST_FIFO_WAIT_TIMEOUT', 'the wait ends with the instance')
      hold.open()
      await until('the task runs on B', () => ran.length === 1)
      t.same(ran, ['v1'])
    })

    t.test('tasks nobody waits on leave no outcome behind; a waited one leaves one that expires', async (t) => {
      const { b, store, extra } = await setup(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app(extra)
      let ran = 0
      const plain = app.fifo.define('plain', { queue: (n: number) => `p${n % 5}` }, async (_n: number) => { ran++; return 'value' })
      await app.ready()
      for (let n = 0; n < 40; n++) await plain(n)
      await until('all ran', () => ran === 40)
      await sleep(20)
      const outcomeKeys = async (): Promise<Array<{ key: string, ttl: number }>> => {
        if (store !== undefined) return Array.from({ length: store.keptOutcomes }, () => ({ key: 'memory', ttl: 1 }))
        const client = b.redis!.client()
        try {
          const keys: string[] = []
          let cursor = '0'
          do {
            const [next, batch] = await client.scan(cursor, 'MATCH', '*res:*', 'COUNT', 1000)
            cursor = next
            keys.push(...batch)
          } while (cursor !== '0')
          return await Promise.all(keys.map(async (key) => ({ key, ttl: await client.pttl(key) })))
        } finally {
          client.disconnect()
        }
      }
      t.same(await outcomeKeys(), [], 'no outcome stored for 40 tasks nobody waited on')
      await plain.with({ wait: 5000 })(1)
      const kept = await outcomeKeys()
      t.equal(kept.length, 1, 'one outcome kept for the waited task')
      t.ok(kept[0].ttl > 0 && kept[0].ttl <= 300_000, 'with a TTL of at most 5 minutes')
    })
  })
}

t.test('maxResultBytes below 16 bytes is refused at register', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(fifo, { maxResultBytes: 8 } as never).ready() }, { code: 'FST_FIFO_INVALID_OPTION', message: /maxResultBytes/ })
})
