import '../helpers/guard'
import t from 'tap'
import { MemoryStore } from '../../plugin'
import { adapters, type AdminApp } from './adapters'
import { call, q } from './helpers'

// Both adapters over ONE store must answer every request byte for byte alike
// (timestamps aside): same status, same content type, same body text, which
// also means the Express side serializes by the response schema exactly as
// Fastify's fast-json-stringify does (property order, dropped extras).

class LeakyStore extends MemoryStore {
  // A store that returns more than the schema lists: nothing extra may reach a client.
  override async overview (): ReturnType<MemoryStore['overview']> {
    return { ...await super.overview(), secret: 'hunter2' } as Awaited<ReturnType<MemoryStore['overview']>>
  }
}

const normalize = (text: string): string => text.replace(/"(now|ageMs|lastHeartbeatAgeMs|oldestHeadAgeMs)":\d+/g, '"$1":0')

t.test('Fastify and Express give the same replies for the same data', async (t) => {
  const store = new LeakyStore()
  const opts = { worker: false, store, instanceId: 'one-id', dashboard: { auth: async () => {} } }
  const apps: AdminApp[] = []
  for (const kind of ['fastify', 'express'] as const) {
    const app = await adapters[kind].app(t, opts)
    await app.ready()
    apps.push(app)
  }
  const [fastify, express] = apps

  const weird = ['tenant/42/orders', '<img src=x onerror=alert(1)>', 'q'.repeat(256), '100%']
  for (const queue of ['a', 'b', ...weird]) {
    await store.enqueue({ queue, name: 'job', payload: JSON.stringify([queue, { card: '4242' }]), requestId: 'req-1' })
  }
  await store.enqueue({ queue: 'a', name: 'job', payload: '[2]' })
  const claimed = await store.claim('owner', 60_000)
  await store.fail(claimed!, { error: 'boom "quoted" <b>', maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
  await store.pause('b')
  const dead = await store.skipHead('b', 'by test')

  const urls = [
    '/fifo/api/config', '/fifo/api/overview', '/fifo/api/queues', '/fifo/api/queues?limit=2&offset=1', '/fifo/api/queues?state=halted',
    '/fifo/api/queues?search=%2F42', '/fifo/api/queues?limit=abc', '/fifo/api/queues?limit=501', '/fifo/api/queues?state=nope',
    q('a'), `${q('a')}/tasks?limit=1`, `${q('a')}/detail`, `${q('gone')}/detail`, q('gone'), q('x'.repeat(257)),
    ...weird.map((name) => `${q(name)}/tasks`),
    `/fifo/api/tasks/${claimed!.id}`, '/fifo/api/tasks/none', '/fifo/api/dead', `/fifo/api/dead/${dead.id}`, '/fifo/api/dead/none',
    '/fifo/api/nothing', '/fifo/api/queues/tenant/42/orders', '/fifo/api/config?extra=1',
  ]
  for (const url of urls) {
    const [a, b] = [await call(fastify, 'GET', url), await call(express, 'GET', url)]
    t.equal(b.status, a.status, `status of ${url.slice(0, 60)}`)
    t.equal(b.headers['content-type'], a.headers['content-type'], 'content type')
    t.equal(normalize(b.raw), normalize(a.raw), 'body text')
  }
  const overview = await call(express, 'GET', '/fifo/api/overview')
  t.notMatch(overview.raw, /hunter2|secret/, 'a field the schema does not list is dropped')

  const actions: Array<[string, string, { raw?: string | null, headers?: Record<string, string>, body?: unknown }]> = [
    ['POST', `${q('nope')}/pause`, {}],
    ['POST', `${q('a')}/skip`, { body: { reason: 'r'.repeat(501) } }],
    ['POST', `${q('a')}/pause`, { raw: '{nope', headers: { 'content-type': 'application/json' } }],
    ['POST', `${q('a')}/pause`, { raw: '', headers: { 'content-type': 'application/json' } }],
    ['POST', `${q('a')}/pause`, { raw: '{"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } }],
    ['POST', `${q('a')}/pause`, { raw: JSON.stringify({ reason: 'x'.repeat(5000) }), headers: { 'content-type': 'application/json' } }],
    ['POST', `${q('a')}/pause`, { raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['DELETE', '/fifo/api/dead/none', {}],
    ['POST', '/fifo/api/dead/none/requeue', { body: { extra: true } }],
  ]
  for (const [method, url, opts] of actions) {
    const [a, b] = [await call(fastify, method, url, opts), await call(express, method, url, opts)]
    t.equal(b.status, a.status, `status of ${method} ${url.slice(0, 50)} ${JSON.stringify(opts).slice(0, 40)}`)
    t.equal(b.raw, a.raw, 'body text')
  }
  // The same action through each: the replies (and the store) agree.
  const [p1, p2] = [await call(fastify, 'POST', `${q('a')}/pause`), await call(express, 'POST', `${q('a')}/resume`)]
  t.equal(p1.status, 200)
  t.equal(normalize(p2.raw), normalize(p1.raw).replace('"paused":true', '"paused":false').replace('"state":"paused"', '"state":"halted"'))
})
