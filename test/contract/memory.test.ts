import '../helpers/guard'
import t from 'tap'
import { MemoryStore } from '../../plugin/store/memory'
import { contractSuite } from './suite'
import { LEASE_MS, ref, task } from './harness'

contractSuite(t, async (options = {}) => {
  let clock = 1_700_000_000_000
  const store = new MemoryStore({ now: () => clock, deadLetterLimit: options.deadLetterLimit })
  await store.connect()
  return {
    store,
    exactClock: true,
    async advance (ms) { clock += ms },
    async cleanup () { await store.close() },
  }
}, { sharedAcrossProcesses: false, encodedRecords: false })

// Beyond the shared contract: what only the memory store has.

t.test('MemoryStore refuses a bad deadLetterLimit, naming it', async (t) => {
  t.throws(() => new MemoryStore({ deadLetterLimit: 0 }), { code: 'FST_FIFO_INVALID_OPTION', message: /deadLetterLimit.*0/ })
  t.throws(() => new MemoryStore({ deadLetterLimit: 1.5 }), { code: 'FST_FIFO_INVALID_OPTION' })
  t.equal(new MemoryStore().kind, 'memory')
})

t.test('MemoryStore uses Date.now by default', async (t) => {
  const store = new MemoryStore()
  t.teardown(async () => await store.close())
  const before = Date.now()
  const { id } = await store.enqueue(task('q', 1))
  t.ok(((await store.getTask(id))?.enqueuedAt ?? 0) >= before)
})

// 10,000 queues and 100,000 tasks must stay cheap: a quadratic listing or an
// O(n) head removal would push this well past the file's time budget.
t.test('10,000 queues and 100,000 tasks', async (t) => {
  let clock = 1_700_000_000_000
  const store = new MemoryStore({ now: () => clock })
  t.teardown(async () => await store.close())
  for (let n = 0; n < 90_000; n++) await store.enqueue(task(`q${n % 10_000}`, n))
  for (let n = 0; n < 10_000; n++) await store.enqueue(task('deep', n))
  clock += 1000
  const o = await store.overview()
  t.match(o, { queues: 10_001, waiting: 10_001, pendingTasks: 100_000 })
  const page = await store.listQueues({ offset: 9_990, limit: 20 })
  t.equal(page.total, 10_001)
  t.equal(page.items.length, 11)
  t.equal((await store.listQueues({ search: 'q999', offset: 0, limit: 500 })).total, 11)
  t.match(await store.queueTasks('deep', 9_998, 5), { total: 10_000, items: [{ position: 9_998 }, { position: 9_999 }] })

  // Drain the deep queue with keep=true: one head removal per task.
  let c = await store.claim('o1', LEASE_MS)
  while (c !== null && c.queue !== 'deep') {
    await store.complete(ref(c), c.id, 'o1', LEASE_MS, false)
    c = await store.claim('o1', LEASE_MS)
  }
  let done = 0
  while (c !== null) {
    const r = await store.complete(ref(c), c.id, 'o1', LEASE_MS, true)
    done++
    c = r.ok ? r.next : null
  }
  t.equal(done, 10_000, 'every task of the deep queue ran in one hold')
  t.equal(await store.getQueue('deep'), null)
})
