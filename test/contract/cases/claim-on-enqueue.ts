import { drainWakes, LEASE_MS, ref, setup, storeNow, task, type HarnessFactory, type Test } from '../harness'

// enqueue(task, claim): the enqueuing instance takes the lease of the queue its task made runnable.

export function claimOnEnqueueCases (t: Test, factory: HarnessFactory): void {
  const offer = { owner: 'owner-a', leaseMs: LEASE_MS }

  t.test('a task that makes its queue runnable is leased to the claimer at once, as claim would', async (t) => {
    const { s, q } = await setup(t, factory)
    // Tokens are compared across queues: one claim order (one partition).
    const [, pq] = q('q', 'p')
    await drainWakes(s)
    const before = await storeNow(s)
    const r = await s.enqueue(task('q', 1, { requestId: 'req-1' }), offer)
    const after = await storeNow(s)
    t.match(r, { queue: 'q', name: 'job', duplicate: false })
    const c = r.claimed
    t.ok(c, 'claimed')
    if (c === undefined) return
    t.match(c, { id: r.id, queue: 'q', name: 'job', payload: '[1]', attempt: 1, requestId: 'req-1' })
    t.equal(c.lastError, undefined)
    t.ok(c.enqueuedAt >= before && c.enqueuedAt <= after, 'enqueuedAt is store time')
    t.ok(c.leaseExpiresAt >= before + LEASE_MS && c.leaseExpiresAt <= after + LEASE_MS, 'lease runs leaseMs')
    t.match(c.token, /^\d+$/)
    t.match(await s.getQueue('q'), { state: 'running', holder: 'owner-a', depth: 1, head: { id: r.id, attempts: 1 } })
    t.equal(await s.claim('owner-b', LEASE_MS), null, 'the queue is not also waiting')
    t.equal(await s.waitForWork(50), false, 'nobody was woken')
    // The lease is an ordinary one: tokens grow, complete and fencing work.
    const later = await s.enqueue(task('q', 2), offer)
    t.equal(later.claimed, undefined, 'a queue that already has tasks claims nothing')
    const done = await s.complete(ref(c), c.id, 'owner-a', LEASE_MS, true)
    t.match(done, { ok: true, next: { id: later.id, attempt: 1, token: c.token } })
    const other = await s.enqueue(task(pq, 1))
    t.equal(other.claimed, undefined, 'no claim without an offer')
    const p = await s.claim('owner-b', LEASE_MS)
    t.ok(p !== null && BigInt(p.token) > BigInt(c.token), 'a later claim gets a larger token')
  })

  t.test('no claim for a paused queue, a held queue, or a dedupe hit', async (t) => {
    const { s } = await setup(t, factory)
    // An empty paused queue: its last head finished after the pause.
    const held = await s.enqueue(task('paused', 1), offer)
    if (held.claimed === undefined) throw new Error('not claimed')
    await s.pause('paused')
    t.match(await s.complete(ref(held.claimed), held.id, 'owner-a', LEASE_MS, true), { ok: true, next: null })
    const a = await s.enqueue(task('paused', 2), offer)
    t.equal(a.claimed, undefined, 'paused')
    t.match(await s.getQueue('paused'), { state: 'paused', depth: 1, holder: null })

    const first = await s.enqueue(task('d', 1, { dedupeId: 'x', dedupeMs: 60_000 }), offer)
    t.ok(first.claimed, 'the first enqueue claims')
    if (first.claimed === undefined) return
    await s.complete(ref(first.claimed), first.id, 'owner-a', LEASE_MS, false)
    const dup = await s.enqueue(task('d', 2, { dedupeId: 'x', dedupeMs: 60_000 }), offer)
    t.match(dup, { id: first.id, duplicate: true })
    t.equal(dup.claimed, undefined, 'a dedupe hit claims nothing')
    t.equal(await s.getQueue('d'), null, 'and adds nothing')

    // Two enqueues to one new queue, sent together: only the first makes it runnable.
    const [x, y] = await Promise.all([s.enqueue(task('two', 1), offer), s.enqueue(task('two', 2), offer)])
    t.ok(x.claimed, 'the first claims')
    t.equal(y.claimed, undefined, 'the second only appends')
    t.match(await s.getQueue('two'), { state: 'running', depth: 2, holder: 'owner-a' })
  })

  t.test('a claim on enqueue counts the attempt and expires like any lease', async (t) => {
    const { s } = await setup(t, factory)
    const r = await s.enqueue(task('q', 1), offer)
    t.ok(r.claimed)
    if (r.claimed === undefined) return
    const released = await s.release(ref(r.claimed), false)
    t.equal(released, true, 'released un-counting the attempt')
    const again = await s.claim('owner-b', LEASE_MS)
    t.match(again, { id: r.id, attempt: 1, queue: 'q' }, 'the head never started, so attempt 1 again')
  })
}
