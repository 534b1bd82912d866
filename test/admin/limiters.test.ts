import '../helpers/guard'
import t from 'tap'
import { forEachAdapter } from './adapters'
import { call, errorSchema, okSchema, schemaErrors } from './helpers'

// The limiters routes on both adapters: the list, pause/resume (mutating: auth rules as every action), and the Prometheus series.
forEachAdapter(t, async (t, adapter) => {
  t.test('GET /api/limiters, pause and resume (actions need auth), Prometheus series', async (t) => {
    const a = await adapter.app(t, { worker: false, dashboard: { auth: async () => {} } })
    const f = a.fifo
    f.limiter('stripe', { max: 25, perMs: 1000, concurrency: 4 })
    f.limiter('partner:*', { max: 5, perMs: 60_000 })
    await a.ready()
    const list = await call(a, 'GET', '/fifo/api/limiters')
    t.equal(list.status, 200)
    t.same(schemaErrors(list.body, okSchema('limiters')), [])
    t.match(list.body.items, [
      { name: 'partner:*', definition: 'partner:*', max: 5, perMs: 60_000, concurrency: null, usedInWindow: 0, paused: false },
      { name: 'stripe', definition: 'stripe', max: 25, perMs: 1000, concurrency: 4, running: 0, queuesWaiting: 0 },
    ])
    const paused = await call(a, 'POST', '/fifo/api/limiters/stripe/pause')
    t.equal(paused.status, 200)
    t.same(schemaErrors(paused.body, okSchema('limiterAction')), [])
    t.match(paused.body, { ok: true, limiter: { name: 'stripe', paused: true, pausedBy: 'operator', pausedUntil: null } })
    const covered = await call(a, 'POST', `/fifo/api/limiters/${encodeURIComponent('partner:9')}/pause`)
    t.match(covered.body, { ok: true, limiter: { name: 'partner:9', definition: 'partner:*', max: 5, paused: true } }, 'a name a pattern covers')
    t.match((await call(a, 'GET', '/fifo/api/limiters')).body.items.map((l: { name: string }) => l.name), ['partner:9', 'stripe'])
    const metrics = (await call(a, 'GET', '/fifo/metrics')).raw
    t.match(metrics, /fifo_limiter_paused\{instance_id="[^"]+",limiter="partner:\*"\} 1/)
    t.match(metrics, /fifo_limiter_paused\{instance_id="[^"]+",limiter="stripe"\} 1/)
    t.match(metrics, /fifo_queues\{instance_id="[^"]+",state="throttled"\} 0/)
    t.match((await call(a, 'POST', '/fifo/api/limiters/stripe/resume')).body, { ok: true, limiter: { paused: false, pausedBy: null } })

    const unknown = await call(a, 'POST', '/fifo/api/limiters/nope/pause')
    t.equal(unknown.status, 404)
    t.same(schemaErrors(unknown.body, errorSchema), [])
    t.match(unknown.body, { code: 'FST_FIFO_NOT_FOUND', message: /"nope"/ })
    const pattern = await call(a, 'POST', `/fifo/api/limiters/${encodeURIComponent('partner:*')}/pause`)
    t.match(pattern, { status: 400, body: { code: 'FST_FIFO_INVALID_REQUEST' } })

    const readOnly = await adapter.app(t, { worker: false, dashboard: {} })
    readOnly.fifo.limiter('stripe', { concurrency: 1 })
    await readOnly.ready()
    t.match(await call(readOnly, 'POST', '/fifo/api/limiters/stripe/pause'), { status: 403, body: { code: 'FST_FIFO_READ_ONLY' } }, 'no auth hook: read-only')
    t.equal((await call(readOnly, 'GET', '/fifo/api/limiters')).status, 200)
  })
})
