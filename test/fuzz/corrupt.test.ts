import '../helpers/guard'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { encodeTask } from '../../plugin/store/redis/codec'
import { queueKey, redisKeys } from '../../plugin/store/redis/keys'
import { until } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

/**
 * Corrupt records planted directly in Redis (bad JSON, missing fields, wrong
 * types, binary junk) go to the dead letters with a reason; the task behind
 * each in its queue runs; the worker keeps running; reads and the admin API
 * keep answering while the corrupt records are there.
 */
t.test('corrupt task records are dead-lettered with a reason and the worker keeps running', async (t) => {
  const redis = await startRedis()
  const prefix = uniquePrefix('cr')
  const producer = Fastify({ logger: false })
  const worker = Fastify({ logger: false })
  const raw = redis.client()
  t.teardown(async () => {
    await Promise.allSettled([producer.close(), worker.close()])
    raw.disconnect()
    await redis.cleanup()
  })
  const ran: string[] = []
  const options = { redis: redis.url, prefix, sweepMs: 100 }
  await producer.register(fifo, { ...options, worker: false, dashboard: { path: '/fifo' } })
  await worker.register(fifo, { ...options, dashboard: false })
  const tasks = [producer, worker].map((app) => app.fifo.define('rec', { queue: (q: string) => q, attempts: 3 }, async (q: string, label: string) => { ran.push(`${q}/${label}`) }))
  const rec = tasks[0]
  await producer.ready()

  const now = Date.now()
  const corruptions: Array<[string, (id: string) => string | Buffer]> = [
    ['bad JSON', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '{not json' })],
    ['payload is an object', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '{"a":1}' })],
    ['payload is null', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: 'null' })],
    ['payload is a number', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '42' })],
    ['empty payload', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '' })],
    ['truncated JSON', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '["q", "lab' })],
    ['only two fields', (id) => `${id}\nrec`],
    ['one field', () => 'garbage'],
    ['empty record', () => ''],
    ['invalid task id', () => 'NOT AN ID\nrec\n123\n\n["x","y"]'],
    ['empty handler name', (id) => `${id}\n\n${now}\n\n["x","y"]`],
    ['enqueuedAt not a number', (id) => `${id}\nrec\nyesterday\n\n["x","y"]`],
    ['enqueuedAt negative', (id) => `${id}\nrec\n-5\n\n["x","y"]`],
    ['binary junk', () => Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3, 0x28, 0x0a, 0x0a, 0x0a, 0x80])],
    ['a megabyte of junk', (id) => encodeTask({ id, name: 'rec', enqueuedAt: now, requestId: null, payload: '\u0001'.repeat(1_000_000) })],
  ]
  const keys = redisKeys(prefix)
  const planted: Array<{ label: string, queue: string, id: string }> = []
  for (const [i, [label, make]] of corruptions.entries()) {
    const queue = `corrupt-${i}`
    const { id } = await rec(queue, 'corrupt')
    await rec(queue, 'after')
    const num = await raw.hget(keys.qid, queue)
    t.ok(num !== null, `${label}: queue ${queue} exists`)
    await raw.lset(queueKey(keys, num ?? ''), 0, make(id))
    planted.push({ label, queue, id })
  }
  await rec('healthy', 'one')

  // Reads and the admin API answer while the corrupt records are there.
  const store = producer.fifo.store
  const page = await store.listQueues({ offset: 0, limit: 100 })
  t.equal(page.total, corruptions.length + 1, 'listQueues reads every queue')
  for (const p of planted) {
    await store.queueTasks(p.queue, 0, 10)
    await store.getQueue(p.queue)
  }
  for (const url of ['/fifo/api/overview', '/fifo/api/queues', `/fifo/api/queues/${encodeURIComponent(planted[0].queue)}/tasks`, `/fifo/api/queues/${encodeURIComponent(planted[7].queue)}/detail`]) {
    const res = await producer.inject({ url })
    t.equal(res.statusCode, 200, `GET ${url} answers 200 with corrupt records stored`)
  }

  await worker.ready()
  await until('every queue drained', async () => (await store.overview()).pendingTasks === 0, 20_000)
  const dead = await store.listDead(0, 100)
  for (const p of planted) {
    const letter = dead.items.find((d) => d.queue === p.queue)
    t.ok(letter !== undefined, `${p.label}: dead-lettered`)
    t.match(letter?.reason ?? '', /corrupt/i, `${p.label}: the reason says so (${letter?.reason.slice(0, 120)})`)
    t.ok(ran.includes(`${p.queue}/after`), `${p.label}: the next task of the queue ran`)
    t.notOk(ran.includes(`${p.queue}/corrupt`), `${p.label}: the handler never ran on the corrupt record`)
  }
  t.ok(ran.includes('healthy/one'), 'an untouched queue ran')
  t.equal(dead.total, corruptions.length, 'only the corrupt records are dead letters')
  await rec('later', 'two')
  await until('the worker still takes new work', () => ran.includes('later/two'), 5000)
  const res = await producer.inject({ url: '/fifo/api/dead?limit=100' })
  t.equal(res.statusCode, 200, 'the dead letters list answers')
})
