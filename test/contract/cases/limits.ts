import type { ClaimedTask, LimitHolder, LimitSpec, Store, ThrottleInput } from '../../../plugin/store/store'
import { LEASE_MS, PAST_LEASE_MS, ref, setup, storeNow, task, type HarnessFactory, type Test } from '../harness'

// G9: a limiter's rate and concurrency hold for every holder; a head without a token waits at its head, attempt un-counted.

const holder = (c: ClaimedTask): LimitHolder => ({ queue: c.queue, token: c.token, taskId: c.id })
const refused = (afterMs: number, limiter: string, over: Partial<ThrottleInput> = {}): ThrottleInput =>
  ({ afterMs, limiter, backoff: false, maxBackoffs: 20, taskId: '', ...over })

async function claimed (s: Store, owner = 'o1'): Promise<ClaimedTask> {
  const c = await s.claim(owner, LEASE_MS)
  if (c === null) throw new Error('nothing claimed')
  return c
}

/** Enqueues one task on each of `queues` and claims them all, in that order. */
async function heads (s: Store, queues: string[]): Promise<ClaimedTask[]> {
  for (const [i, q] of queues.entries()) await s.enqueue(task(q, i))
  const out: ClaimedTask[] = []
  for (let i = 0; i < queues.length; i++) out.push(await claimed(s))
  // In the order given: a partitioned store keeps claim order between queues only within a partition.
  return queues.map((q) => {
    const c = out.find((x) => x.queue === q)
    if (c === undefined) throw new Error(`queue ${q} was not claimed`)
    return c
  })
}

