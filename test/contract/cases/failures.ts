import { BACKOFF_MS, failure, LEASE_MS, ref, rejectsWith, setup, storeNow, task, type HarnessFactory, type Test } from '../harness'

// G5: a failed head keeps its place; spent attempts halt the queue or dead-letter the head.

export function failureCases (t: Test, factory: HarnessFactory): void {
  t.test('a failed head retries after its backoff in the same place, with its attempt and last error', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const first = await s.enqueue(task('q', 1))
    await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    const before = await storeNow(s)
    const f1 = await s.fail(ref(c1), failure({ error: 'boom 1', maxAttempts: 3 }))
    const after = await storeNow(s)
    t.match(f1, { ok: true, outcome: 'retrying' })
    const retryAt = f1.ok ? f1.retryAt ?? 0 : 0
    t.ok(retryAt >= before + BACKOFF_MS && retryAt <= after + BACKOFF_MS, 'retryAt is the backoff from now')
    t.match(await s.getQueue('q'), { state: 'retrying', retryAt, holder: null, depth: 2, head: { id: first.id, attempts: 1, lastError: 'boom 1' } })
    t.equal(await s.claim('o2', LEASE_MS), null, 'a retrying queue cannot be claimed')
    await s.enqueue(task('q', 3))
    t.match(await s.getQueue('q'), { state: 'retrying', depth: 3 }, 'enqueue behind a retrying head keeps it retrying')
    t.match(await s.sweep([]), { promoted: 0, nextRetryAt: retryAt }, 'too early: sweep reports when to come back')
    t.equal(await s.claim('o2', LEASE_MS), null)
    t.equal((await s.listQueues({ state: 'retrying', offset: 0, limit: 10 })).total, 1)

    await h.advance(BACKOFF_MS + 100)
    t.match(await s.sweep([]), { promoted: 1, nextRetryAt: null })
    t.match(await s.getQueue('q'), { state: 'waiting', retryAt: null })
    const c2 = await s.claim('o2', LEASE_MS)
    t.match(c2, { id: first.id, attempt: 2, lastError: 'boom 1' }, 'the same head comes back first')

    if (c2 === null) return
    t.match(await s.fail(ref(c2), failure({ error: 'boom 2', maxAttempts: 3 })), { ok: true, outcome: 'retrying' })
    await h.advance(BACKOFF_MS + 100)
    await s.sweep([])
    const c3 = await s.claim('o3', LEASE_MS)
    t.match(c3, { id: first.id, attempt: 3, lastError: 'boom 2' })
    if (c3 === null) return
    t.match(await s.fail(ref(c3), failure({ error: 'boom 3', maxAttempts: 3 })), { ok: true, outcome: 'halted' }, 'attempt 3 of 3 spent')
  })

  t.test('spent attempts with onExhausted halt: the queue halts with the error visible until an operator acts', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const first = await s.enqueue(task('q', 1))
    const second = await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    const before = await storeNow(s)
    t.same(await s.fail(ref(c1), failure({ error: 'card declined', maxAttempts: 1 })), { ok: true, outcome: 'halted' })
    const after = await storeNow(s)
    const row = await s.getQueue('q')
    t.match(row, { state: 'halted', depth: 2, holder: null, retryAt: null, head: { id: first.id, attempts: 1, lastError: 'card declined' } })
    t.ok((row?.haltedAt ?? 0) >= before && (row?.haltedAt ?? 0) <= after, 'haltedAt is when it halted')
    const listed = await s.listQueues({ state: 'halted', offset: 0, limit: 10 })
    t.equal(listed.total, 1)
    t.match(listed.items[0], { name: 'q', state: 'halted', haltedAt: row?.haltedAt, head: { lastError: 'card declined' } })
    t.match(await s.overview(), { halted: 1, queues: 1, pendingTasks: 2 })

    t.equal(await s.claim('o2', LEASE_MS), null, 'a halted queue cannot be claimed')
    await h.advance(BACKOFF_MS)
    await s.sweep(['job'])
    t.equal(await s.claim('o2', LEASE_MS), null, 'sweep does not revive a halted queue')
    await s.enqueue(task('q', 3))
    t.match(await s.getQueue('q'), { state: 'halted', depth: 3 }, 'enqueue behind a halted head keeps it halted')

    await s.retryHead('q')
    t.match(await s.getQueue('q'), { state: 'waiting', haltedAt: null })
    const again = await s.claim('o2', LEASE_MS)
    t.match(again, { id: first.id, attempt: 1 }, 'retryHead gives the halted head a fresh set of attempts')
    if (again === null) return
    t.match(await s.complete(ref(again), again.id, 'o2', LEASE_MS, true), { ok: true, next: { id: second.id } }, 'then the queue goes on')
  })

  t.test('retryHead runs a retrying head now; other states conflict; an unknown queue is not found', async (t) => {
    const { s } = await setup(t, factory)
    const first = await s.enqueue(task('q', 1))
    await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    await s.fail(ref(c1), failure({ delayMs: 600_000 }))
    t.match(await s.getQueue('q'), { state: 'retrying' })
    await s.retryHead('q')
    t.match(await s.getQueue('q'), { state: 'waiting', retryAt: null })
    const c2 = await s.claim('o1', LEASE_MS)
    t.match(c2, { id: first.id, attempt: 2, lastError: 'boom' }, 'no wait for the backoff; attempts keep counting')
    if (c2 === null) return
    await rejectsWith(t, s.retryHead('q'), 'FST_FIFO_CONFLICT', 'q', 'retryHead on a running queue')
    await s.complete(ref(c2), c2.id, 'o1', LEASE_MS, false)
    await rejectsWith(t, s.retryHead('q'), 'FST_FIFO_CONFLICT', 'q', 'retryHead on a waiting queue')
    await s.pause('q')
    await rejectsWith(t, s.retryHead('q'), 'FST_FIFO_CONFLICT', 'q', 'retryHead on a paused queue')
    await rejectsWith(t, s.retryHead('no-such-queue'), 'FST_FIFO_NOT_FOUND', 'no-such-queue', 'retryHead on an unknown queue')
  })

  t.test('spent attempts with onExhausted dead-letter: the head becomes a dead letter and the queue moves on', async (t) => {
    const { s } = await setup(t, factory)
    const first = await s.enqueue(task('q', 1, { requestId: 'req-9' }))
    const second = await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    const before = await storeNow(s)
    t.same(await s.fail(ref(c1), failure({ error: 'bad row', maxAttempts: 1, onExhausted: 'dead-letter' })), { ok: true, outcome: 'dead' })
    const after = await storeNow(s)
    t.match(await s.getQueue('q'), { state: 'waiting', depth: 1, head: { id: second.id } })
    const dead = await s.listDead(0, 10)
    t.equal(dead.total, 1)
    t.match(dead.items[0], { id: first.id, queue: 'q', name: 'job', payload: '[1]', requestId: 'req-9', attempts: 1, enqueuedAt: c1.enqueuedAt })
    t.match(dead.items[0]?.reason, /bad row/, 'the reason carries the error')
    const deadAt = dead.items[0]?.deadAt ?? 0
    t.ok(deadAt >= before && deadAt <= after, 'deadAt is when it died')
    t.same(await s.getDead(first.id), dead.items[0])
    t.match(await s.getTask(first.id), { id: first.id, where: 'dead', position: null, deadAt, deadReason: dead.items[0]?.reason })
    t.match(await s.overview(), { deadLetters: 1, pendingTasks: 1 })

    const c2 = await s.claim('o1', LEASE_MS)
    t.match(c2, { id: second.id, attempt: 1 }, 'the queue moved on')

    t.same(await s.requeueDead(first.id), { id: first.id, queue: 'q', name: 'job', duplicate: false })
    t.equal((await s.listDead(0, 10)).total, 0, 'requeued: no longer a dead letter')
    t.equal(await s.getDead(first.id), null)
    t.match((await s.queueTasks('q', 0, 10)).items, [{ id: second.id, where: 'head' }, { id: first.id, where: 'pending', position: 1, attempts: 0 }], 'appended to the tail with attempts reset')
    if (c2 === null) return
    const next = await s.complete(ref(c2), c2.id, 'o1', LEASE_MS, true)
    t.match(next, { ok: true, next: { id: first.id, attempt: 1, payload: '[1]' } })
    if (!next.ok || next.next === null) return
    await s.fail(ref(next.next), failure({ maxAttempts: 1, onExhausted: 'dead-letter' }))
    t.equal(await s.getQueue('q'), null, 'its last task dead: the queue disappears')
    await s.deleteDead(first.id)
    t.equal(await s.getDead(first.id), null)
    t.equal(await s.getTask(first.id), null, 'a deleted dead letter is gone everywhere')
    await rejectsWith(t, s.deleteDead(first.id), 'FST_FIFO_NOT_FOUND', first.id, 'deleteDead twice')
    await rejectsWith(t, s.requeueDead(first.id), 'FST_FIFO_NOT_FOUND', first.id, 'requeueDead of a deleted dead letter')
  })

  t.test('deadLetterNow dead-letters the head whatever attempts remain', async (t) => {
    const { s } = await setup(t, factory)
    const first = await s.enqueue(task('q', 1))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    t.same(await s.fail(ref(c1), failure({ error: 'corrupt', maxAttempts: 10, onExhausted: 'halt', deadLetterNow: true })), { ok: true, outcome: 'dead' })
    t.match(await s.getDead(first.id), { id: first.id, attempts: 1, reason: /corrupt/ })
    t.equal(await s.getQueue('q'), null)
  })

  t.test('skipHead moves the head to the dead letters; running or empty conflicts; unknown is not found', async (t) => {
    const { s } = await setup(t, factory)
    const first = await s.enqueue(task('q', 1))
    const second = await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    await rejectsWith(t, s.skipHead('q', 'nope'), 'FST_FIFO_CONFLICT', 'q', 'skipHead on a running head')
    t.match(await s.getQueue('q'), { state: 'running', depth: 2 }, 'a refused skip changes nothing')
    await s.release(ref(c1), false)

    const before = await storeNow(s)
    const dead = await s.skipHead('q', 'skipped by operator')
    const after = await storeNow(s)
    t.match(dead, { id: first.id, queue: 'q', name: 'job', payload: '[1]', reason: 'skipped by operator', attempts: 0 })
    t.ok(dead.deadAt >= before && dead.deadAt <= after)
    t.same(await s.getDead(first.id), dead)
    t.match(await s.getQueue('q'), { state: 'waiting', depth: 1, head: { id: second.id } })

    // A halted head is the usual one to skip; skipping the last task removes the queue.
    const c2 = await s.claim('o1', LEASE_MS)
    if (c2 === null) throw new Error('nothing claimed')
    await s.fail(ref(c2), failure({ maxAttempts: 1 }))
    t.match(await s.skipHead('q', 'give up'), { id: second.id, attempts: 1, reason: 'give up' })
    t.equal(await s.getQueue('q'), null, 'skipped its last task: the queue disappears')
    t.same((await s.listDead(0, 10)).items.map((d) => d.id), [second.id, first.id], 'newest first')

    await s.enqueue(task('p', 1))
    await s.pause('p')
    await s.skipHead('p', 'skip while paused')
    t.match(await s.getQueue('p'), { state: 'paused', depth: 0, head: null }, 'an empty paused queue stays listed')
    await rejectsWith(t, s.skipHead('p', 'again'), 'FST_FIFO_CONFLICT', 'p', 'skipHead on an empty queue')
    await rejectsWith(t, s.skipHead('no-such-queue', 'x'), 'FST_FIFO_NOT_FOUND', 'no-such-queue', 'skipHead on an unknown queue')
  })

  t.test('dead letters are capped at deadLetterLimit, dropping the oldest; listDead pages newest first', async (t) => {
    const { s } = await setup(t, factory, { deadLetterLimit: 3 })
    const ids = []
    for (let n = 1; n <= 5; n++) ids.push((await s.enqueue(task('q', n))).id)
    for (let n = 1; n <= 5; n++) await s.skipHead('q', `skip ${n}`)
    const page = await s.listDead(0, 10)
    t.equal(page.total, 3)
    t.same(page.items.map((d) => d.id), [ids[4], ids[3], ids[2]])
    t.equal(await s.getDead(ids[0] ?? ''), null, 'the oldest were dropped')
    t.equal(await s.getTask(ids[1] ?? ''), null)
    t.match(await s.listDead(1, 1), { items: [{ id: ids[3] }], total: 3, offset: 1, limit: 1 })
    t.match(await s.listDead(3, 10), { items: [], total: 3 })
    t.match(await s.overview(), { deadLetters: 3 })
  })
}
