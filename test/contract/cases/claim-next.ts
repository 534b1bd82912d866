import type { ClaimedTask, Store } from '../../../plugin/store/store'
import { argOf, LEASE_MS, ref, setup, task, type HarnessFactory, type Test } from '../harness'

// complete(…, claimNext): a completion that releases its queue also claims the
// first waiting queue for the caller, as claim would, in the same call.

/** Enqueues `tasks` ([queue, n]) in order, then claims for o1: the first queue's head. */
async function enqueueAndClaim (s: Store, tasks: Array<[string, number]>): Promise<ClaimedTask> {
  for (const [queue, n] of tasks) await s.enqueue(task(queue, n))
  const claimed = await s.claim('o1', LEASE_MS)
  if (claimed === null) throw new Error(`${tasks[0][0]} not claimed`)
  return claimed
}

/** complete() of `head` by o1 with claimNext, as the worker sends it. */
const completeClaiming = async (s: Store, head: ClaimedTask, keep = true, lookahead = 0) =>
  await s.complete(ref(head), head.id, 'o1', LEASE_MS, keep, lookahead, undefined, true)

export function claimNextCases (t: Test, factory: HarnessFactory, supported: boolean): void {
  if (!supported) {
    t.test('a store that ignores claimNext completes as without it, and claim takes the waiting queue', async (t) => {
      const { s, q } = await setup(t, factory)
      const [x, y] = q('x', 'y')
      const x1 = await enqueueAndClaim(s, [[x, 1], [y, 1]])
      t.same(await completeClaiming(s, x1), { ok: true, next: null }, 'released, nothing claimed')
      t.match(await s.claim('o1', LEASE_MS), { queue: y, attempt: 1 })
    })
    return
  }
  t.test('a completion that empties its queue claims the first waiting queue for the caller', async (t) => {
    // Tokens and the ready list are compared across queues: one claim order (one partition).
    const { s, q } = await setup(t, factory)
    const [x, y, z] = q('x', 'y', 'z')
    const x1 = await enqueueAndClaim(s, [[x, 1], [y, 1], [y, 2], [z, 1]])
    t.equal(x1.queue, x)
    // A lookahead (pipelined acks) comes with the claimed head too, as with claim's.
    const r = await completeClaiming(s, x1, true, 5)
    t.match(r, { ok: true, next: null }, 'x is empty: released')
    const c = r.ok ? r.claimed : undefined
    t.ok(c, 'another queue came back with the completion')
    if (c === undefined) return
    t.match(c, { queue: y, name: 'job', attempt: 1 }, 'y, the first waiting queue')
    t.equal(argOf(c), 1, 'its head')
    t.same(c.following?.map(argOf), [2], 'and the task queued behind it')
    t.ok(BigInt(c.token) > BigInt(x1.token), 'its lease has a new, larger token')
    t.match(await s.getQueue(y), { state: 'running', holder: 'o1', depth: 2, head: { attempts: 1 } })
    t.equal(await s.getQueue(x), null, 'x is gone')
    t.equal((await s.claim('o2', LEASE_MS))?.queue, z, 'the next claim gets the queue after it')
    // The claimed lease is an ordinary one: its holder goes on through it.
    t.match(await completeClaiming(s, c), { ok: true, next: { queue: y, token: c.token } })
  })

  t.test('a completion that hands back the next head claims nothing else', async (t) => {
    const { s, q } = await setup(t, factory)
    const [x, y] = q('x', 'y')
    const x1 = await enqueueAndClaim(s, [[x, 1], [x, 2], [y, 1]])
    const r = await completeClaiming(s, x1)
    t.match(r, { ok: true, next: { queue: x, token: x1.token } })
    t.equal(r.ok ? r.claimed : 'fenced', undefined, 'nothing claimed')
    t.equal((await s.claim('o2', LEASE_MS))?.queue, y, 'y still waits for anyone')
  })

  t.test('a completion without keep sends its queue to the back of the line and claims the front', async (t) => {
    const { s, q } = await setup(t, factory)
    const [x, y] = q('x', 'y')
    const x1 = await enqueueAndClaim(s, [[x, 1], [x, 2], [y, 1]])
    t.match(await completeClaiming(s, x1, false), { ok: true, next: null, claimed: { queue: y, attempt: 1 } }, 'y was ahead of x, which ran its burst')
    t.match(await s.getQueue(x), { state: 'waiting', holder: null, depth: 1 })
    t.match(await s.claim('o2', LEASE_MS), { queue: x, payload: '[2]' })
  })

  t.test('nothing waiting, a fenced completion or claimNext off: nothing is claimed', async (t) => {
    const { s, q } = await setup(t, factory)
    const [x, y] = q('x', 'y')
    const x1 = await enqueueAndClaim(s, [[x, 1]])
    t.same(await completeClaiming(s, x1), { ok: true, next: null }, 'nothing waiting')
    const x2 = await enqueueAndClaim(s, [[x, 2], [y, 1]])
    t.same(await completeClaiming(s, x1), { ok: false, fenced: true }, 'a stale token is fenced')
    t.same(await s.complete(ref(x2), x2.id, 'o1', LEASE_MS, true), { ok: true, next: null }, 'without claimNext')
    t.match(await s.getQueue(y), { state: 'waiting', holder: null }, 'y still waits')
  })
}
