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
    t.equal(await s.waitOutcome(b.id, 100), null, 'no outcome for a task completed without one: the wait times out')
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
    t.equal(await s.waitOutcome(b.id, 100), null)
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
    t.equal(await s.waitOutcome(c.id, 100), null, 'a head nobody waits on leaves no outcome')
  })
}
