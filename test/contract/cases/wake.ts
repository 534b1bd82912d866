import { drainWakes, failure, LEASE_MS, realSleep, ref, setup, task, within, type HarnessFactory, type Test } from '../harness'

// waitForWork: how idle workers learn that something became runnable.

export function wakeCases (t: Test, factory: HarnessFactory): void {
  t.test('waitForWork times out with false when nothing happens', async (t) => {
    const { s } = await setup(t, factory)
    t.equal(await s.waitForWork(100), false)
  })

  t.test('waitForWork is woken by an enqueue that makes a queue runnable', async (t) => {
    const { s } = await setup(t, factory)
    const woken = s.waitForWork(10_000)
    await realSleep(20)
    await s.enqueue(task('q', 1))
    t.equal(await within(woken, 5000), true)
  })

  t.test('a wake-up sent while no worker waited is not lost', async (t) => {
    const { s } = await setup(t, factory)
    await s.enqueue(task('q', 1))
    t.equal(await within(s.waitForWork(2000), 5000), true, 'the next wait returns at once')
  })

  t.test('waitForWork is woken by release, retry promotion and retryHead', async (t) => {
    const h = await setup(t, factory)
    const { s } = h
    await s.enqueue(task('q', 1))
    const c1 = await s.claim('o1', LEASE_MS)
    if (c1 === null) throw new Error('nothing claimed')
    await drainWakes(s)
    let woken = s.waitForWork(10_000)
    await realSleep(20)
    await s.release(ref(c1), false)
    t.equal(await within(woken, 5000), true, 'release')

    const c2 = await s.claim('o1', LEASE_MS)
    if (c2 === null) throw new Error('nothing claimed')
    await s.fail(ref(c2), failure({ delayMs: 100 }))
    await drainWakes(s)
    woken = s.waitForWork(10_000)
    await h.advance(200)
    t.match(await s.sweep([]), { promoted: 1 })
    t.equal(await within(woken, 5000), true, 'sweep promoting a due retry')

    const c3 = await s.claim('o1', LEASE_MS)
    if (c3 === null) throw new Error('nothing claimed')
    await s.fail(ref(c3), failure({ delayMs: 600_000 }))
    await drainWakes(s)
    woken = s.waitForWork(10_000)
    await realSleep(20)
    await s.retryHead('q')
    t.equal(await within(woken, 5000), true, 'retryHead')
    t.match(await s.claim('o1', LEASE_MS), { attempt: 3 })
  })

  t.test('interruptWait makes a pending waitForWork resolve false', async (t) => {
    const { s } = await setup(t, factory)
    const waiting = s.waitForWork(30_000)
    await realSleep(50)
    s.interruptWait()
    t.equal(await within(waiting, 5000), false, 'resolved false well before its timeout')
    t.equal(await s.waitForWork(50), false, 'a later wait works normally')
  })

  t.test('close makes a pending waitForWork resolve false', async (t) => {
    const { s } = await setup(t, factory)
    const waiting = s.waitForWork(30_000)
    await realSleep(50)
    await s.close()
    t.equal(await within(waiting, 5000), false)
    await s.close()
    t.pass('close is idempotent')
    t.equal(await s.waitForWork(1000), false, 'a closed store does not wait')
    await t.rejects(s.enqueue(task('q', 1)), 'a closed store accepts no task')
  })
}
