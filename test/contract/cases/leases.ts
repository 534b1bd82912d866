import {
  drainWakes, failure, instance, LEASE_MS, PAST_LEASE_MS, ref, rejectsWith, setup, storeNow, task, within, realSleep,
  type HarnessFactory, type Test,
} from '../harness'

// G2 fencing, heartbeats, crash recovery (G6) and parking for a missing handler.

export function leaseCases (t: Test, factory: HarnessFactory): void {
  t.test('a stale token changes nothing once the lease expired and another owner took the queue', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const first = await s.enqueue(task('q', 1))
    const second = await s.enqueue(task('q', 2))
    const a = await s.claim('owner-a', LEASE_MS)
    if (a === null) throw new Error('nothing claimed')
    await h.advance(PAST_LEASE_MS)
    t.match(await s.sweep([]), { recovered: 1 }, 'the expired lease is recovered')
    t.match(await s.getQueue('q'), { state: 'waiting', holder: null })
    const b = await s.claim('owner-b', LEASE_MS)
    if (b === null) throw new Error('nothing claimed by b')
    t.match(b, { id: first.id, attempt: 2 }, 'the same head, one more attempt')
    t.ok(BigInt(b.token) > BigInt(a.token), 'the new token is larger')

    t.same(await s.complete(ref(a), a.id, 'owner-a', LEASE_MS, true), { ok: false, fenced: true }, 'stale complete is fenced')
    t.same(await s.fail(ref(a), failure({ maxAttempts: 1 })), { ok: false, fenced: true }, 'stale fail is fenced')
    t.equal(await s.release(ref(a), false), false, 'stale release is refused')
    t.equal(await s.park(ref(a), 'other'), false, 'stale park is refused')
    t.same(await s.heartbeat(instance('owner-a'), [ref(a)], LEASE_MS), ['q'], 'heartbeat reports the queue lost')
    t.match(await s.getQueue('q'), { state: 'running', holder: 'owner-b', depth: 2, head: { id: first.id, attempts: 2, lastError: null } }, 'nothing changed')
    t.same(await s.complete({ queue: 'no-such-queue', token: a.token }, a.id, 'owner-a', LEASE_MS, true), { ok: false, fenced: true }, 'unknown queue is fenced')

    t.match(await s.complete(ref(b), b.id, 'owner-b', LEASE_MS, true), { ok: true, next: { id: second.id, token: b.token } }, 'the holder goes on')
  })

  t.test('an expired lease is fenced even before a sweep recovers it (G2)', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const first = await s.enqueue(task('q', 1))
    const a = await s.claim('owner-a', LEASE_MS)
    if (a === null) throw new Error('nothing claimed')
    await h.advance(PAST_LEASE_MS)
    t.same(await s.complete(ref(a), a.id, 'owner-a', LEASE_MS, true), { ok: false, fenced: true }, 'complete after expiry is fenced')
    t.same(await s.heartbeat(instance('owner-a'), [ref(a)], LEASE_MS), ['q'], 'an expired lease cannot be extended')
    t.match(await s.sweep([]), { recovered: 1 })
    t.match(await s.claim('owner-b', LEASE_MS), { id: first.id, attempt: 2 }, 'the task was not removed')
  })

  t.test('heartbeat extends the leases it names so sweep leaves them alone, and records the instance', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    await s.enqueue(task('q', 1))
    await s.enqueue(task('other', 1))
    const a = await s.claim('owner-a', LEASE_MS)
    const other = await s.claim('owner-a', LEASE_MS)
    if (a === null || other === null) throw new Error('nothing claimed')
    await h.advance(LEASE_MS / 2)
    // The heartbeat extends by a longer lease than the claims granted, so the check below holds
    // however slowly a loaded machine runs the calls in between (real time on Redis).
    const extended = LEASE_MS * 4
    const before = await storeNow(s)
    t.same(await s.heartbeat(instance('owner-a'), [ref(a)], extended), [], 'nothing lost')
    const after = await storeNow(s)
    const row = await s.getQueue('q')
    const expires = row?.leaseExpiresAt ?? 0
    t.ok(expires >= before + extended && expires <= after + extended, 'extended to leaseMs from the heartbeat')
    t.match(await s.listInstances(), [{ id: 'owner-a', host: 'test-host', pid: 4242, version: '0.0.0-test', concurrency: 4, handlers: ['job'], queuesHeld: 2 }])

    // Past the first expiry, inside the extended one.
    await h.advance(LEASE_MS * 3 / 4)
    t.match(await s.sweep([]), { recovered: 1 }, 'only the lease not named in the heartbeat is recovered')
    t.match(await s.getQueue('q'), { state: 'running', holder: 'owner-a' })
    t.match(await s.getQueue('other'), { state: 'waiting', holder: null })
    t.equal((await s.claim('owner-b', LEASE_MS))?.queue, 'other', 'the extended queue is not handed out')
    t.match(await s.complete(ref(a), a.id, 'owner-a', LEASE_MS, true), { ok: true, next: null }, 'the extended lease still acknowledges')
  })

  t.test('sweep recovers expired leases and wakes a waiting worker', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    await s.enqueue(task('q', 1))
    const a = await s.claim('owner-a', LEASE_MS)
    if (a === null) throw new Error('nothing claimed')
    t.match(await s.sweep([]), { recovered: 0 }, 'a live lease stays')
    await drainWakes(s)
    const woken = s.waitForWork(10_000)
    await h.advance(PAST_LEASE_MS)
    t.match(await s.sweep([]), { recovered: 1, promoted: 0, unparked: 0 })
    t.equal(await within(woken, 5000), true, 'the sweep woke the waiter')
    t.match(await s.claim('owner-b', LEASE_MS), { queue: 'q', attempt: 2 })
  })

  t.test('park puts the queue in missing-handler until a sweep from an instance with that handler', async (t) => {
    const { s } = await setup(t, factory)
    const first = await s.enqueue({ queue: 'q', name: 'needs-x', payload: '[]' })
    const c1 = await s.claim('owner-a', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    t.equal(await s.park(ref(c1), 'needs-x'), true)
    t.match(await s.getQueue('q'), { state: 'missing-handler', missingHandler: 'needs-x', holder: null, head: { id: first.id, attempts: 0 } }, 'parking un-counts the attempt')
    t.equal(await s.claim('owner-b', LEASE_MS), null, 'not claimable')
    await rejectsWith(t, s.retryHead('q'), 'FST_FIFO_CONFLICT', 'q', 'retryHead on a missing-handler queue')
    t.match(await s.overview(), { missingHandler: 1 })
    t.equal((await s.listQueues({ state: 'missing-handler', offset: 0, limit: 10 })).total, 1)
    t.match(await s.sweep(['job', 'other']), { unparked: 0 }, 'a sweep without the handler leaves it parked')
    t.match(await s.getQueue('q'), { state: 'missing-handler' })
    await drainWakes(s)
    const woken = s.waitForWork(10_000)
    await realSleep(20)
    t.match(await s.sweep(['job', 'needs-x']), { unparked: 1 })
    t.equal(await within(woken, 5000), true, 'unparking wakes a worker')
    t.match(await s.getQueue('q'), { state: 'waiting', missingHandler: null })
    t.match(await s.claim('owner-b', LEASE_MS), { id: first.id, name: 'needs-x', attempt: 1 })
  })
}
