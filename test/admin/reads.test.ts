import '../helpers/guard'
import t, { type Test } from 'tap'
import type { Store } from '../../plugin/store/store'
import { until } from '../helpers/app'
import { forEachAdapter, type AdminApp } from './adapters'
import { call, errorSchema, okSchema, q, schemaErrors } from './helpers'

const OWNER = 'test-owner'
const WEIRD = ['a:b', 'tenant/42/orders', 'with space', '100%', 'ünïcødé ✓ 队列', '<img src=x onerror=alert(1)>', 'q'.repeat(256)]

/** Queues in every state, made through the store (no worker runs, so nothing moves). */
async function seed (store: Store): Promise<{ deadId: string, haltId: string }> {
  const halt = await store.enqueue({ queue: 'q-halt', name: 'reserve', payload: '["h",1]' })
  await store.enqueue({ queue: 'q-retry', name: 'reserve', payload: '["r",1]' })
  await store.enqueue({ queue: 'q-run', name: 'commit', payload: '["run"]', requestId: 'req-7' })
  await store.enqueue({ queue: 'q-dead', name: 'release', payload: '["dead",{"card":"4242"}]' })
  await store.enqueue({ queue: 'q-halt', name: 'commit', payload: '["h",2]' })
  for (let i = 0; i < 5; i++) await store.enqueue({ queue: 'q-pause', name: 'step', payload: JSON.stringify([i]) })
  await store.pause('q-pause')
  for (const name of WEIRD) await store.enqueue({ queue: name, name: 'weird', payload: JSON.stringify([name]) })

  const claimed = []
  for (let i = 0; i < 4; i++) claimed.push(await store.claim(OWNER, 60_000))
  const [h, r, run, d] = claimed
  if (h?.queue !== 'q-halt' || r?.queue !== 'q-retry' || run?.queue !== 'q-run' || d?.queue !== 'q-dead') throw new Error('unexpected claim order')
  await store.fail(h, { error: 'Error: gateway timeout', maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
  await store.fail(r, { error: 'ECONNRESET', maxAttempts: 5, delayMs: 600_000, onExhausted: 'halt' })
  await store.fail(d, { error: 'card declined', maxAttempts: 5, delayMs: 0, onExhausted: 'halt', deadLetterNow: true })
  return { deadId: d.id, haltId: halt.id }
}

forEachAdapter(t, async (t, adapter) => {
  async function build (t: Test, dashboard: Record<string, unknown> = {}): Promise<{ app: AdminApp, deadId: string, haltId: string }> {
    const app = await adapter.app(t, { worker: false, dashboard: { auth: async () => {}, ...dashboard } })
    await app.ready()
    return { app, ...await seed(app.fifo.store) }
  }

  t.test('config and overview', async (t) => {
    const { app } = await build(t)
    const config = await call(app, 'GET', '/fifo/api/config')
    t.equal(config.status, 200)
    t.same(schemaErrors(config.body, okSchema('config')), [])
    t.match(config.body, { readOnly: false, readOnlyReason: null, showArgs: true, storeKind: 'memory', refreshMs: 1000, instanceId: app.fifo.instanceId })

    const o = await call(app, 'GET', '/fifo/api/overview')
    t.equal(o.status, 200)
    t.same(schemaErrors(o.body, okSchema('overview')), [])
    t.match(o.body, { halted: 1, retrying: 1, running: 1, paused: 1, deadLetters: 1, bucketMs: 10_000, instanceId: app.fifo.instanceId, heldLeases: 0 })
    t.equal(o.body.queues, 4 + WEIRD.length)
    t.equal(o.body.series.length, 60, '10 minutes of 10 s buckets')
    t.equal(o.body.failedLastMinute, 3)
    t.equal(o.headers['cache-control'], 'no-store')
  })

  t.test('queues: urgency order, row shape, state and name filters', async (t) => {
    const { app } = await build(t)
    const all = await call(app, 'GET', '/fifo/api/queues?limit=500')
    t.equal(all.status, 200)
    t.same(schemaErrors(all.body, okSchema('queues')), [])
    t.equal(all.body.total, 4 + WEIRD.length)
    t.equal(all.body.items[0].name, 'q-halt', 'halted first')
    t.match(all.body.items[0], {
      state: 'halted',
      depth: 2,
      holder: null,
      head: { name: 'reserve', attempts: 1, lastError: 'Error: gateway timeout' },
    })
    t.type(all.body.items[0].haltedAt, 'number')
    t.ok(all.body.items[0].head.ageMs >= 0)
    t.notOk('args' in all.body.items[0].head, 'the list carries no arguments (they can be large); the tasks route does')

    const running = await call(app, 'GET', '/fifo/api/queues?state=running')
    t.same(running.body.items.map((r: { name: string }) => r.name), ['q-run'])
    t.match(running.body.items[0], { holder: OWNER, head: { requestId: 'req-7', attempts: 1 } })
    t.type(running.body.items[0].leaseExpiresAt, 'number')

    const retrying = await call(app, 'GET', '/fifo/api/queues?state=retrying')
    t.match(retrying.body.items, [{ name: 'q-retry', head: { lastError: 'ECONNRESET' } }])
    t.type(retrying.body.items[0].retryAt, 'number')

    const paused = await call(app, 'GET', '/fifo/api/queues?state=paused')
    t.match(paused.body.items, [{ name: 'q-pause', paused: true, depth: 5 }])

    const search = await call(app, 'GET', `/fifo/api/queues?search=${encodeURIComponent('/42/')}`)
    t.same(search.body.items.map((r: { name: string }) => r.name), ['tenant/42/orders'])
    const both = await call(app, 'GET', '/fifo/api/queues?state=waiting&search=q-')
    t.same(both.body.items, [], 'filters combine (the q-* queues are not waiting)')
    const page = await call(app, 'GET', '/fifo/api/queues?offset=2&limit=3')
    t.same(page.body.items.map((r: { name: string }) => r.name), all.body.items.slice(2, 5).map((r: { name: string }) => r.name))
    t.match(page.body, { offset: 2, limit: 3, total: all.body.total })
  })

  t.test('one queue and its tasks in order; URL-encoded names of every kind', async (t) => {
    const { app, haltId } = await build(t)
    const one = await call(app, 'GET', q('q-halt'))
    t.equal(one.status, 200)
    t.same(schemaErrors(one.body, okSchema('queue')), [])
    t.match(one.body, { name: 'q-halt', state: 'halted', head: { id: haltId } })

    const tasks = await call(app, 'GET', `${q('q-pause')}/tasks?limit=2&offset=1`)
    t.equal(tasks.status, 200)
    t.same(schemaErrors(tasks.body, okSchema('queueTasks')), [])
    t.match(tasks.body, { total: 5, offset: 1, limit: 2 })
    t.same(tasks.body.items.map((x: { args: string, position: number, where: string }) => [x.args, x.position, x.where]), [['[1]', 1, 'pending'], ['[2]', 2, 'pending']])
    const head = await call(app, 'GET', `${q('q-pause')}/tasks?limit=1`)
    t.match(head.body.items[0], { where: 'head', position: 0, args: '[0]' })

    const detail = await call(app, 'GET', `${q('q-pause')}/detail?limit=2`)
    t.equal(detail.status, 200)
    t.same(schemaErrors(detail.body, okSchema('queueDetail')), [])
    t.match(detail.body, { queue: { name: 'q-pause', depth: 5 }, tasks: { total: 5, limit: 2, items: [{ position: 0 }, { position: 1 }] } })
    const vanished = await call(app, 'GET', `${q('no-such-queue')}/detail`)
    t.equal(vanished.status, 200, 'the dashboard route answers null for a queue that finished, not 404')
    t.same(schemaErrors(vanished.body, okSchema('queueDetail')), [])
    t.match(vanished.body, { queue: null, tasks: { total: 0, items: [] } })

    for (const name of WEIRD) {
      const detailOf = await call(app, 'GET', `${q(name)}/detail`)
      t.equal(detailOf.body.queue?.name, name)
      const res = await call(app, 'GET', q(name))
      t.equal(res.status, 200, `GET queue ${name.slice(0, 30)} (${name.length} chars)`)
      t.equal(res.body.name, name)
      const list = await call(app, 'GET', `${q(name)}/tasks`)
      t.equal(list.status, 200)
      t.same(schemaErrors(list.body, okSchema('queueTasks')), [])
      t.equal(list.body.items[0].args, JSON.stringify([name]))
    }
    const raw = await call(app, 'GET', '/fifo/api/queues/tenant/42/orders')
    t.equal(raw.status, 404, 'an unencoded "/" is not part of the name')
    t.match(raw.body.message, /%2F/)
  })

  t.test('tasks and dead letters', async (t) => {
    const { app, deadId, haltId } = await build(t)
    const task = await call(app, 'GET', `/fifo/api/tasks/${encodeURIComponent(haltId)}`)
    t.equal(task.status, 200)
    t.same(schemaErrors(task.body, okSchema('task')), [])
    t.match(task.body, { id: haltId, queue: 'q-halt', where: 'head', position: 0, attempts: 1, lastError: 'Error: gateway timeout', args: '["h",1]' })

    const deadTask = await call(app, 'GET', `/fifo/api/tasks/${encodeURIComponent(deadId)}`)
    t.match(deadTask.body, { where: 'dead', position: null, deadReason: 'card declined' })

    const dead = await call(app, 'GET', '/fifo/api/dead')
    t.equal(dead.status, 200)
    t.same(schemaErrors(dead.body, okSchema('dead')), [])
    t.match(dead.body, { total: 1, items: [{ id: deadId, queue: 'q-dead', name: 'release', reason: 'card declined', args: '["dead",{"card":"4242"}]' }] })
    const one = await call(app, 'GET', `/fifo/api/dead/${encodeURIComponent(deadId)}`)
    t.same(schemaErrors(one.body, okSchema('deadOne')), [])
    t.equal(one.body.id, deadId)
  })

  t.test('unknown queue, task, dead letter and route: 404 with a stable code and no stack', async (t) => {
    const { app } = await build(t)
    for (const url of [q('nope'), `${q('nope')}/tasks`, '/fifo/api/tasks/nope', '/fifo/api/dead/nope', '/fifo/api/nothing', '/fifo/nothing.js']) {
      const res = await call(app, 'GET', url)
      t.equal(res.status, 404, url.slice(0, 60))
      t.same(schemaErrors(res.body, errorSchema), [])
      t.match(res.body, { statusCode: 404, code: 'FST_FIFO_NOT_FOUND', error: 'Not Found' })
      t.notMatch(res.raw, /at .+\.(ts|js):\d+/, 'no stack trace')
    }
    const named = await call(app, 'GET', q('nope'))
    t.match(named.body.message, /"nope"/, 'the message names the queue')
  })

  t.test('bad query: 400 FST_FIFO_INVALID_REQUEST naming the parameter', async (t) => {
    const { app } = await build(t)
    const cases = [['limit=501', 'limit'], ['limit=0', 'limit'], ['offset=-1', 'offset'], ['state=bogus', 'state'], ['limit=abc', 'limit']]
      .map(([query, word]) => [`/fifo/api/queues?${query}`, word])
    cases.push([`${q('x'.repeat(257))}/tasks`, 'params'], [`${q('q-halt')}/tasks?limit=1000`, 'limit'])
    for (const [url, word] of cases) {
      const res = await call(app, 'GET', url)
      t.equal(res.status, 400, url.slice(0, 60))
      t.same(schemaErrors(res.body, errorSchema), [])
      t.equal(res.body.code, 'FST_FIFO_INVALID_REQUEST')
      t.match(res.body.message, word)
    }
  })

  t.test('showArgs: false hides arguments everywhere', async (t) => {
    const { app, deadId, haltId } = await build(t, { showArgs: false })
    t.equal((await call(app, 'GET', '/fifo/api/config')).body.showArgs, false)
    const bodies = [
      await call(app, 'GET', '/fifo/api/queues?limit=500'),
      await call(app, 'GET', `${q('q-dead')}/tasks`),
      await call(app, 'GET', `${q('q-halt')}/tasks`),
      await call(app, 'GET', `/fifo/api/tasks/${haltId}`),
      await call(app, 'GET', `/fifo/api/tasks/${deadId}`),
      await call(app, 'GET', '/fifo/api/dead'),
      await call(app, 'GET', `/fifo/api/dead/${deadId}`),
    ]
    for (const res of bodies) {
      t.notMatch(res.raw, /4242|\["h",1\]/, 'no payload text in the response')
    }
    t.equal(bodies[2].body.items[0].args, null)
    t.equal(bodies[3].body.args, null)
    t.equal(bodies[5].body.items[0].args, null)
    t.equal(bodies[6].body.args, null)
  })

  t.test('instances: the live workers with their handlers; this one marked self', async (t) => {
    const app = await adapter.app(t, { dashboard: { auth: async () => {} }, concurrency: 3 })
    app.fifo.define('reserve', { queue: 'x' }, async () => {})
    await app.ready()
    const res = await until('the instance heartbeats', async () => {
      const r = await call(app, 'GET', '/fifo/api/instances')
      return r.body.items.length === 1 ? r : null
    })
    t.same(schemaErrors(res!.body, okSchema('instances')), [])
    t.match(res!.body.items[0], { id: app.fifo.instanceId, pid: process.pid, concurrency: 3, handlers: ['reserve'], self: true, queuesHeld: 0 })
  })
})