export function limitCases (t: Test, factory: HarnessFactory): void {
  const rate: LimitSpec = { name: 'api', max: 2, perMs: 400, concurrency: 0 }

  t.test('a rate: max starts per sliding window, then a refusal that says when; the throttled head keeps its place and attempt', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const [a, b, c] = await heads(s, ['a', 'b', 'c'])
    await s.enqueue(task('c', 9))
    const before = await storeNow(s)
    const first = await s.acquireLimit(rate, holder(a), LEASE_MS)
    t.match(first, { ok: true, at: Number })
    t.match(await s.acquireLimit(rate, holder(b), LEASE_MS), { ok: true, at: Number })
    const grantedAt = first.ok ? first.at : 0
    t.ok(grantedAt >= before && grantedAt <= await storeNow(s), 'a grant says when it was granted, on the store clock')
    const no = await s.acquireLimit(rate, holder(c), LEASE_MS)
    t.match(no, { ok: false, reason: 'rate' })
    const until = no.ok ? 0 : no.until
    t.equal(until, grantedAt + rate.perMs, 'free again exactly one window after the first grant: the window counts starts at their grant time')
    t.match(await s.listLimiters(), [{ name: 'api', max: 2, perMs: 400, concurrency: 0, usedInWindow: 2, running: 0, paused: false }])

    const th = await s.throttle(ref(c), refused(no.ok ? 0 : no.until - no.now, 'api', { taskId: c.id }))
    t.match(th, { ok: true, woken: false })
    const throttledUntil = th.ok ? th.until : 0
    t.ok(throttledUntil >= until && throttledUntil < until + 200, 'throttled until the time the refusal gave')
    t.match(await s.getQueue('c'), { state: 'throttled', throttledUntil, limiter: 'api', retryAt: null, holder: null, depth: 2, head: { id: c.id, attempts: 0 } },
      'throttled at its head, the attempt the claim counted taken back')
    t.match(await s.overview(), { throttled: 1, retrying: 0, running: 2 })
    t.equal((await s.listQueues({ state: 'throttled', offset: 0, limit: 10 })).total, 1)
    t.match(await s.listLimiters(), [{ name: 'api', queuesWaiting: 1 }])
    t.equal(await s.claim('o2', LEASE_MS), null, 'a throttled queue cannot be claimed')
    t.equal(await s.wakeThrottled(['c'], true), 0, 'not due yet')
    t.match(await s.sweep([]), { promoted: 0, nextRetryAt: throttledUntil })

    await h.advance(throttledUntil - await storeNow(s) + 50)
    t.match(await s.sweep([]), { promoted: 1 })
    t.match(await s.getQueue('c'), { state: 'waiting', throttledUntil: null, limiter: null })
    const again = await claimed(s, 'o2')
    t.match(again, { id: c.id, attempt: 1 }, 'the same head, still its first attempt')
    t.match(await s.acquireLimit(rate, holder(again), LEASE_MS), { ok: true, at: Number }, 'the window has moved on')
  })

  t.test('refusals of a busy rate limiter are promised times one token apart', async (t) => {
    const { s } = await setup(t, factory)
    const spec: LimitSpec = { name: 'slow', max: 1, perMs: 200, concurrency: 0 }
    const cs = await heads(s, ['a', 'b', 'c', 'd'])
    t.match(await s.acquireLimit(spec, holder(cs[0]), LEASE_MS), { ok: true, at: Number })
    const dues: number[] = []
    for (const c of cs.slice(1)) {
      const r = await s.acquireLimit(spec, holder(c), LEASE_MS)
      if (r.ok) return t.fail('granted over the rate')
      dues.push(r.until)
    }
    t.ok(dues[1] - dues[0] >= 200 && dues[2] - dues[1] >= 200, `spaced ${dues.join(', ')}`)
  })

  t.test('concurrency: running slots across holders; a release wakes the queue that waited', async (t) => {
    const { s } = await setup(t, factory)
    const spec: LimitSpec = { name: 'pool', max: 0, perMs: 0, concurrency: 1 }
    const [a, b] = await heads(s, ['a', 'b'])
    t.match(await s.acquireLimit(spec, holder(a), LEASE_MS), { ok: true, at: Number })
    const no = await s.acquireLimit(spec, holder(b), LEASE_MS)
    t.match(no, { ok: false, reason: 'concurrency' })
    t.match(await s.listLimiters(), [{ name: 'pool', running: 1, usedInWindow: 0 }])
    t.match(await s.throttle(ref(b), refused(no.ok ? 0 : no.until - no.now, 'pool', { taskId: b.id })), { ok: true, woken: false })
    t.match(await s.getQueue('b'), { state: 'throttled', limiter: 'pool' })
    await s.releaseLimit('pool', holder(a))
    t.match(await s.getQueue('b'), { state: 'waiting' }, 'woken by the release, not by a timer')
    const b2 = await claimed(s, 'o2')
    t.equal(b2.id, b.id)
    t.match(await s.acquireLimit(spec, holder(b2), LEASE_MS), { ok: true, at: Number })
    t.match(await s.listLimiters(), [{ name: 'pool', running: 1 }])
  })

  t.test('a release that comes between a refusal and its throttle is not lost', async (t) => {
    const { s } = await setup(t, factory)
    const spec: LimitSpec = { name: 'pool', max: 0, perMs: 0, concurrency: 1 }
    const [a, b] = await heads(s, ['a', 'b'])
    await s.acquireLimit(spec, holder(a), LEASE_MS)
    const no = await s.acquireLimit(spec, holder(b), LEASE_MS)
    await s.releaseLimit('pool', holder(a))
    t.match(await s.throttle(ref(b), refused(no.ok ? 0 : no.until - no.now, 'pool', { taskId: b.id })), { ok: true, woken: true })
    t.match(await s.getQueue('b'), { state: 'waiting', head: { attempts: 0 } })
  })

  t.test('a slot lives as long as its lease: renewed with the heartbeat, back after it expires', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    const spec: LimitSpec = { name: 'pool', max: 0, perMs: 0, concurrency: 1 }
    const [a, b, c] = await heads(s, ['a', 'b', 'c'])
    await s.acquireLimit(spec, holder(a), LEASE_MS)
    await h.advance(LEASE_MS / 2)
    await s.renewLimits([{ limiter: 'pool', holder: holder(a) }], LEASE_MS)
    await h.advance(LEASE_MS / 2 + 100)
    t.match(await s.acquireLimit(spec, holder(b), LEASE_MS), { ok: false, reason: 'concurrency' }, 'renewed: still held past the first expiry')
    await h.advance(PAST_LEASE_MS)
    t.match(await s.acquireLimit(spec, holder(c), LEASE_MS), { ok: true, at: Number }, 'a holder that stopped renewing (killed) gives its slot back')
  })

  t.test('a back-off keeps the head and its attempt, up to maxBackoffs; a limiter back-off pauses it for everyone', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    await s.enqueue(task('a', 1))
    let a = await claimed(s)
    for (let i = 1; i <= 2; i++) {
      t.match(await s.throttle(ref(a), refused(50, 'api', { backoff: true, maxBackoffs: 2, taskId: a.id })), { ok: true })
      t.match(await s.getQueue('a'), { state: 'throttled', head: { attempts: 0 } }, `back-off ${i}: attempt not used`)
      await h.advance(100)
      await s.sweep([])
      a = await claimed(s)
      t.equal(a.attempt, 1)
    }
    t.same(await s.throttle(ref(a), refused(50, 'api', { backoff: true, maxBackoffs: 2, taskId: a.id })), { ok: false, overCap: true }, 'the third is over the cap')
    t.match(await s.getQueue('a'), { state: 'running' }, 'nothing changed')

    await s.enqueue(task('b', 2))
    const b = await claimed(s, 'o2')
    const before = await storeNow(s)
    await s.pauseLimiter('api', 300)
    const no = await s.acquireLimit(rate, holder(b), LEASE_MS)
    t.match(no, { ok: false, reason: 'backoff' })
    t.ok(!no.ok && no.until >= before + 300 && no.until <= before + 500, 'paused for the time given')
    t.match(await s.listLimiters(), [{ name: 'api', paused: true, pausedBy: 'backoff', pausedUntil: no.ok ? 0 : no.until, backoffs: 1 }])
    await s.pauseLimiter('api', 10)
    t.match(await s.listLimiters(), [{ pausedUntil: no.ok ? 0 : no.until, backoffs: 2 }], 'a shorter back-off does not shorten a longer one')
    await h.advance(450)
    t.match(await s.acquireLimit(rate, holder(b), LEASE_MS), { ok: true, at: Number })
    t.match(await s.listLimiters(), [{ paused: false, pausedBy: null }])
  })

  t.test('an operator pause holds a limiter until resumed, which wakes its waiting queues', async (t) => {
    const { s } = await setup(t, factory)
    const [a] = await heads(s, ['a'])
    await s.pauseLimiter('api', null)
    const no = await s.acquireLimit(rate, holder(a), LEASE_MS)
    t.match(no, { ok: false, reason: 'paused' })
    t.match(await s.listLimiters(), [{ name: 'api', paused: true, pausedBy: 'operator', pausedUntil: null }])
    await s.throttle(ref(a), refused(no.ok ? 0 : no.until - no.now, 'api', { taskId: a.id }))
    t.match(await s.getQueue('a'), { state: 'throttled' })
    await s.resumeLimiter('api')
    t.match(await s.getQueue('a'), { state: 'waiting' })
    t.match(await s.acquireLimit(rate, holder(await claimed(s)), LEASE_MS), { ok: true, at: Number })
  })

  t.test('operators: retry runs a throttled head now, skip takes its mark along; a fenced throttle changes nothing', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('a', 1))
    await s.enqueue(task('a', 2))
    const a = await claimed(s)
    const far = 60_000
    await s.throttle(ref(a), refused(far, 'api', { taskId: a.id }))
    t.match(await s.throttle(ref(a), refused(far, 'api', { taskId: a.id })), { ok: false, fenced: true })
    await s.retryHead('a')
    t.match(await s.getQueue('a'), { state: 'waiting', throttledUntil: null })
    const again = await claimed(s)
    await s.throttle(ref(again), refused(far, 'api', { taskId: again.id }))
    await s.skipHead('a', 'no longer needed')
    t.match(await s.getQueue('a'), { state: 'waiting', depth: 1, throttledUntil: null, limiter: null })
    t.match(await s.overview(), { throttled: 0 })
  })
}
