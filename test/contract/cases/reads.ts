import type { Store } from '../../../plugin/store/store'
import { failure, instance, LEASE_MS, ref, setup, storeNow, task, type HarnessFactory, type Test } from '../harness'

// The admin reads: overview, queue listing, a queue's tasks, one task, instances.

/**
 * Claims `queue`. Other waiting queues claimed on the way are released again
 * untouched (a partitioned store keeps claim order only within a partition).
 */
async function claimOf (s: Store, queue: string): Promise<{ id: string, queue: string, token: string }> {
  const others: Array<{ queue: string, token: string }> = []
  try {
    for (let i = 0; i < 20; i++) {
      const c = await s.claim('o1', LEASE_MS)
      if (c === null) break
      if (c.queue === queue) return c
      others.push(c)
    }
    throw new Error(`expected to claim ${queue}, got ${others.map((c) => c.queue).join(', ') || 'nothing'}`)
  } finally {
    for (const c of others) await s.release({ queue: c.queue, token: c.token }, false)
  }
}

export function readCases (t: Test, factory: HarnessFactory): void {
  t.test('overview counts every state, pending tasks, dead letters, instances and throughput', async (t) => {
    const { s } = await setup(t, factory)
    const empty = await s.overview()
    t.match(empty, { queues: 0, waiting: 0, running: 0, pendingTasks: 0, deadLetters: 0, liveInstances: 0, completedLastMinute: 0, failedLastMinute: 0, oldestHeadAgeMs: 0 })

    await s.enqueue(task('done', 1))
    const done = await claimOf(s, 'done')
    await s.complete(ref(done), done.id, 'o1', LEASE_MS, false)
    await s.enqueue(task('running', 1))
    const running = await claimOf(s, 'running')
    await s.enqueue(task('retrying', 1))
    await s.fail(ref(await claimOf(s, 'retrying')), failure({ delayMs: 600_000 }))
    await s.enqueue(task('halted', 1))
    await s.fail(ref(await claimOf(s, 'halted')), failure({ maxAttempts: 1 }))
    await s.enqueue({ queue: 'parked', name: 'unknown-handler', payload: '[]' })
    await s.park(ref(await claimOf(s, 'parked')), 'unknown-handler')
    await s.enqueue(task('paused', 1))
    await s.pause('paused')
    await s.enqueue(task('waiting', 1))
    await s.enqueue(task('waiting', 2))
    await s.enqueue(task('dead', 1))
    await s.skipHead('dead', 'skip')
    await s.heartbeat(instance('o1'), [ref(running)], LEASE_MS)

    const o = await s.overview()
    t.match(o, {
      queues: 6,
      waiting: 1,
      running: 1,
      retrying: 1,
      halted: 1,
      paused: 1,
      missingHandler: 1,
      pendingTasks: 7,
      deadLetters: 1,
      liveInstances: 1,
      completedLastMinute: 1,
      // Every failed attempt counts, whatever came of it (retrying here, halted there).
      failedLastMinute: 2,
    })
    t.equal(o.series.length, 60, '60 buckets')
    const last = o.series[59] ?? { at: 0, completed: 0, failed: 0 }
    t.ok(last.at <= o.now && o.now < last.at + 10_000, 'the last bucket is the current one')
    t.ok(o.series.every((b, i) => i === 0 || b.at - (o.series[i - 1]?.at ?? 0) === 10_000), '10 s apart, oldest first')
    t.equal(o.series.reduce((n, b) => n + b.completed, 0), 1, 'the completion is in the series')
    t.equal(o.series.reduce((n, b) => n + b.failed, 0), 2, 'both failures are in the series')
    const oldest = await s.getQueue('running')
    t.equal(o.oldestHeadAgeMs, o.now - (oldest?.head?.enqueuedAt ?? 0), 'age of the oldest head')
  })

  t.test('listQueues sorts by urgency and filters by state and name, with paging', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    // Enqueue order, name order and halt order all differ, so the sort is pinned down.
    await s.enqueue(task('zz-halt', 1))
    await h.advance(5)
    await s.enqueue(task('aa-halt', 1))
    await h.advance(5)
    await s.enqueue(task('mm', 1))
    await h.advance(5)
    await s.enqueue(task('bb', 1))
    const zz = await claimOf(s, 'zz-halt')
    const aa = await claimOf(s, 'aa-halt')
    await s.fail(ref(aa), failure({ maxAttempts: 1, error: 'aa broke' }))
    await h.advance(5)
    await s.fail(ref(zz), failure({ maxAttempts: 1, error: 'zz broke' }))

    const all = await s.listQueues({ offset: 0, limit: 10 })
    t.same(all.items.map((r) => r.name), ['aa-halt', 'zz-halt', 'mm', 'bb'], 'halted first, oldest halt first, then oldest head')
    t.match(all, { total: 4, offset: 0, limit: 10 })
    t.match(all.items[0], { state: 'halted', depth: 1, head: { lastError: 'aa broke', attempts: 1 } })
    t.same(all.items[2], await s.getQueue('mm'), 'rows are the same as getQueue')

    t.same((await s.listQueues({ state: 'halted', offset: 0, limit: 10 })).items.map((r) => r.name), ['aa-halt', 'zz-halt'])
    t.same((await s.listQueues({ state: 'waiting', offset: 0, limit: 10 })).items.map((r) => r.name), ['mm', 'bb'])
    t.match(await s.listQueues({ state: 'running', offset: 0, limit: 10 }), { items: [], total: 0 })
    t.same((await s.listQueues({ search: 'halt', offset: 0, limit: 10 })).items.map((r) => r.name), ['aa-halt', 'zz-halt'])
    t.equal((await s.listQueues({ search: 'HALT', offset: 0, limit: 10 })).total, 0, 'search is case-sensitive')
    t.same((await s.listQueues({ search: 'm', state: 'waiting', offset: 0, limit: 10 })).items.map((r) => r.name), ['mm'], 'search and state combine')
    const page = await s.listQueues({ offset: 1, limit: 2 })
    t.match(page, { total: 4, offset: 1, limit: 2 })
    t.same(page.items.map((r) => r.name), ['zz-halt', 'mm'])
    t.match(await s.listQueues({ offset: 4, limit: 2 }), { items: [], total: 4 })

    if (h.exactClock) {
      // Same head age: by name. Only a store whose clock can stand still can make a tie on purpose.
      await s.enqueue(task('tie-b', 1))
      await s.enqueue(task('tie-a', 1))
      await h.advance(1000)
      const ties = await s.listQueues({ search: 'tie-', offset: 0, limit: 10 })
      t.same(ties.items.map((r) => r.name), ['tie-a', 'tie-b'], 'equal head ages sort by name')
    }
  })

  t.test('queueTasks pages a queue head first; getTask finds head, pending, dead and unknown tasks', async (t) => {
    const { s } = await setup(t, factory)
    const ids = []
    for (let n = 1; n <= 5; n++) ids.push((await s.enqueue(task('q', n))).id)
    const page = await s.queueTasks('q', 1, 2)
    t.match(page, { total: 5, offset: 1, limit: 2 })
    t.match(page.items, [{ id: ids[1], where: 'pending', position: 1, queue: 'q', name: 'job', payload: '[2]' }, { id: ids[2], position: 2 }])
    t.match(await s.queueTasks('q', 0, 1), { items: [{ id: ids[0], where: 'head', position: 0 }] })
    t.match(await s.queueTasks('q', 5, 10), { items: [], total: 5 })

    t.match(await s.getTask(ids[0] ?? ''), { id: ids[0], where: 'head', position: 0, attempts: 0, lastError: null, deadReason: null, deadAt: null })
    t.match(await s.getTask(ids[3] ?? ''), { id: ids[3], where: 'pending', position: 3 })
    const c = await claimOf(s, 'q')
    await s.fail(ref(c), failure({ error: 'first try failed', delayMs: 600_000 }))
    t.match(await s.getTask(ids[0] ?? ''), { where: 'head', attempts: 1, lastError: 'first try failed' })
    await s.skipHead('q', 'skipped')
    t.match(await s.getTask(ids[3] ?? ''), { where: 'pending', position: 2 }, 'positions move up as the head leaves')
    t.match(await s.getTask(ids[1] ?? ''), { where: 'head', position: 0 })
    t.match(await s.getTask(ids[0] ?? ''), { where: 'dead', position: null, deadReason: 'skipped', attempts: 1 })
    t.equal(await s.getTask('no-such-task'), null)
  })

  t.test('listInstances shows an instance for 3 × leaseMs after its heartbeat, newest first; removeInstance drops it', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const shortLease = 200
    const before = await storeNow(s)
    await s.heartbeat(instance('inst-a'), [], shortLease)
    await h.advance(20)
    await s.heartbeat(instance('inst-b', ['job', 'mail']), [], shortLease)
    const after = await storeNow(s)
    const rows = await s.listInstances()
    t.same(rows.map((r) => r.id), ['inst-b', 'inst-a'], 'newest heartbeat first')
    t.match(rows[0], { ...instance('inst-b', ['job', 'mail']), queuesHeld: 0 })
    t.ok((rows[1]?.lastHeartbeatAt ?? 0) >= before && (rows[0]?.lastHeartbeatAt ?? 0) <= after, 'lastHeartbeatAt is store time')
    t.match(await s.overview(), { liveInstances: 2 })
    await s.removeInstance('inst-b')
    t.same((await s.listInstances()).map((r) => r.id), ['inst-a'], 'removed at once')

    await h.advance(shortLease)
    t.same((await s.listInstances()).map((r) => r.id), ['inst-a'], 'still live within 3 × leaseMs')
    await h.advance(3 * shortLease)
    await s.sweep([])
    t.same(await s.listInstances(), [], 'gone 3 × leaseMs after its last heartbeat')
    t.match(await s.overview(), { liveInstances: 0 })
  })

  t.test('an empty queue disappears from every index', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('q', 1))
    const c = await claimOf(s, 'q')
    t.match(await s.complete(ref(c), c.id, 'o1', LEASE_MS, true), { ok: true, next: null })
    t.equal(await s.getQueue('q'), null)
    t.match(await s.listQueues({ offset: 0, limit: 10 }), { items: [], total: 0 })
    t.match(await s.queueTasks('q', 0, 10), { items: [], total: 0 })
    t.match(await s.overview(), { queues: 0, waiting: 0, pendingTasks: 0 })
    t.equal(await s.claim('o1', LEASE_MS), null)
  })
}
