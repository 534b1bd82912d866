import '../helpers/guard'
import { AsyncLocalStorage } from 'node:async_hooks'
import t from 'tap'
import { taskContext, MemoryStore, FST_FIFO_UNRECOVERABLE } from '../../plugin'
import { backend, sleep, until, useCluster, type StoreKind } from '../helpers/app'
import { startCluster } from '../helpers/redis-cluster'

// The engine's behaviour through the public API, on both stores, and on a
// real 3-master Redis Cluster with partitions: 12 (one cluster for all its cases).
for (const kind of ['memory', 'redis', 'cluster'] as StoreKind[]) {
  t.test(kind, async (t) => {
    if (kind === 'cluster') {
      const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
      useCluster(cluster)
      t.teardown(async () => {
        useCluster(null)
        await cluster.cleanup()
      })
    }
    t.test('a defined task enqueues, resolves once stored, and runs with its arguments and context', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      const seen: unknown[] = []
      const reserve = app.fifo.define('reserve', { queue: (id: string) => `order:${id}` }, async (id: string, qty: number) => {
        const ctx = taskContext()
        seen.push({ id, qty, queue: ctx?.queue, attempt: ctx?.attempt, name: ctx?.name, aborted: ctx?.signal.aborted, taskId: ctx?.id })
      })
      await app.ready()
      const res = await reserve('o-1', 2)
      t.match(res, { queue: 'order:o-1', name: 'reserve', duplicate: false })
      t.type(res.id, 'string')
      await until('the task runs', () => seen.length === 1)
      t.same(seen[0], { id: 'o-1', qty: 2, queue: 'order:o-1', attempt: 1, name: 'reserve', aborted: false, taskId: res.id })
      t.equal(taskContext(), null, 'no context outside a handler')
    })

    t.test('each queue runs in enqueue order, one task at a time, while queues run in parallel', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 4, burst: 3 })
      const log: Record<string, number[]> = {}
      let running: Record<string, number> = {}
      let overlap = 0
      let maxParallel = 0
      let parallel = 0
      const step = app.fifo.define('step', { queue: (q: string) => q }, async (q: string, n: number) => {
        running[q] = (running[q] ?? 0) + 1
        if (running[q] > 1) overlap++
        parallel++
        maxParallel = Math.max(maxParallel, parallel)
        await sleep(Math.random() * 3)
        ;(log[q] ??= []).push(n)
        running[q]--
        parallel--
      })
      await app.ready()
      const queues = ['a', 'b', 'c', 'd', 'e', 'f']
      for (let n = 0; n < 20; n++) {
        await Promise.all(queues.map(async (q) => await step(q, n)))
      }
      await until('all tasks ran', () => queues.every((q) => log[q]?.length === 20), 15000)
      for (const q of queues) t.same(log[q], Array.from({ length: 20 }, (_, i) => i), `queue ${q} in order`)
      t.equal(overlap, 0, 'no two tasks of one queue overlapped')
      t.ok(maxParallel > 1, `queues ran in parallel (max ${maxParallel})`)
      running = {}
    })

    t.test('a failed task retries at the head: later tasks wait, other queues go on', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 2 })
      const order: string[] = []
      const attempts: number[] = []
      const flaky = app.fifo.define('flaky', { queue: 'q1', attempts: 5, backoff: 30 }, async (label: string) => {
        if (label === 'first') {
          attempts.push(taskContext()!.attempt)
          if (attempts.length < 3) throw new Error(`boom ${attempts.length}`)
        }
        order.push(label)
      })
      const other: string[] = []
      const side = app.fifo.define('side', { queue: 'q2' }, async (label: string) => { other.push(label) })
      await app.ready()
      await flaky('first')
      await flaky('second')
      await flaky('third')
      await side('x')
      await until('q2 ran while q1 was retrying', () => other.length === 1)
      await until('q1 finished', () => order.length === 3, 5000)
      t.same(attempts, [1, 2, 3], 'attempt numbers seen by the handler')
      t.same(order, ['first', 'second', 'third'], 'the retried task kept its place')
    })

    t.test('exhausted attempts halt the queue with the error visible; retry and skip unblock it', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      let failFirst = true
      const ran: string[] = []
      const job = app.fifo.define('job', { queue: 'halting', attempts: 2, backoff: 10 }, async (label: string) => {
        if (label === 'bad' && failFirst) throw new Error('card declined')
        ran.push(label)
      })
      await app.ready()
      const bad = await job('bad')
      await job('after')
      const halted = await until('the queue halts', async () => {
        const q = await app.fifo.store.getQueue('halting')
        return q?.state === 'halted' ? q : null
      })
      t.equal(halted?.head?.id, bad.id)
      t.match(halted?.head?.lastError, /card declined/)
      t.equal(halted?.depth, 2)
      t.same(ran, [], 'nothing behind the halted head ran')
      const ov = await app.fifo.store.overview()
      t.equal(ov.halted, 1)
      await sleep(100)
      t.same(ran, [], 'still nothing ran')

      failFirst = false
      await app.fifo.store.retryHead('halting')
      await until('retry unblocks', () => ran.length === 2)
      t.same(ran, ['bad', 'after'])

      failFirst = true
      const bad2 = await job('bad')
      await job('after2')
      await until('halts again', async () => (await app.fifo.store.getQueue('halting'))?.state === 'halted')
      const dead = await app.fifo.store.skipHead('halting', 'skipped by test')
      t.equal(dead.id, bad2.id)
      await until('skip unblocks', () => ran.includes('after2'))
      const dl = await app.fifo.store.listDead(0, 10)
      t.equal(dl.items[0].id, bad2.id)
    })

    t.test("onExhausted 'dead-letter' moves on; the dead letter can be requeued; unrecoverable errors go at once", async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      let fail = true
      const ran: string[] = []
      const runs: Record<string, number> = {}
      const job = app.fifo.define('dl', { queue: 'dlq', attempts: 2, backoff: 5, onExhausted: 'dead-letter' }, async (label: string) => {
        runs[label] = (runs[label] ?? 0) + 1
        if (label === 'fatal') throw new FST_FIFO_UNRECOVERABLE('account closed')
        if (label === 'bad' && fail) throw new Error('nope')
        ran.push(label)
      })
      await app.ready()
      const bad = await job('bad')
      await job('next')
      await until('the queue moved on', () => ran.includes('next'))
      t.equal(runs.bad, 2, 'used both attempts')
      const dead = await app.fifo.store.getDead(bad.id)
      t.match(dead, { id: bad.id, queue: 'dlq', name: 'dl', attempts: 2 })
      t.match(dead?.reason, /nope/)
      fail = false
      await app.fifo.store.requeueDead(bad.id)
      await until('the requeued task runs', () => ran.includes('bad'))
      t.equal(await app.fifo.store.getDead(bad.id), null)

      const fatal = await job('fatal')
      await until('fatal dead-lettered', async () => await app.fifo.store.getDead(fatal.id))
      t.equal(runs.fatal, 1, 'an unrecoverable error is not retried')
    })

    t.test('dedupe: the same id inside the window adds one task', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ worker: false })
      const pay = app.fifo.define('pay', { queue: 'payments' }, async (_amount: number) => {})
      await app.ready()
      const first = await pay.with({ dedupeId: 'pay-1' })(10)
      const second = await pay.with({ dedupeId: 'pay-1' })(10)
      const other = await pay.with({ dedupeId: 'pay-2', dedupeMs: 60_000 })(10)
      t.equal(second.id, first.id)
      t.equal(second.duplicate, true)
      t.not(other.id, first.id)
      const q = await app.fifo.store.getQueue('payments')
      t.equal(q?.depth, 2)
      t.throws(() => pay.with({ dedupeId: 'x', nope: 1 } as never), { code: 'FST_FIFO_INVALID_CALL_OPTION' })
      t.throws(() => pay.with({ dedupeMs: 5 }), { code: 'FST_FIFO_INVALID_CALL_OPTION' })
    })

    t.test('request.fifo.enqueue carries the request id to the task', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      const seen: Array<string | null> = []
      const notify = app.fifo.define('notify', { queue: 'n' }, async () => { seen.push(taskContext()!.requestId) })
      app.post('/go', async (request) => await request.fifo.enqueue(notify))
      await app.ready()
      const res = await app.inject({ method: 'POST', url: '/go', headers: { 'request-id': 'x' } })
      t.equal(res.statusCode, 200)
      await until('task ran', () => seen.length === 1)
      t.type(seen[0], 'string')
      t.ok((seen[0] ?? '').length > 0)
      await t.rejects(app.fifo.enqueue((async () => {}) as never), { code: 'FST_FIFO_NOT_A_TASK' })
    })

    t.test('timeoutMs fires the signal and fails the run', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      const reasons: string[] = []
      let calls = 0
      const slow = app.fifo.define('slow', { queue: 's', timeoutMs: 50, attempts: 2, backoff: 5, onExhausted: 'dead-letter' }, async () => {
        calls++
        const signal = taskContext()!.signal
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => { reasons.push((signal.reason as { code: string }).code); resolve() }))
      })
      await app.ready()
      const task = await slow()
      await until('dead-lettered after two timeouts', async () => await app.fifo.store.getDead(task.id))
      t.equal(calls, 2)
      t.same(reasons, ['FST_FIFO_TIMEOUT', 'FST_FIFO_TIMEOUT'])
    })

    t.test('a task whose handler this instance lacks waits for an instance that has it', async (t) => {
      const shared = kind === 'memory' ? new MemoryStore({}) : undefined
      const b = await backend(kind, shared)
      t.teardown(() => b.cleanup())
      const producer = await b.app({ worker: false })
      const task = producer.fifo.define('special', { queue: 'sp' }, async () => {})
      await producer.ready()
      const lacking = await b.app()
      lacking.fifo.define('other', { queue: 'o' }, async () => {})
      await lacking.ready()
      await task()
      await until('the queue says its handler is missing', async () => (await lacking.fifo.store.getQueue('sp'))?.state === 'missing-handler')
      const q = await lacking.fifo.store.getQueue('sp')
      t.equal(q?.missingHandler, 'special')
      t.equal(q?.depth, 1, 'the task is not dropped')
      const ran: string[] = []
      const capable = await b.app()
      capable.fifo.define('special', { queue: 'sp' }, async () => { ran.push('special') })
      await capable.ready()
      await until('an instance with the handler runs it', () => ran.length === 1)
    })

    t.test('graceful close hands held queues to another instance at once', async (t) => {
      const shared = kind === 'memory' ? new MemoryStore({}) : undefined
      const b = await backend(kind, shared)
      t.teardown(() => b.cleanup())
      const started: Array<[string, number, number]> = []
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      const a = await b.app({ leaseMs: 30_000, closeTimeoutMs: 50 })
      const stepA = a.fifo.define('step', { queue: 'h' }, async (n: number) => {
        started.push(['a', n, taskContext()!.attempt])
        if (n === 0) await gate
      })
      await a.ready()
      await stepA(0)
      await stepA(1)
      await until('a holds the queue', () => started.length === 1)
      const other = await b.app({ leaseMs: 30_000 })
      other.fifo.define('step', { queue: 'h' }, async (n: number) => { started.push(['b', n, taskContext()!.attempt]) })
      await other.ready()
      const closing = a.close()
      const t0 = Date.now()
      await closing
      await until('the other instance continues', () => started.some(([who, n]) => who === 'b' && n === 1), 3000)
      t.ok(Date.now() - t0 < 1000, 'taken over within a second (lease is 30 s)')
      t.same(started.filter(([who]) => who === 'b').map(([, n, attempt]) => [n, attempt]), [[0, 2], [1, 1]], 'the aborted head ran again (attempt 2), then the next')
      release()
    })

    t.test('an idle instance runs a task it enqueued itself without a claim round trip, outside the caller\'s context', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      // A long idle wait, so the claim loop only claims when woken.
      const app = await b.app({ concurrency: 2, sweepMs: 5000 })
      const callerContext = new AsyncLocalStorage<string>()
      const seen: Array<{ n: number, caller: string | undefined, attempt: number | undefined }> = []
      let gate: () => void = () => {}
      const blocked = new Promise<void>((resolve) => { gate = resolve })
      const step = app.fifo.define('step', { queue: (q: string) => q }, async (q: string, n: number) => {
        seen.push({ n, caller: callerContext.getStore(), attempt: taskContext()?.attempt })
        if (q.startsWith('slow')) await blocked
      })
      await app.ready()
      await sleep(100)
      const store = app.fifo.store
      let claims = 0
      const claim = store.claim.bind(store)
      store.claim = async (owner, leaseMs) => { claims++; return await claim(owner, leaseMs) }
      await callerContext.run('request-1', async () => { await step('a', 1) })
      await until('the task ran', () => seen.length === 1)
      t.same(seen[0], { n: 1, caller: undefined, attempt: 1 }, 'ran as attempt 1 without the caller\'s async context')
      t.equal(claims, 0, 'no claim call: the enqueue itself leased the queue')
      // Both slots busy: the next task waits for the ordinary claim path.
      await step('slow', 1)
      await step('slow2', 1)
      await until('both slow tasks hold a slot', () => seen.length === 3)
      await step('b', 1)
      await sleep(100)
      t.equal(seen.length, 3, 'no free slot, so it waits')
      gate()
      await until('it runs once a slot frees up', () => seen.length === 4)
      t.ok(claims > 0, 'claimed by the claim loop')
    })

    t.test('pipelinedAcks (opt-in): tasks run ahead of their stored completions, in order, once each; a failure retries in place', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 2, pipelinedAcks: 8, burst: 30 })
      const log: Record<string, number[]> = {}
      const attempts: Record<string, number> = {}
      let running = 0
      let overlap = 0
      app.fifo.define('step', { queue: (q: string) => q, attempts: 3, backoff: 5 }, async (q: string, n: number) => {
        if (++running > 2) overlap++
        const key = `${q}#${n}`
        attempts[key] = taskContext()!.attempt
        // Task 37 of queue b fails on its first attempt, deep inside a pipelined run.
        if (q === 'b' && n === 37 && attempts[key] === 1) { running--; throw new Error('once') }
        ;(log[q] ??= []).push(n)
        running--
      })
      // Pre-fill before the worker starts, so runs are long and pipelining kicks in.
      const store = app.fifo.store
      for (const q of ['a', 'b', 'c']) {
        for (let n = 0; n < 100; n++) await store.enqueue({ queue: q, name: 'step', payload: JSON.stringify([q, n]) })
      }
      // The worker asks for a lookahead only on the completions it waits for; the others it pipelines.
      let pipelined = 0
      let awaited = 0
      const complete = store.complete.bind(store)
      store.complete = async (lease, taskId, owner, leaseMs, keep, lookahead) => {
        if (lookahead === undefined) pipelined++
        else awaited++
        return await complete(lease, taskId, owner, leaseMs, keep, lookahead)
      }
      await app.ready()
      await until('all ran', async () => (await store.overview()).pendingTasks === 0 && ['a', 'b', 'c'].every((q) => log[q]?.length === 100), 15000)
      t.ok(pipelined > 3 * awaited, `most completions were pipelined (${pipelined} sent without waiting, ${awaited} awaited)`)
      for (const q of ['a', 'b', 'c']) t.same(log[q], Array.from({ length: 100 }, (_, i) => i), `queue ${q} in order, each task once`)
      t.equal(attempts['b#37'], 2, 'the failed task ran again at the head')
      t.equal(attempts['b#38'], 1, 'the task behind it waited')
      t.equal(overlap, 0)
      t.equal((await store.listDead(0, 10)).total, 0)
    })

    t.test('fairness: with more runnable queues than slots, a holder gives its queue back after a burst', async (t) => {
      const b = await backend(kind, kind === 'memory' ? new MemoryStore({}) : undefined)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 1, burst: 3, worker: false })
      const ran: string[] = []
      const job = app.fifo.define('fair', { queue: (q: string) => q }, async (q: string) => { ran.push(q) })
      await app.ready()
      for (let i = 0; i < 9; i++) {
        await job('x')
        await job('y')
      }
      const worker = await b.app({ concurrency: 1, burst: 3 })
      worker.fifo.define('fair', { queue: (q: string) => q }, async (q: string) => { ran.push(q) })
      await worker.ready()
      await until('all ran', () => ran.length === 18)
      const runs: number[] = []
      let last = ''
      for (const q of ran) {
        if (q === last) runs[runs.length - 1]++
        else runs.push(1)
        last = q
      }
      t.ok(runs.every((n) => n <= 3), `no queue ran more than a burst in a row: ${JSON.stringify(runs)}`)
      t.ok(runs.length >= 6, 'the queues took turns')
    })

    t.test('bad input is refused with a typed error and nothing is stored', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ worker: false, maxPayloadBytes: 1024 })
      const fixed = app.fifo.define('fixed', { queue: 'fixed' }, async (..._args: unknown[]) => {})
      const keyed = app.fifo.define('keyed', { queue: (k: unknown) => k as string }, async (_k: unknown) => {})
      await app.ready()
      class Money { amount = 1 }
      const circular: Record<string, unknown> = {}
      circular.self = circular
      const sparse = [1, , 3] // eslint-disable-line no-sparse-arrays
      let deep: unknown = 1
      for (let i = 0; i < 100; i++) deep = [deep]
      const cases: Array<[string, unknown[], string, RegExp]> = [
        ['function', [() => 1], 'FST_FIFO_INVALID_ARGUMENT', /#1 is a function/],
        ['symbol', [{ a: Symbol('s') }], 'FST_FIFO_INVALID_ARGUMENT', /#1 at \.a is a Symbol/],
        ['bigint', [1, 2n], 'FST_FIFO_INVALID_ARGUMENT', /#2 is a BigInt/],
        ['circular', [circular], 'FST_FIFO_INVALID_ARGUMENT', /#1 at \.self is a circular reference/],
        ['undefined in array', [[1, undefined]], 'FST_FIFO_INVALID_ARGUMENT', /#1 at \[1\] is undefined/],
        ['sparse array', [sparse], 'FST_FIFO_INVALID_ARGUMENT', /#1 at \[1\] is a hole/],
        ['NaN', [{ x: [NaN] }], 'FST_FIFO_INVALID_ARGUMENT', /#1 at \.x\[0\] is NaN/],
        ['Infinity', [Infinity], 'FST_FIFO_INVALID_ARGUMENT', /is Infinity/],
        ['class instance', [new Money()], 'FST_FIFO_INVALID_ARGUMENT', /instance of Money/],
        ['Date', [new Date()], 'FST_FIFO_INVALID_ARGUMENT', /instance of Date.*toISOString/],
        ['Map', [new Map()], 'FST_FIFO_INVALID_ARGUMENT', /instance of Map/],
        ['undefined in the middle', [1, undefined, 2], 'FST_FIFO_INVALID_ARGUMENT', /#2 is undefined/],
        ['too deep', [deep], 'FST_FIFO_INVALID_ARGUMENT', /nested deeper than 64/],
        ['too large', ['x'.repeat(2000)], 'FST_FIFO_PAYLOAD_TOO_LARGE', /over the 1024 byte limit/],
      ]
      for (const [label, args, code, message] of cases) {
        await t.rejects(fixed(...args), { code, message }, label)
      }
      const badQueues: Array<[string, unknown]> = [
        ['empty', ''], ['too long', 'q'.repeat(257)], ['control char', 'a\nb'], ['not a string', 42], ['lone surrogate', 'a\ud800'],
      ]
      for (const [label, q] of badQueues) {
        await t.rejects(keyed(q), { code: 'FST_FIFO_INVALID_QUEUE' }, `queue name: ${label}`)
      }
      const ov = await app.fifo.store.overview()
      t.equal(ov.pendingTasks, 0, 'nothing was stored')
      t.equal(ov.queues, 0)
      if (b.redis !== null) {
        const c = b.redis.client()
        const keys = await c.keys(`{${b.prefix}}*`)
        await c.quit()
        t.same(keys.filter((k) => !k.includes(':inst') && !k.includes(':beat') && !k.endsWith(':format') && !k.endsWith(':partitions')), [], 'no task keys in Redis')
      }
      // Values JSON carries faithfully are accepted and arrive unchanged.
      await fixed({ __proto__: null, a: 1 }, 'ü 😀', [1, [2, { b: null }]], { constructor: 'x', ['__proto__']: 1 })
      t.equal((await app.fifo.store.getQueue('fixed'))?.depth, 1)
    })

    t.test('define is checked and refused after ready', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ worker: false })
      const f = app.fifo.define.bind(app.fifo)
      t.throws(() => f('', { queue: 'q' }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION' })
      t.throws(() => f('x', { queue: '' }, async () => {}), { code: 'FST_FIFO_INVALID_QUEUE' })
      t.throws(() => f('x', { queue: 'q', attempts: 0 }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /attempts.*got 0/ })
      t.throws(() => f('x', { queue: 'q', onExhausted: 'drop' as never }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /onExhausted.*"drop"/ })
      t.throws(() => f('x', { queue: 'q', backoff: { type: 'linear' } as never }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /backoff.type/ })
      t.throws(() => f('x', { queue: 'q', retries: 3 } as never, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /"retries" is not a task option/ })
      f('x', { queue: 'q' }, async () => {})
      t.throws(() => f('x', { queue: 'q' }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /already defined/ })
      await app.ready()
      t.throws(() => f('y', { queue: 'q' }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /before the app is ready/ })
    })

    if (kind === 'redis') {
      t.test('after SCRIPT FLUSH every operation keeps working (NOSCRIPT reload)', async (t) => {
        const b = await backend(kind)
        t.teardown(() => b.cleanup())
        const app = await b.app()
        const ran: number[] = []
        let fails = 1
        const job = app.fifo.define('flush', { queue: 'fl', attempts: 3, backoff: 5 }, async (n: number) => {
          if (n === 2 && fails-- > 0) throw new Error('once')
          ran.push(n)
        })
        await app.ready()
        const c = b.redis!.client()
        t.teardown(() => c.quit())
        await job(1)
        await until('first ran', () => ran.length === 1)
        t.equal(await c.script('FLUSH'), 'OK')
        await job(2)
        await job(3)
        await until('the rest ran, with a retry in between', () => ran.length === 3)
        t.same(ran, [1, 2, 3])
        await c.script('FLUSH')
        t.same((await app.fifo.store.listQueues({ offset: 0, limit: 10 })).items, [], 'reads work after a flush too')
        const ov = await app.fifo.store.overview()
        t.equal(ov.pendingTasks, 0)
      })
    }
  })
}
