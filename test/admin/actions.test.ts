import '../helpers/guard'
import t, { type Test } from 'tap'
import { until } from '../helpers/app'
import { forEachAdapter, type AdminApp } from './adapters'
import { call, errorSchema, okSchema, q, schemaErrors } from './helpers'

forEachAdapter(t, async (t, adapter) => {
  async function build (t: Test, opts: Record<string, unknown> = {}): Promise<AdminApp> {
    const app = await adapter.app(t, { worker: false, dashboard: { auth: async () => {} }, ...opts })
    await app.ready()
    return app
  }

  /** Enqueues `n` tasks on `queue`, then claims and fails its head so the queue halts (no worker runs). */
  async function halted (app: AdminApp, queue: string, n = 2): Promise<string[]> {
    const store = app.fifo.store
    const ids = []
    for (let i = 0; i < n; i++) ids.push((await store.enqueue({ queue, name: 'job', payload: JSON.stringify([i]) })).id)
    const c = await store.claim('owner', 60_000)
    if (c?.queue !== queue) throw new Error('claimed another queue')
    await store.fail(c, { error: 'boom', maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
    return ids
  }

  t.test('pause and resume change the state the store reports', async (t) => {
    const app = await build(t)
    await app.fifo.store.enqueue({ queue: 'a b/c', name: 'job', payload: '[]' })
    const paused = await call(app, 'POST', `${q('a b/c')}/pause`)
    t.equal(paused.status, 200)
    t.same(schemaErrors(paused.body, okSchema('queueAction')), [])
    t.match(paused.body, { ok: true, queue: { name: 'a b/c', state: 'paused', paused: true } })
    t.match(await app.fifo.store.getQueue('a b/c'), { state: 'paused', paused: true })
    t.equal((await call(app, 'POST', `${q('a b/c')}/pause`)).status, 200, 'pausing a paused queue is a no-op')

    const resumed = await call(app, 'POST', `${q('a b/c')}/resume`)
    t.equal(resumed.status, 200)
    t.match(resumed.body, { ok: true, queue: { state: 'waiting', paused: false } })
    t.match(await app.fifo.store.getQueue('a b/c'), { state: 'waiting', paused: false })
  })

  t.test('retry: a halted head runs again; a waiting queue is a 409', async (t) => {
    const app = await build(t)
    const [head] = await halted(app, 'h')
    t.match(await app.fifo.store.getQueue('h'), { state: 'halted' })
    const res = await call(app, 'POST', `${q('h')}/retry`)
    t.equal(res.status, 200)
    t.match(res.body, { ok: true, queue: { name: 'h', state: 'waiting', head: { id: head } } })
    t.match(await app.fifo.store.getQueue('h'), { state: 'waiting', haltedAt: null })

    const again = await call(app, 'POST', `${q('h')}/retry`)
    t.equal(again.status, 409)
    t.same(schemaErrors(again.body, errorSchema), [])
    t.equal(again.body.code, 'FST_FIFO_CONFLICT')
  })

  t.test('retry: a retrying head runs now', async (t) => {
    const app = await build(t)
    const store = app.fifo.store
    await store.enqueue({ queue: 'r', name: 'job', payload: '[]' })
    const c = await store.claim('owner', 60_000)
    await store.fail(c!, { error: 'later', maxAttempts: 5, delayMs: 600_000, onExhausted: 'halt' })
    t.match(await store.getQueue('r'), { state: 'retrying' })
    t.equal((await call(app, 'POST', `${q('r')}/retry`)).status, 200)
    t.match(await store.getQueue('r'), { state: 'waiting' })
  })

  t.test('skip moves the head to the dead letters and the queue goes on; then requeue and delete', async (t) => {
    const app = await build(t)
    const store = app.fifo.store
    const [first, second] = await halted(app, 's')
    const res = await call(app, 'POST', `${q('s')}/skip`, { body: { reason: 'bad data' } })
    t.equal(res.status, 200)
    t.same(schemaErrors(res.body, okSchema('skip')), [])
    t.match(res.body, { ok: true, dead: { id: first, queue: 's', args: '[0]' }, queue: { state: 'waiting', head: { id: second } } })
    t.match(res.body.dead.reason, /bad data/)
    t.match(await store.getDead(first), { id: first, queue: 's' })
    t.match(await store.getQueue('s'), { state: 'waiting', depth: 1, head: { id: second } })

    const requeued = await call(app, 'POST', `/fifo/api/dead/${encodeURIComponent(first)}/requeue`)
    t.equal(requeued.status, 200)
    t.same(schemaErrors(requeued.body, okSchema('requeue')), [])
    t.match(requeued.body, { ok: true, task: { id: first, queue: 's', name: 'job' } })
    t.equal(await store.getDead(first), null)
    const tasks = await store.queueTasks('s', 0, 10)
    t.same(tasks.items.map((x) => x.id), [second, first], 'requeued at the tail')

    await call(app, 'POST', `${q('s')}/pause`)
    const dead = await call(app, 'POST', `${q('s')}/skip`)
    t.equal(dead.status, 200)
    const deleted = await call(app, 'DELETE', `/fifo/api/dead/${encodeURIComponent(dead.body.dead.id)}`)
    t.equal(deleted.status, 200)
    t.same(deleted.body, { ok: true })
    t.equal(await store.getDead(dead.body.dead.id), null)
    const gone = await call(app, 'DELETE', `/fifo/api/dead/${encodeURIComponent(dead.body.dead.id)}`)
    t.equal(gone.status, 404)
    t.equal(gone.body.code, 'FST_FIFO_NOT_FOUND')
    t.equal((await call(app, 'POST', '/fifo/api/dead/nope/requeue')).status, 404)
  })

  t.test('conflicts are 409: skip on an empty queue, skip on a running head', async (t) => {
    const app = await build(t)
    const store = app.fifo.store
    await store.enqueue({ queue: 'one', name: 'job', payload: '[]' })
    await store.pause('one')
    t.equal((await call(app, 'POST', `${q('one')}/skip`)).status, 200)
    t.match(await store.getQueue('one'), { depth: 0, paused: true }, 'an empty paused queue stays')
    const empty = await call(app, 'POST', `${q('one')}/skip`)
    t.equal(empty.status, 409)
    t.same(schemaErrors(empty.body, errorSchema), [])
    t.match(empty.body, { statusCode: 409, code: 'FST_FIFO_CONFLICT', error: 'Conflict' })

    await store.enqueue({ queue: 'busy', name: 'job', payload: '[]' })
    await store.claim('owner', 60_000)
    const running = await call(app, 'POST', `${q('busy')}/skip`)
    t.equal(running.status, 409)
    t.equal(running.body.code, 'FST_FIFO_CONFLICT')
    t.match(await store.getQueue('busy'), { state: 'running', depth: 1 }, 'nothing changed')
  })

  t.test('unknown queue: 404 for every action', async (t) => {
    const app = await build(t)
    for (const action of ['pause', 'resume', 'retry', 'skip']) {
      const res = await call(app, 'POST', `${q('ghost')}/${action}`)
      t.equal(res.status, 404, action)
      t.equal(res.body.code, 'FST_FIFO_NOT_FOUND')
    }
  })

  t.test('actions work on a 256-character queue name', async (t) => {
    const app = await build(t)
    const name = 'long:' + 'n'.repeat(251)
    await halted(app, name)
    t.equal((await call(app, 'POST', `${q(name)}/skip`)).status, 200)
    t.equal((await call(app, 'POST', `${q(name)}/pause`)).status, 200)
    t.match(await app.fifo.store.getQueue(name), { paused: true, depth: 1 })
    const form = await call(app, 'POST', `${q(name)}/resume`, { raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(form.status, 415, 'the long-name route refuses forms too')
  })

  t.test('end to end: retry from the API unblocks a halted queue and its tasks run in order', async (t) => {
    const app = await adapter.app(t, { dashboard: { auth: async () => {} } })
    let fixed = false
    const ran: number[] = []
    const job = app.fifo.define('job', { queue: 'orders', attempts: 1 }, async (n: number) => {
      if (!fixed) throw new Error('supplier API down')
      ran.push(n)
    })
    await app.ready()
    await job(1)
    await job(2)
    const row = await until('the queue halts', async () => {
      const res = await call(app, 'GET', q('orders'))
      return res.body.state === 'halted' ? res.body : null
    })
    t.match(row, { depth: 2, head: { lastError: /supplier API down/ } })
    fixed = true
    t.equal((await call(app, 'POST', `${q('orders')}/retry`)).status, 200)
    await until('both tasks ran', () => ran.length === 2)
    t.same(ran, [1, 2])
    await until('the queue is gone', async () => (await call(app, 'GET', q('orders'))).status === 404)
  })
})
