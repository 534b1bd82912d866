import { LEASE_MS, ref, setup, task, type HarnessFactory, type Test } from '../harness'

// Per-task extras (trace context, wait flag) ride with the task in the request-id field (store/extras.ts).

export function extrasCases (t: Test, factory: HarnessFactory): void {
  t.test('extras come back on claim, lookahead and claim on enqueue; reads show the bare request id', async (t) => {
    const { s } = await setup(t, factory)
    const extras = { tp: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', w: '1' }
    const a = await s.enqueue(task('q', 1, { requestId: 'req-1', extras }))
    const b = await s.enqueue(task('q', 2, { extras: { w: '1' } }))
    await s.enqueue(task('q', 3, { requestId: 'req-3' }))
    t.match(await s.getTask(a.id), { requestId: 'req-1' })
    t.equal((await s.getTask(b.id))?.requestId, null, 'extras without a request id read as no request id')
    t.match(await s.queueTasks('q', 0, 10), { items: [{ requestId: 'req-1' }, { requestId: null }, { requestId: 'req-3' }] })
    t.match(await s.getQueue('q'), { head: { requestId: 'req-1' } })

    const c = await s.claim('owner-a', LEASE_MS)
    t.same(c?.extras, extras)
    t.equal(c?.requestId, 'req-1')
    if (c === null) return
    const done = await s.complete(ref(c), c.id, 'owner-a', LEASE_MS, true, 4)
    if (!done.ok || done.next === null) throw new Error('no next head')
    t.same(done.next.extras, { w: '1' })
    t.equal(done.next.requestId, undefined)
    t.equal(done.next.following?.[0].extras, undefined, 'a task without extras has none')
    t.equal(done.next.following?.[0].requestId, 'req-3')

    const on = await s.enqueue(task('p', 1, { requestId: 'r', extras: { tp: 'x' } }), { owner: 'owner-a', leaseMs: LEASE_MS })
    t.same(on.claimed?.extras, { tp: 'x' })
    t.equal(on.claimed?.requestId, 'r')
  })

  t.test('extras survive the dead letters and a requeue; dead letters show the bare request id', async (t) => {
    const { s } = await setup(t, factory)
    const a = await s.enqueue(task('q', 1, { requestId: 'req-1', extras: { tp: 'ctx' } }))
    const dead = await s.skipHead('q', 'skipped')
    t.equal(dead.requestId, 'req-1')
    t.equal((await s.getDead(a.id))?.requestId, 'req-1')
    const again = await s.requeueDead(a.id)
    const c = await s.claim('owner-a', LEASE_MS)
    t.equal(c?.id, again.id)
    t.same(c?.extras, { tp: 'ctx' })
    t.equal(c?.requestId, 'req-1')
  })

  t.test('a request id with control characters or malformed extras are refused, nothing stored', async (t) => {
    const { s } = await setup(t, factory)
    await t.rejects(s.enqueue(task('q', 1, { requestId: 'a\tb' })), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /requestId/ })
    await t.rejects(s.enqueue(task('q', 1, { extras: { 'Bad Key': 'x' } })), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /extra key "Bad Key"/ })
    await t.rejects(s.enqueue(task('q', 1, { extras: { k: 'a\tb' } })), { code: 'FST_FIFO_INVALID_CALL_OPTION', message: /extra k/ })
    t.equal(await s.getQueue('q'), null)
  })
}
