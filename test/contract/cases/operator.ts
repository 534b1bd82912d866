import { drainWakes, LEASE_MS, realSleep, ref, rejectsWith, setup, task, within, type HarnessFactory, type StoreFeatures, type Test } from '../harness'

// Pause and resume, dedupe, and the errors operator actions raise.

export function operatorCases (t: Test, factory: HarnessFactory, features: StoreFeatures): void {
  t.test('pause stops a waiting queue from being claimed until resume', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('q', 1))
    await s.pause('q')
    await s.pause('q')
    t.match(await s.getQueue('q'), { state: 'paused', paused: true, depth: 1 }, 'pausing twice is a no-op')
    t.equal(await s.claim('o1', LEASE_MS), null, 'not claimable')
    t.match(await s.overview(), { paused: 1, waiting: 0 })
    t.equal((await s.listQueues({ state: 'paused', offset: 0, limit: 10 })).total, 1)
    await s.enqueue(task('q', 2))
    t.match(await s.getQueue('q'), { state: 'paused', depth: 2 }, 'enqueue keeps it paused')
    await s.sweep(['job'])
    t.equal(await s.claim('o1', LEASE_MS), null, 'sweep does not unpause')
    await drainWakes(s)
    const woken = s.waitForWork(10_000)
    await realSleep(20)
    await s.resume('q')
    t.equal(await within(woken, 5000), true, 'resume wakes a worker')
    t.match(await s.getQueue('q'), { state: 'waiting', paused: false })
    t.match(await s.claim('o1', LEASE_MS), { queue: 'q', payload: '[1]' })
    await rejectsWith(t, s.pause('no-such-queue'), 'FST_FIFO_NOT_FOUND', 'no-such-queue', 'pause of an unknown queue')
    await rejectsWith(t, s.resume('no-such-queue'), 'FST_FIFO_NOT_FOUND', 'no-such-queue', 'resume of an unknown queue')
  })

  t.test('pause while running: the head finishes, complete does not go on, resume makes it waiting', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('q', 1))
    await s.enqueue(task('q', 2))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    await s.pause('q')
    t.match(await s.getQueue('q'), { state: 'running', paused: true, holder: 'o1' }, 'a running head is not interrupted')
    t.same(await s.complete(ref(c1), c1.id, 'o1', LEASE_MS, true), { ok: true, next: null }, 'keep does not hand out the next head of a paused queue')
    t.match(await s.getQueue('q'), { state: 'paused', paused: true, holder: null, depth: 1 })
    t.equal(await s.claim('o2', LEASE_MS), null)
    await s.resume('q')
    const c2 = await s.claim('o2', LEASE_MS)
    t.match(c2, { payload: '[2]', attempt: 1 })
    if (c2 === null) return

    await s.pause('q')
    t.same(await s.complete(ref(c2), c2.id, 'o2', LEASE_MS, true), { ok: true, next: null })
    t.match(await s.getQueue('q'), { state: 'paused', depth: 0, head: null }, 'an empty paused queue stays, so the pause is not lost')
    t.equal((await s.listQueues({ offset: 0, limit: 10 })).total, 1)
    await s.enqueue(task('q', 3))
    t.equal(await s.claim('o2', LEASE_MS), null, 'a task enqueued into it waits for resume')
    await s.skipHead('q', 'clear')
    await s.resume('q')
    t.equal(await s.getQueue('q'), null, 'resumed and empty: it disappears')
  })

  t.test('dedupe inside the window returns the first task and adds nothing; after it, a new task is added', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const first = await s.enqueue(task('q', 1, { dedupeId: 'order-7', dedupeMs: 500 }))
    t.equal(first.duplicate, false)
    const again = await s.enqueue(task('q', 2, { dedupeId: 'order-7', dedupeMs: 500 }))
    t.same(again, { id: first.id, queue: 'q', name: 'job', duplicate: true })
    const elsewhere = await s.enqueue({ queue: 'other', name: 'other-job', payload: '[]', dedupeId: 'order-7', dedupeMs: 500 })
    t.match(await s.getQueue('q'), { depth: 1 })
    if (features.dedupeScope === 'queue') {
      t.match(elsewhere, { queue: 'other', name: 'other-job', duplicate: false }, 'the dedupe scope is the queue: another queue adds its task')
      t.not(elsewhere.id, first.id)
      t.match(await s.getQueue('other'), { depth: 1 })
      t.same(await s.enqueue({ queue: 'other', name: 'other-job', payload: '[]', dedupeId: 'order-7', dedupeMs: 500 }),
        { id: elsewhere.id, queue: 'other', name: 'other-job', duplicate: true }, 'and dedupes inside it')
      await s.deleteDead((await s.skipHead('other', 'cleanup')).id)
    } else {
      t.same(elsewhere, { id: first.id, queue: 'q', name: 'job', duplicate: true }, 'the dedupe scope is the namespace')
      t.equal(await s.getQueue('other'), null, 'nothing was added')
    }
    t.match(await s.overview(), { pendingTasks: 1 })
    const other = await s.enqueue(task('q', 3, { dedupeId: 'order-8', dedupeMs: 500 }))
    t.not(other.id, first.id, 'another dedupe id is another task')

    const c = await s.claim('o1', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    await s.complete(ref(c), c.id, 'o1', LEASE_MS, false)
    t.match(await s.enqueue(task('q', 4, { dedupeId: 'order-7', dedupeMs: 500 })), { id: first.id, duplicate: true }, 'still a duplicate after the first task settled')

    await h.advance(650)
    const later = await s.enqueue(task('q', 5, { dedupeId: 'order-7', dedupeMs: 500 }))
    t.equal(later.duplicate, false, 'after the window a new task is added')
    t.not(later.id, first.id)
    t.same((await s.queueTasks('q', 0, 10)).items.map((r) => r.payload), ['[3]', '[5]'])
  })

  t.test('reads return copies: changing a returned object changes nothing stored', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('q', 1))
    await s.enqueue(task('d', 1))
    await s.skipHead('d', 'dead')
    const c = await s.claim('o1', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    const info = { id: 'o1', host: 'h', pid: 1, version: 'v', startedAt: 1, concurrency: 1, handlers: ['job'] }
    await s.heartbeat(info, [ref(c)], LEASE_MS)
    info.handlers.push('sneaky')
    c.attempt = 99
    c.payload = 'changed'
    const row = await s.getQueue('q')
    if (row?.head != null) { row.head.attempts = 99; row.depth = 99 }
    const dead = await s.listDead(0, 10)
    if (dead.items[0] !== undefined) dead.items[0].reason = 'changed'
    const instances = await s.listInstances()
    instances[0]?.handlers.push('changed')
    const tasks = await s.queueTasks('q', 0, 10)
    if (tasks.items[0] !== undefined) tasks.items[0].attempts = 99

    t.match(await s.getQueue('q'), { depth: 1, head: { attempts: 1, payload: '[1]' } })
    t.match(await s.listDead(0, 10), { items: [{ reason: 'dead' }] })
    t.same((await s.listInstances())[0]?.handlers, ['job'])
    t.match(await s.getTask(c.id), { attempts: 1, payload: '[1]' })
  })
}
