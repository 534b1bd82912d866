import { failure, LEASE_MS, PAST_LEASE_MS, ref, setup, task, type HarnessFactory, type StoreFeatures, type Test } from '../harness'

// What only a shared, durable store can do, or only a store of encoded
// records can suffer. MemoryStore lives in one process, keeps nothing across a
// restart and holds records as objects, so these cases say so and skip for it.

const notShared = 'MemoryStore is single-process and not durable: a second process cannot open its data and a restart loses it (by design; the plugin logs it loudly)'

const noBytes = 'MemoryStore holds task records as objects, never as bytes, so no stored record can fail to decode'

export function processCases (t: Test, factory: HarnessFactory, features: StoreFeatures): void {
  const skip = features.sharedAcrossProcesses ? false : notShared
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
    t.match(await s2.complete(ref(again), again.id, 'new-owner', LEASE_MS, true), { ok: true, next: { id: second.id } })
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

  t.test('a stored head that does not decode is handed out marked corrupt and can be dead-lettered (G8)', { skip: features.encodedRecords ? false : noBytes }, async (t) => {
    const h = await setup(t, factory)
    if (h.corruptHead === undefined) throw new Error('a store of encoded records needs corruptHead()')
    const { s } = h
    await s.enqueue(task('q', 1))
    const second = await s.enqueue(task('q', 2))
    await h.corruptHead('q')
    const c = await s.claim('o1', LEASE_MS)
    if (c === null) throw new Error('nothing claimed')
    t.type(c.corrupt, 'string', 'claim says why the record is corrupt')
    t.equal(c.queue, 'q')
    t.match(await s.fail(ref(c), failure({ error: `corrupt: ${c.corrupt ?? ''}`, deadLetterNow: true })), { ok: true, outcome: 'dead' })
    t.match(await s.listDead(0, 10), { total: 1, items: [{ queue: 'q', reason: /corrupt/ }] })
    t.match(await s.claim('o1', LEASE_MS), { id: second.id, attempt: 1 }, 'the queue moves on')
  })
}
