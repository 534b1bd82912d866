import '../helpers/guard'
import t from 'tap'
import type { Store } from '../../plugin/store/store'
import type { StoreKind } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { forEachAdapter } from './adapters'
import { call, okSchema, schemaErrors } from './helpers'

const HALTED = 37
const RUNNING = 20
const PAUSED = 50
const TOTAL = 10_000
const pad = (n: number, w: number): string => String(n).padStart(w, '0')

/** 10,000 queues in four states, made through the store with no worker running. */
async function seed (store: Store): Promise<string[]> {
  const names: string[] = []
  const enqueueAll = async (list: string[]): Promise<void> => {
    for (let i = 0; i < list.length; i += 500) {
      await Promise.all(list.slice(i, i + 500).map(async (queue) => await store.enqueue({ queue, name: 'job', payload: '[]' })))
    }
    names.push(...list)
  }
  // claim() takes waiting queues first-in first-out, so the ones to halt and run go in first.
  await enqueueAll(Array.from({ length: HALTED }, (_, i) => `halt-${pad(i, 4)}`))
  for (let i = 0; i < HALTED; i++) {
    const c = await store.claim('owner', 60_000)
    await store.fail(c!, { error: `boom ${i}`, maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
  }
  await enqueueAll(Array.from({ length: RUNNING }, (_, i) => `run-${pad(i, 4)}`))
  for (let i = 0; i < RUNNING; i++) await store.claim('owner', 60_000)
  const paused = Array.from({ length: PAUSED }, (_, i) => `pause-${pad(i, 4)}`)
  await enqueueAll(paused)
  for (const name of paused) await store.pause(name)
  await enqueueAll(Array.from({ length: TOTAL - HALTED - RUNNING - PAUSED }, (_, i) => `q-${pad(i, 5)}`))
  return names
}

forEachAdapter(t, async (t, adapter) => {
  // 'partitioned': redis with partitions: 12, every read merged over the partitions (once, on the first adapter).
  const kinds: Array<StoreKind | 'partitioned'> = adapter.kind === 'fastify' ? ['memory', 'redis', 'partitioned'] : ['memory', 'redis']
  for (const kind of kinds) {
    t.test(`${kind}: pagination and filters with 10,000 queues`, async (t) => {
      const redis = kind === 'memory' ? null : await startRedis()
      t.teardown(async () => { await redis?.cleanup() })
      const app = await adapter.app(t, {
        worker: false,
        dashboard: { auth: async () => {} },
        ...(redis === null ? {} : { redis: redis.url, prefix: uniquePrefix('s') }),
        ...(kind === 'partitioned' ? { partitions: 12 } : {}),
      })
      await app.ready()
      const names = await seed(app.fifo.store)
      t.equal(new Set(names).size, TOTAL)

      const overview = await call(app, 'GET', '/fifo/api/overview')
      t.match(overview.body, { queues: TOTAL, halted: HALTED, running: RUNNING, paused: PAUSED, waiting: TOTAL - HALTED - RUNNING - PAUSED, pendingTasks: TOTAL })

      // Every page at the maximum size: no queue missing, none twice, urgency order throughout.
      const started = Date.now()
      const seen: Array<{ name: string, state: string, head: { enqueuedAt: number } }> = []
      for (let offset = 0; offset < TOTAL; offset += 500) {
        const page = await call(app, 'GET', `/fifo/api/queues?offset=${offset}&limit=500`)
        t.equal(page.status, 200)
        if (offset === 0) t.same(schemaErrors(page.body, okSchema('queues')), [])
        t.match(page.body, { total: TOTAL, offset, limit: 500 })
        t.equal(page.body.items.length, 500)
        seen.push(...page.body.items)
      }
      t.comment(`${kind}: 20 pages of 500 in ${Date.now() - started} ms`)
      t.equal(new Set(seen.map((r) => r.name)).size, TOTAL, 'every queue exactly once across the pages')
      t.ok(seen.slice(0, HALTED).every((r) => r.state === 'halted'), 'halted queues first')
      t.notOk(seen.slice(HALTED).some((r) => r.state === 'halted'), 'and only there')
      const rest = seen.slice(HALTED)
      t.ok(rest.every((r, i) => i === 0 || rest[i - 1].head.enqueuedAt <= r.head.enqueuedAt), 'then oldest head first')

      const tail = await call(app, 'GET', `/fifo/api/queues?offset=${TOTAL - 10}&limit=50`)
      t.equal(tail.body.items.length, 10, 'a short last page')
      t.same(tail.body.items.map((r: { name: string }) => r.name), seen.slice(TOTAL - 10).map((r) => r.name))
      const past = await call(app, 'GET', `/fifo/api/queues?offset=${TOTAL}&limit=50`)
      t.match(past.body, { items: [], total: TOTAL })

      const counts: Array<[string, number]> = [['halted', HALTED], ['running', RUNNING], ['paused', PAUSED], ['waiting', TOTAL - HALTED - RUNNING - PAUSED], ['retrying', 0], ['missing-handler', 0]]
      for (const [state, n] of counts) {
        const page = await call(app, 'GET', `/fifo/api/queues?state=${state}&limit=500`)
        t.equal(page.body.total, n, `state=${state}`)
        t.ok(page.body.items.every((r: { state: string }) => r.state === state))
      }
      const second = await call(app, 'GET', '/fifo/api/queues?state=waiting&offset=50&limit=50')
      const firstTwo = await call(app, 'GET', '/fifo/api/queues?state=waiting&limit=100')
      t.same(second.body.items.map((r: { name: string }) => r.name), firstTwo.body.items.slice(50).map((r: { name: string }) => r.name), 'filtered pages line up')

      for (const search of ['q-0042', 'halt-001', '-00', 'nothing-like-this']) {
        const expected = names.filter((n) => n.includes(search))
        const page = await call(app, 'GET', `/fifo/api/queues?search=${encodeURIComponent(search)}&limit=500`)
        t.equal(page.body.total, expected.length, `search ${search}`)
        t.equal(page.body.items.length, Math.min(500, expected.length), 'a full page, or all of them')
        t.ok(page.body.items.every((r: { name: string }) => expected.includes(r.name)), 'only matching names')
      }
      const both = await call(app, 'GET', '/fifo/api/queues?state=halted&search=halt-001')
      t.same(both.body.items.map((r: { name: string }) => r.name).sort(), Array.from({ length: 10 }, (_, i) => `halt-001${i}`))

      // Whole pages of a merged listing equal the same rows read in small pages at any offset.
      const wide = await call(app, 'GET', '/fifo/api/queues?offset=4990&limit=20')
      t.same(wide.body.items.map((r: { name: string }) => r.name), seen.slice(4990, 5010).map((r) => r.name), 'a page in the middle lines up')

      const parts = await call(app, 'GET', '/fifo/api/partitions')
      t.equal(parts.status, 200)
      t.same(schemaErrors(parts.body, okSchema('partitions')), [])
      const rows = parts.body.items as Array<{ depth: number, queues: number, running: number }>
      t.equal(rows.length, kind === 'partitioned' ? 12 : 1, 'one row per partition')
      t.equal(rows.reduce((n, r) => n + r.depth, 0), TOTAL, 'partition depths add up to the pending tasks')
      t.equal(rows.reduce((n, r) => n + r.running, 0), RUNNING)
      if (kind === 'partitioned') t.ok(rows.every((r) => r.queues > TOTAL / 12 * 0.8 && r.queues < TOTAL / 12 * 1.2), `queues spread evenly: ${rows.map((r) => r.queues).join(' ')}`)
    })
  }
})
