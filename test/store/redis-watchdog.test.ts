import '../helpers/guard'
import t, { type Test } from 'tap'
import { PendingCall, Watchdog, type Watched } from '../../plugin/store/redis/watchdog'

// The one timer behind every store call's commandTimeoutMs (see watchdog.ts).
// Its timer is unref'd (a real call always has its socket keeping the process
// up), so these tests hold the process up themselves while they wait.

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function setup (t: Test): { dog: Watchdog, expired: string[], call: (what: string, inMs: number) => PendingCall<string> } {
  const hold = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(hold))
  const expired: string[] = []
  const dog = new Watchdog((c: Watched) => {
    expired.push(c.what)
    c.reject(new Error(`${c.what} timed out`))
  })
  const call = (what: string, inMs: number): PendingCall<string> => {
    const c = new PendingCall<string>(what, performance.now() + inMs)
    c.promise.catch(() => {})
    dog.watch(c)
    return c
  }
  return { dog, expired, call }
}

t.test('rejects each overdue call once, never early, whatever order the deadlines come in', async (t) => {
  const { dog, expired, call } = setup(t)
  const started = performance.now()
  const late = call('late', 120)
  const early = call('early', 40) // an earlier deadline than one already armed re-arms the timer
  const settledInTime = call('settled', 60)
  settledInTime.resolve('ok')
  dog.settled(settledInTime)
  const stale = call('stale', 80)
  stale.resolve('settled but not reported') // still linked: the sweep drops it unexpired
  await t.rejects(early.promise, /early timed out/)
  t.ok(performance.now() - started >= 39, 'not before its deadline')
  t.same(expired, ['early'])
  await t.rejects(late.promise, /late timed out/)
  t.ok(performance.now() - started >= 119, 'not before its deadline')
  t.same(expired, ['early', 'late'], 'settled calls are never expired')
  t.equal(await settledInTime.promise, 'ok')
  dog.settled(late) // already dropped by the sweep: a no-op
  dog.settled(early)
})

t.test('calls settled out of order leave the others watched', async (t) => {
  const { dog, expired, call } = setup(t)
  const calls = Array.from({ length: 6 }, (_, i) => call(`c${i}`, 50))
  for (const i of [0, 5, 2, 3]) { calls[i].resolve('ok'); dog.settled(calls[i]) }
  await sleep(120)
  t.same(expired.sort(), ['c1', 'c4'])
  // The list is empty again: a new call is watched and expired like the first.
  const again = call('again', 10)
  await t.rejects(again.promise, /again timed out/)
  t.same(expired.sort(), ['again', 'c1', 'c4'])
})

t.test('a burst of calls settled in order costs one timer', async (t) => {
  const { dog, expired, call } = setup(t)
  for (let i = 0; i < 10_000; i++) {
    const c = call(`b${i}`, 30)
    c.resolve('ok')
    dog.settled(c)
  }
  t.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, 1, 'its timer is unref\'d (the one counted is the test\'s own)')
  await sleep(60)
  t.same(expired, [])
})
