import { LEASE_MS, PAST_LEASE_MS, ref, setup, task, type HarnessFactory, type Test } from '../harness'

// What only a shared, durable store can do. MemoryStore lives in one process
// and keeps nothing across a restart, so these cases say so and skip for it.

const notShared = 'MemoryStore is single-process and not durable: a second process cannot open its data and a restart loses it (by design; the plugin logs it loudly)'

export function processCases (t: Test, factory: HarnessFactory, shared: boolean): void {
  const skip = shared ? false : notShared
  t.test('accepted tasks and leases survive the process that wrote them (G3)', { skip }, async (t) => {
    const h = await setup(t, factory)
    if (h.reopen === undefined) throw new Error('a shared store harness needs reopen()')
    const { s } = h
    const first = await s.enqueue(task('q', 1))
    const second = await s.enqueue(task('q', 2))
    const c = await s.claim('crashed-owner', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    await s.close() // the first process goes away without completing
    const s2 = await h.reopen()
    t.match(await s2.getQueue('q'), { state: 'running', holder: 'crashed-owner', depth: 2 })
    t.equal(await s2.claim('new-owner', LEASE_MS), null, 'its lease still holds')
    await h.advance(PAST_LEASE_MS)
    t.match(await s2.sweep([]), { recovered: 1 }, 'a sweep from another process takes the queue over (G6)')
    const again = await s2.claim('new-owner', LEASE_MS)
    t.match(again, { id: first.id, attempt: 2 })
    if (again === null) return
    t.match(await s2.complete(ref(again), 'new-owner', LEASE_MS, true), { ok: true, next: { id: second.id } })
  })

  t.test('two processes on one namespace share queues and never hold one queue together (G2)', { skip }, async (t) => {
    const h = await setup(t, factory)
    if (h.reopen === undefined) throw new Error('a shared store harness needs reopen()')
    const a = h.store
    const b = await h.reopen()
    await a.enqueue(task('q', 1))
    await b.enqueue(task('q', 2))
    const claims = await Promise.all([a.claim('proc-a', LEASE_MS), b.claim('proc-b', LEASE_MS), a.claim('proc-a', LEASE_MS), b.claim('proc-b', LEASE_MS)])
    const got = claims.filter((c) => c !== null)
    t.equal(got.length, 1, 'one holder')
    t.match(got[0], { payload: '[1]' })
    const other = got[0]?.queue === 'q' && claims.indexOf(got[0]) % 2 === 0 ? b : a
    t.match(await other.getQueue('q'), { state: 'running', depth: 2 }, 'both see the same state')
  })
}
