import { failure, LEASE_MS, ref, setup, task, type HarnessFactory, type Test } from '../harness'

// Outcomes of waited tasks (Store.waitOutcome, complete's `outcome`, FailInput.waitedId).

export function outcomeCases (t: Test, factory: HarnessFactory): void {
  t.test('a waiter hears the outcome complete stores; a later wait reads it; a complete without one stores nothing', async (t) => {
    const { s } = await setup(t, factory)
    const a = await s.enqueue(task('q', 1, { extras: { w: '1' } }))
    const b = await s.enqueue(task('q', 2))
    const waiting = s.waitOutcome(a.id, 5000)
    const c = await s.claim('owner-a', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    t.equal(c.id, a.id)
    const done = await s.complete(ref(c), c.id, 'owner-a', LEASE_MS, true, 0, 's\nq\n{"ok":1}')
    t.equal(await waiting, 's\nq\n{"ok":1}', 'the waiter hears it')
    t.equal(await s.waitOutcome(a.id, 1000), 's\nq\n{"ok":1}', 'a later wait finds it kept')
    if (!done.ok || done.next === null) throw new Error('no next head')
    t.equal(done.next.id, b.id)
    const again = await s.complete(ref(done.next), b.id, 'owner-a', LEASE_MS, false)
    t.ok(again.ok)
    await t.rejects(s.waitOutcome(b.id, 60_000), { code: 'FST_FIFO_NOT_FOUND', message: new RegExp(`task ${b.id}: no outcome is kept`) },
      'a task completed without an outcome is gone: refused at once, not waited out')
  })

  t.test('a retried complete does not overwrite or re-send the outcome of another head', async (t) => {
    const { s } = await setup(t, factory)
    const a = await s.enqueue(task('q', 1))
    const b = await s.enqueue(task('q', 2))
    const c = await s.claim('owner-a', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    await s.complete(ref(c), a.id, 'owner-a', LEASE_MS, true, 0, 's\nq\n1')
    // A retry of the same call (its reply was lost): the head is now b, nothing is stored for b.
    await s.complete(ref(c), a.id, 'owner-a', LEASE_MS, true, 0, 's\nq\n1')
    await t.rejects(s.waitOutcome(b.id, 60_000), { code: 'FST_FIFO_NOT_WAITED' }, 'nothing was stored for b, which nobody waits on')
  })

  t.test('fail with waitedId stores and notifies a halt or a dead letter, not a retry', async (t) => {
    const { s } = await setup(t, factory)
    const h = await s.enqueue(task('h', 1, { extras: { w: '1' } }))
    const d = await s.enqueue(task('d', 1, { extras: { w: '1' } }))
    const r = await s.enqueue(task('r', 1, { extras: { w: '1' } }))
    const heard = [s.waitOutcome(h.id, 5000), s.waitOutcome(d.id, 5000)]
    for (let i = 0; i < 3; i++) {
      const c = await s.claim('owner-a', LEASE_MS)
      if (c === null) throw new Error('nothing claimed')
      const input = c.queue === 'h'
        ? failure({ error: 'boom', maxAttempts: 1, onExhausted: 'halt', waitedId: c.id })
        : c.queue === 'd'
          ? failure({ error: 'gone', maxAttempts: 1, onExhausted: 'dead-letter', waitedId: c.id })
          : failure({ error: 'again', maxAttempts: 3, waitedId: c.id })
      t.ok((await s.fail(ref(c), input)).ok)
    }
    t.same(await Promise.all(heard), ['h\nh\nboom', 'd\nd\ngone'])
    t.equal(await s.waitOutcome(r.id, 100), null, 'a retrying head has no outcome yet')
  })

  t.test('an operator skip of a waited head notifies its waiter; of another head, nothing is stored', async (t) => {
    const { s } = await setup(t, factory)
    const a = await s.enqueue(task('q', 1, { requestId: 'req', extras: { w: '1' } }))
    const b = await s.enqueue(task('q', 2, { extras: { tp: 'x', w: '1' } }))
    const c = await s.enqueue(task('q', 3))
    const heard = s.waitOutcome(a.id, 5000)
    await s.skipHead('q', 'bad order')
    t.equal(await heard, 'd\nq\nskipped by an operator: bad order')
    await s.skipHead('q', 'again')
    t.equal(await s.waitOutcome(b.id, 1000), 'd\nq\nskipped by an operator: again', 'the flag is found after other extras too')
    await s.skipHead('q', 'plain')
    await t.rejects(s.waitOutcome(c.id, 60_000), { code: 'FST_FIFO_NOT_WAITED', message: /in the dead letters/ }, 'a head nobody waits on leaves no outcome')
  })

  t.test('an operator retry of a halted head or requeue of a dead letter drops the kept outcome: a wait waits for the new run', async (t) => {
    const { s } = await setup(t, factory)
    const h = await s.enqueue(task('h', 1, { waitMs: 5000 }))
    const d = await s.enqueue(task('d', 1, { waitMs: 5000 }))
    for (let i = 0; i < 2; i++) {
      const c = await s.claim('owner-a', LEASE_MS)
      if (c === null) throw new Error('nothing claimed')
      t.ok((await s.fail(ref(c), failure({ error: 'boom', maxAttempts: 1, onExhausted: c.queue === 'h' ? 'halt' : 'dead-letter', waitedId: c.id }))).ok)
    }
    t.equal(await s.waitOutcome(h.id, 1000), 'h\nh\nboom')
    t.equal(await s.waitOutcome(d.id, 1000), 'd\nd\nboom')
    await s.retryHead('h')
    await s.requeueDead(d.id)
    t.equal(await s.waitOutcome(h.id, 50), null, 'the retried head is waited for, not answered with its old halt')
    t.equal(await s.waitOutcome(d.id, 50), null, 'the requeued task is waited for, not answered with its old dead-lettering')
    const later = [s.waitOutcome(h.id, 5000), s.waitOutcome(d.id, 5000)]
    for (let i = 0; i < 2; i++) {
      const c = await s.claim('owner-a', LEASE_MS)
      if (c === null) throw new Error('nothing claimed')
      await s.complete(ref(c), c.id, 'owner-a', LEASE_MS, false, 0, `s\n${c.queue}\n"again"`)
    }
    t.same(await Promise.all(later), ['s\nh\n"again"', 's\nd\n"again"'])
  })

  t.test('enqueue with waitMs flags the task and is listening before it is sent; a dedupe hit has no outcome promise', async (t) => {
    const { s } = await setup(t, factory)
    const a = await s.enqueue(task('q', 1, { waitMs: 5000, dedupeId: 'once', dedupeMs: 60_000 }))
    t.type(a.outcome, Promise)
    const c = await s.claim('owner-a', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    t.same(c.extras, { w: '1' }, 'the task carries the wait flag')
    await s.complete(ref(c), c.id, 'owner-a', LEASE_MS, false, 0, 's\nq\n7')
    t.equal(await a.outcome, 's\nq\n7')
    const hit = await s.enqueue(task('q', 2, { waitMs: 5000, dedupeId: 'once', dedupeMs: 60_000 }))
    t.equal(hit.duplicate, true)
    t.equal(hit.outcome, undefined)
    t.equal(await s.waitOutcome(hit.id, 1000), 's\nq\n7', 'the earlier task is waited on by id')
    const short = await s.enqueue(task('r', 1, { waitMs: 50, extras: { tp: 'x' } }))
    t.equal(await short.outcome, null, 'no outcome within waitMs: null')
    const c2 = await s.claim('owner-a', LEASE_MS)
    t.same(c2?.extras, { tp: 'x', w: '1' }, 'the flag joins other extras')
  })

  t.test('waitOutcome refuses at once what can never have an outcome, naming the task', async (t) => {
    const { s } = await setup(t, factory)
    const plain = await s.enqueue(task('plain', 1, { requestId: 'req-1', extras: { tp: 'x' } }))
    const waited = await s.enqueue(task('kept', 1, { waitMs: 5000 }))
    await t.rejects(s.waitOutcome(plain.id, 60_000), {
      code: 'FST_FIFO_NOT_WAITED',
      statusCode: 409,
      message: `task ${plain.id} on queue "plain" is queued, but it was not enqueued with the wait call option, so its outcome is not kept and cannot be waited for`,
    })
    const unknown = plain.id + '9'
    await t.rejects(s.waitOutcome(unknown, 60_000), { code: 'FST_FIFO_NOT_FOUND', statusCode: 404, message: new RegExp(`^task ${unknown}: no outcome is kept for it and it is neither queued nor dead-lettered`) })
    await t.rejects(s.waitOutcome('no such id', 60_000), { code: 'FST_FIFO_NOT_FOUND', message: /^task no such id: / })
    t.equal(await s.waitOutcome(waited.id, 50), null, 'a waited task still queued is waited for (here until the timeout)')
    // Behind a head, and after a requeue from the dead letters, the task is still found.
    const behind = await s.enqueue(task('plain', 2))
    await t.rejects(s.waitOutcome(behind.id, 60_000), { code: 'FST_FIFO_NOT_WAITED', message: /"plain" is queued/ })
    await s.skipHead('plain', 'operator')
    await t.rejects(s.waitOutcome(plain.id, 60_000), { code: 'FST_FIFO_NOT_WAITED', message: /"plain" is in the dead letters/ })
    await s.requeueDead(plain.id)
    await t.rejects(s.waitOutcome(plain.id, 60_000), { code: 'FST_FIFO_NOT_WAITED', message: /"plain" is queued/ })
  })
}
