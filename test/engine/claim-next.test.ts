import '../helpers/guard'
import t from 'tap'
import { backend, until, type StoreKind } from '../helpers/app'

// A completion that releases its queue takes the next waiting queue in the
// same store call (complete's claimNext): the freed slot goes on without a
// claim round trip, and every queue still runs in order, each task once.

for (const kind of ['memory', 'redis'] as StoreKind[]) {
  t.test(`${kind}: the slot a finished queue frees takes the next waiting queue with the completion`, async (t) => {
    const b = await backend(kind)
    t.teardown(() => b.cleanup())
    const app = await b.app({ concurrency: 1 })
    const ran: string[] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const step = app.fifo.define('step', { queue: (q: string) => q }, async (q: string, n: number) => {
      if (q === 'a' && n === 0) await gate
      ran.push(`${q}${n}`)
    })
    await app.ready()

    const store = app.fifo.store
    let claims = 0
    let claimedWithCompletion = 0
    const claim = store.claim.bind(store)
    store.claim = async (...args) => {
      const c = await claim(...args)
      if (c !== null) claims++
      return c
    }
    const complete = store.complete.bind(store)
    store.complete = async (...args) => {
      const r = await complete(...args)
      if (r.ok && r.claimed !== undefined) claimedWithCompletion++
      return r
    }

    // Queue a holds the only slot while b, c and d fill up behind it.
    await step('a', 0)
    await until('a0 is running', async () => (await store.getQueue('a'))?.state === 'running', 5000)
    for (const q of ['b', 'c', 'd']) for (let n = 0; n < 3; n++) await step(q, n)
    const claimsBefore = claims
    release()
    await until('every task ran', () => ran.length === 10, 10_000)
    t.same(ran, ['a0', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2', 'd0', 'd1', 'd2'], 'one queue at a time (concurrency 1), each in order, each task once')
    t.equal(claimedWithCompletion, 3, 'b, c and d each came back with the completion that ended the queue before it')
    t.equal(claims - claimsBefore, 0, 'no claim call was needed for them')
  })
}
