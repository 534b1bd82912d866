import type { ClaimedTask } from '../../../plugin/store/store'
import { argOf, LEASE_MS, PAST_LEASE_MS, ref, setup, storeNow, task, type HarnessFactory, type Test } from '../harness'

// Enqueue, claim, complete, release: the path every task takes.

function notNull<T> (t: Test, value: T | null, what: string): T {
  t.not(value, null, what)
  if (value === null) throw new Error(`${what}: got null`)
  return value
}

export function flowCases (t: Test, factory: HarnessFactory): void {
  t.test('enqueue stores tasks in order under short distinct string ids', async (t) => {
    const { s } = await setup(t, factory)
    const before = await storeNow(s)
    const a = await s.enqueue(task('q', 1, { requestId: 'req-1' }))
    const b = await s.enqueue(task('q', 2))
    const c = await s.enqueue(task('q', 3))
    const after = await storeNow(s)
    t.match(a, { queue: 'q', name: 'job', duplicate: false })
    for (const r of [a, b, c]) {
      t.type(r.id, 'string')
      t.ok(r.id.length > 0 && r.id.length <= 64, `id ${r.id} is short`)
    }
    t.equal(new Set([a.id, b.id, c.id]).size, 3, 'ids are distinct')
    const page = await s.queueTasks('q', 0, 10)
    t.same(page.items.map((r) => r.id), [a.id, b.id, c.id], 'stored in enqueue order')
    t.same(page.items.map((r) => r.where), ['head', 'pending', 'pending'])
    t.same(page.items.map((r) => r.position), [0, 1, 2])
    t.same(page.items.map((r) => r.attempts), [0, 0, 0], 'nothing started yet')
    t.same(page.items.map((r) => r.requestId), ['req-1', null, null])
    t.same(page.items.map(argOf), [1, 2, 3], 'payload kept as given')
    for (const r of page.items) t.ok(r.enqueuedAt >= before && r.enqueuedAt <= after, 'enqueuedAt is store time')
    const row = await s.getQueue('q')
    t.match(row, { name: 'q', state: 'waiting', depth: 3, paused: false, holder: null, leaseExpiresAt: null, retryAt: null, haltedAt: null, missingHandler: null })
    t.match(row?.head, { id: a.id, name: 'job', attempts: 0, lastError: null, payload: '[1]', requestId: 'req-1' })
  })

  t.test('claim returns the head with a lease; complete with keep hands back the next head under the same token', async (t) => {
    const { s } = await setup(t, factory)
    const ids = []
    for (let n = 1; n <= 3; n++) ids.push((await s.enqueue(task('q', n, n === 1 ? { requestId: 'req-1' } : {}))).id)
    const before = await storeNow(s)
    const first = notNull(t, await s.claim('owner-a', LEASE_MS), 'claimed')
    const after = await storeNow(s)
    t.match(first, { id: ids[0], queue: 'q', name: 'job', payload: '[1]', attempt: 1, requestId: 'req-1' })
    t.equal(first.lastError, undefined, 'no lastError on a first run')
    t.match(first.token, /^\d+$/, 'token is a decimal string')
    t.ok(first.leaseExpiresAt >= before + LEASE_MS && first.leaseExpiresAt <= after + LEASE_MS, 'lease runs leaseMs from the claim')
    t.match(await s.getQueue('q'), { state: 'running', holder: 'owner-a', leaseExpiresAt: first.leaseExpiresAt, depth: 3 })

    const second = await s.complete(ref(first), first.id, 'owner-a', LEASE_MS, true)
    t.ok(second.ok, 'completed')
    const next = second.ok ? notNull(t, second.next, 'next head handed back') : null
    t.match(next, { id: ids[1], attempt: 1, token: first.token, payload: '[2]' })
    t.ok((next?.leaseExpiresAt ?? 0) >= first.leaseExpiresAt, 'lease renewed')
    t.equal(next?.requestId, undefined, 'no requestId when none was given')

    const third = await s.complete(ref(first), ids[1], 'owner-a', LEASE_MS, true)
    t.match(third, { ok: true, next: { id: ids[2], attempt: 1, token: first.token } })
    const last = await s.complete(ref(first), ids[2], 'owner-a', LEASE_MS, true)
    t.same(last, { ok: true, next: null }, 'nothing left: the lease is released')
    t.equal(await s.getQueue('q'), null, 'the empty queue disappears')
    t.equal(await s.claim('owner-a', LEASE_MS), null)
  })

  t.test('complete is safe to retry after a lost reply: nothing is removed twice', async (t) => {
    const { s } = await setup(t, factory)
    for (let i = 1; i <= 3; i++) await s.enqueue(task('rq', i))
    const first = await s.claim('owner-a', LEASE_MS)
    if (first === null) throw new Error('nothing claimed')
    const once = await s.complete(ref(first), first.id, 'owner-a', LEASE_MS, true)
    const again = await s.complete(ref(first), first.id, 'owner-a', LEASE_MS, true)
    t.ok(once.ok && again.ok, 'both calls succeed')
    const a = once.ok ? once.next : null
    const b = again.ok ? again.next : null
    t.equal(b?.id, a?.id, 'the retry hands back the same next head')
    t.equal(b?.attempt, 1, 'its attempt is not counted twice')
    t.match(await s.getQueue('rq'), { depth: 2 }, 'the unrun task is still there')
    const third = await s.complete(ref(first), a!.id, 'owner-a', LEASE_MS, false)
    t.same(third, { ok: true, next: null }, 'released after the second task')
    t.same(await s.complete(ref(first), a!.id, 'owner-a', LEASE_MS, false), { ok: false, fenced: true }, 'a retry after a release is fenced and changes nothing')
    t.match(await s.getQueue('rq'), { depth: 1, state: 'waiting' })
  })

  t.test('complete with a lookahead also returns the tasks queued behind the next head, counting nothing', async (t) => {
    const { s } = await setup(t, factory)
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push((await s.enqueue(task('la', i, i === 3 ? { requestId: 'req-3' } : {}))).id)
    const first = notNull(t, await s.claim('owner-a', LEASE_MS), 'claimed')
    const r = await s.complete(ref(first), first.id, 'owner-a', LEASE_MS, true, 2)
    const next = r.ok ? notNull(t, r.next, 'next head') : null
    t.match(next, { id: ids[1], attempt: 1, token: first.token })
    t.same(next?.following?.map((f) => [f.id, f.attempt, f.token, f.payload, f.requestId]), [[ids[2], 1, first.token, '[3]', 'req-3'], [ids[3], 1, first.token, '[4]', undefined]], 'two tasks behind it, in order')
    t.same((await s.queueTasks('la', 0, 10)).items.map((row) => row.attempts), [1, 0, 0, 0], 'only the next head counts an attempt')
    // Completing them one by one, as a pipelining worker does, hands each on in turn.
    const again = await s.complete(ref(first), ids[1], 'owner-a', LEASE_MS, true)
    t.match(again, { ok: true, next: { id: ids[2], attempt: 1 } })
    t.equal(again.ok ? again.next?.following : 'x', undefined, 'no lookahead unless asked')
    const last = await s.complete(ref(first), ids[2], 'owner-a', LEASE_MS, true, 10)
    t.same(last.ok ? last.next?.following?.map((f) => f.id) : null, [ids[4]], 'a lookahead past the tail returns what there is')
    const end = await s.complete(ref(first), ids[3], 'owner-a', LEASE_MS, true, 10)
    t.same(end.ok ? end.next?.following ?? [] : null, [], 'nothing behind the last task')
  })

  t.test('claim with a lookahead also returns the tasks queued behind the head, counting nothing', async (t) => {
    const { s } = await setup(t, factory)
    const ids: string[] = []
    for (let i = 1; i <= 4; i++) ids.push((await s.enqueue(task('cl', i, i === 2 ? { requestId: 'req-2' } : {}))).id)
    const first = notNull(t, await s.claim('owner-a', LEASE_MS, undefined, 2), 'claimed')
    t.match(first, { id: ids[0], attempt: 1 })
    t.same(first.following?.map((f) => [f.id, f.attempt, f.token, f.leaseExpiresAt, f.payload, f.requestId]),
      [[ids[1], 1, first.token, first.leaseExpiresAt, '[2]', 'req-2'], [ids[2], 1, first.token, first.leaseExpiresAt, '[3]', undefined]], 'two tasks behind it, in order, under its lease')
    t.same((await s.queueTasks('cl', 0, 10)).items.map((row) => row.attempts), [1, 0, 0, 0], 'only the head counts an attempt')
    // Completing the head (as a pipelining worker's first ack does) hands the next one on with its attempt counted.
    t.match(await s.complete(ref(first), ids[0], 'owner-a', LEASE_MS, true), { ok: true, next: { id: ids[1], attempt: 1 } })
    await s.enqueue(task('other', 1))
    const plain = notNull(t, await s.claim('owner-b', LEASE_MS), 'claimed without a lookahead')
    t.equal(plain.following, undefined, 'no lookahead unless asked')
    await s.enqueue(task('alone', 1))
    const alone = notNull(t, await s.claim('owner-b', LEASE_MS, undefined, 5), 'claimed a queue of one')
    t.same(alone.following ?? [], [], 'nothing behind the only task')
  })

  t.test('claim takes waiting queues FIFO and never hands out a queue that is held', async (t) => {
    const { s, q } = await setup(t, factory)
    const [a, b, c] = q('a', 'b', 'c')
    await s.enqueue(task(a, 1))
    await s.enqueue(task(b, 1))
    await s.enqueue(task(a, 2))
    await s.enqueue(task(c, 1))
    const claims = [await s.claim('o1', LEASE_MS), await s.claim('o2', LEASE_MS), await s.claim('o3', LEASE_MS)]
    t.same(claims.map((c) => c?.queue), [a, b, c], 'queues in the order they became waiting')
    t.equal(await s.claim('o4', LEASE_MS), null, 'queue a still has a task but is held')
    const tokens = claims.map((c) => BigInt(c?.token ?? '0'))
    t.ok(tokens[0] < tokens[1] && tokens[1] < tokens[2], 'tokens only grow')
  })

  t.test('concurrent claims never give one queue to two owners', async (t) => {
    const { s } = await setup(t, factory)
    for (const q of ['a', 'b', 'c']) {
      for (let n = 0; n < 3; n++) await s.enqueue(task(q, n))
    }
    const claims = await Promise.all(Array.from({ length: 12 }, async (_, i) => await s.claim(`o${i}`, LEASE_MS)))
    const got = claims.filter((c): c is ClaimedTask => c !== null)
    t.equal(got.length, 3, 'one claim per queue')
    t.same(got.map((c) => c.queue).sort(), ['a', 'b', 'c'])
    t.same(got.map((c) => argOf(c)), [0, 0, 0], 'each got its head')
  })

  t.test('complete without keep gives the queue back at the end of the line (fairness)', async (t) => {
    const { s, q } = await setup(t, factory)
    const [x, y] = q('x', 'y')
    await s.enqueue(task(x, 1))
    await s.enqueue(task(x, 2))
    await s.enqueue(task(y, 1))
    const x1 = notNull(t, await s.claim('o1', LEASE_MS), 'x claimed')
    t.equal(x1.queue, x)
    t.same(await s.complete(ref(x1), x1.id, 'o1', LEASE_MS, false), { ok: true, next: null }, 'released, no next head')
    t.match(await s.getQueue(x), { state: 'waiting', holder: null, depth: 1 })
    const y1 = notNull(t, await s.claim('o2', LEASE_MS), 'next claim')
    t.equal(y1.queue, y, 'y, which was waiting, goes before x')
    const x2 = notNull(t, await s.claim('o2', LEASE_MS), 'x again')
    t.match(x2, { queue: x, payload: '[2]', attempt: 1 })
    t.ok(BigInt(x2.token) > BigInt(x1.token), 'a new lease has a larger token')
  })

  t.test('release puts the queue at the front; keepAttempt decides whether the claim counted', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const [a, b] = h.q('a', 'b')
    await s.enqueue(task(a, 1))
    await s.enqueue(task(b, 1))
    const c1 = notNull(t, await s.claim('o1', LEASE_MS), 'claim 1')
    t.match(c1, { queue: a, attempt: 1 })
    t.equal(await s.release(ref(c1), false), true, 'released without the attempt')
    t.match(await s.getQueue(a), { state: 'waiting', holder: null, head: { attempts: 0 } }, 'attempt un-counted')
    const c2 = notNull(t, await s.claim('o1', LEASE_MS), 'claim 2')
    t.match(c2, { queue: a, attempt: 1 }, 'front of the line, before b; still attempt 1')
    t.equal(await s.release(ref(c2), true), true, 'released keeping the attempt')
    t.match(await s.getQueue(a), { head: { attempts: 1 } })
    const c3 = notNull(t, await s.claim('o1', LEASE_MS), 'claim 3')
    t.match(c3, { queue: a, attempt: 2 }, 'the kept attempt counts')

    // A crash (lease expires, sweep recovers) counts the attempt too.
    await h.advance(PAST_LEASE_MS)
    t.match(await s.sweep([]), { recovered: 1 })
    // Where a recovered queue goes in the ready list is not part of the contract: take both.
    const both = [await s.claim('o2', LEASE_MS), await s.claim('o2', LEASE_MS)]
    t.same(both.map((c) => c?.queue).sort(), [a, b].sort())
    const c4 = notNull(t, both.find((c) => c?.queue === a) ?? null, 'claim 4')
    t.match(c4, { queue: a, attempt: 3 }, 'claim after a crash counts')
    t.equal(c4.lastError, undefined, 'a crash records no error')
  })
}
