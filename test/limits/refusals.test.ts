import '../helpers/guard'
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import fifo, { errors, FST_FIFO_RATE_LIMITED, rateLimited } from '../../plugin'
import { createFifo } from '../../plugin/express'
import { backend, type StoreKind } from '../helpers/app'

// G8 for limiters: bad definitions and bad limiter names are refused with typed errors before anything is stored.

async function app (t: Test, opts: Record<string, unknown> = {}) {
  const a = Fastify({ logger: false })
  t.teardown(async () => await a.close())
  await a.register(fifo, { dashboard: { auth: async () => {} }, ...opts })
  return a
}

t.test('fifo.limiter() refuses bad names and bad limits, naming them', async (t) => {
  const a = await app(t)
  const bad: Array<[string, unknown, RegExp]> = [
    ['zero', { max: 0, perMs: 1000 }, /"max" must be a whole number from 1 to 100000, got 0/],
    ['zero window', { max: 5, perMs: 0 }, /"perMs" must be a whole number from 10 to 3600000, got 0/],
    ['zero concurrency', { concurrency: 0 }, /"concurrency" must be a whole number from 1 to 100000, got 0/],
    ['negative', { max: 5, perMs: -1000 }, /"perMs" must be a whole number from 10 to 3600000, got -1000/],
    ['negative max', { max: -5, perMs: 1000 }, /"max" .* got -5/],
    ['negative concurrency', { concurrency: -2 }, /"concurrency" .* got -2/],
    ['fraction', { max: 2.5, perMs: 1000 }, /"max" .* got 2\.5/],
    ['fractional window', { max: 5, perMs: 999.5 }, /"perMs" .* got 999\.5/],
    ['fractional concurrency', { concurrency: 1.5 }, /"concurrency" .* got 1\.5/],
    ['infinite max', { max: Infinity, perMs: 1000 }, /"max" .* got Infinity \(number\)/],
    ['tiny window', { max: 5, perMs: 5 }, /"perMs" .* got 5 /],
    ['huge window', { max: 5, perMs: 86_400_000 }, /"perMs" .* got 86400000/],
    ['absurd max', { max: 1e9, perMs: 1000 }, /"max" .* got 1000000000/],
    ['NaN concurrency', { concurrency: NaN }, /"concurrency" .* got NaN \(number\)/],
    ['string concurrency', { concurrency: '4' }, /"concurrency" .* got "4" \(string\)/],
    ['max alone', { max: 5 }, /"max" and "perMs" go together/],
    ['perMs alone', { perMs: 1000, concurrency: 2 }, /"max" and "perMs" go together/],
    ['a valid rate with a bad concurrency', { max: 5, perMs: 1000, concurrency: 0 }, /"concurrency" .* got 0/],
    ['nothing', {}, /needs a rate/],
    ['typo', { max: 5, perMs: 1000, concurency: 2 }, /"concurency" is not a limiter option/],
    ['not an object', 5, /options must be an object/],
  ]
  for (const [name, options, message] of bad) {
    t.throws(() => a.fifo.limiter(name, options as never), { code: 'FST_FIFO_INVALID_LIMITER', message }, name)
    t.throws(() => a.fifo.limiter(name, options as never), { message: new RegExp(`limiter "${name}"`) }, `${name}: the message names the limiter`)
  }
  for (const name of ['', 'x'.repeat(129), 'a\nb', '*', 'a*b', 42]) {
    t.throws(() => a.fifo.limiter(name as string, { concurrency: 1 }), { code: 'FST_FIFO_INVALID_LIMITER', message: /name/ }, `name ${JSON.stringify(name)}`)
  }
  a.fifo.limiter('api', { concurrency: 1 })
  t.throws(() => a.fifo.limiter('api', { concurrency: 2 }), { code: 'FST_FIFO_INVALID_LIMITER', message: /already defined/ })
  await a.ready()
  t.throws(() => a.fifo.limiter('late', { concurrency: 2 }), { code: 'FST_FIFO_INVALID_LIMITER', message: /before the app is ready/ })
})

t.test('a task option limiter must name a defined limiter by ready; a bad value is refused at define', async (t) => {
  const a = Fastify({ logger: false })
  t.teardown(async () => await a.close())
  await a.register(fifo, { dashboard: false })
  t.throws(() => a.fifo.define('x', { queue: 'q', limiter: 42 as never }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /option "limiter" must be a limiter name or a function/ })
  t.throws(() => a.fifo.define('y', { queue: 'q', limiter: 'partner:*' }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION', message: /for a pattern, pass a function/ })
  a.fifo.define('z', { queue: 'q', limiter: 'undefined-one' }, async () => {})
  await t.rejects(async () => { await a.ready() }, { code: 'FST_FIFO_INVALID_DEFINITION', message: /task "z": option "limiter" names "undefined-one", which no fifo.limiter\(\) definition covers/ })
})

const FUNCTION_CASES: Array<[string, (id: unknown) => unknown, RegExp]> = [
  ['throws', () => { throw new Error('no partner for this id') }, /the limiter function threw: no partner for this id/],
  ['number', () => 42, /result must be a string, got 42 \(number\)/],
  ['undefined', () => undefined, /result must be a string/],
  ['empty', () => '', /result must be 1-128 characters/],
  ['control', () => 'partner:\u0007', /control characters/],
  ['pattern', () => 'partner:*', /must not contain "\*"/],
  ['prefix only', () => 'partner:', /returned "partner:", which no fifo.limiter\(\) definition covers/],
  ['unknown', (id) => `vendor:${String(id)}`, /returned "vendor:7", which no fifo.limiter\(\) definition covers/],
]

for (const kind of ['memory', 'redis'] as StoreKind[]) {
  t.test(`${kind}: a limiter function that throws or names no limiter is refused at the call and over HTTP (400); nothing is stored`, async (t) => {
    const b = await backend(kind)
    t.teardown(() => b.cleanup())
    const a = await b.app()
    a.fifo.limiter('partner:*', { max: 10, perMs: 1000 })
    const tasks = FUNCTION_CASES.map(([name, fn]) => a.fifo.define(`t-${name}`, { queue: 'q', limiter: fn as (id: number) => string }, async (_id: number) => {}))
    a.post('/send/:i', async (request) => await request.fifo.enqueue(tasks[Number((request.params as { i: string }).i)], 7))
    await a.ready()
    const r = b.redis === null ? null : new Redis(b.redis.url)
    t.teardown(() => { r?.disconnect() })
    const keysBefore = r === null ? [] : (await r.keys(`*${b.prefix}*`)).sort()
    for (const [i, [name, , message]] of FUNCTION_CASES.entries()) {
      await t.rejects(tasks[i](7), { code: 'FST_FIFO_INVALID_LIMITER_NAME', statusCode: 400, message }, name)
      const res = await a.inject({ method: 'POST', url: `/send/${i}` })
      t.equal(res.statusCode, 400, `${name}: 400 through request.fifo.enqueue`)
      t.match(res.json(), { code: 'FST_FIFO_INVALID_LIMITER_NAME', message }, `${name}: the reply says why`)
    }
    t.match(await a.fifo.store.overview(), { pendingTasks: 0, queues: 0 }, 'nothing was stored')
    t.same(await a.fifo.store.listLimiters(), [], 'no limiter state either')
    if (r !== null) t.same((await r.keys(`*${b.prefix}*`)).sort(), keysBefore, `no key was added in Redis (there: ${keysBefore.join(', ')})`)
  })
}

t.test('a limiter function may name an exact limiter or one a pattern covers', async (t) => {
  const a = await app(t)
  a.fifo.limiter('partner:*', { max: 10, perMs: 1000 })
  a.fifo.limiter('stripe', { concurrency: 2 })
  const push = a.fifo.define('push', { queue: (id: number) => `c:${id}`, limiter: (id: number) => id === 0 ? 'stripe' : `partner:${id}` }, async (_id: number) => {})
  await a.ready()
  t.match(await push(7), { queue: 'c:7' }, 'a name a pattern covers')
  t.match(await push(0), { queue: 'c:0' }, 'an exact name')
})

t.test('on the Express adapter: the same refusals, typed, before anything is stored', async (t) => {
  const fifo = createFifo({ leaseMs: 600, sweepMs: 50 })
  t.teardown(async () => await fifo.close())
  t.throws(() => fifo.limiter('api', { max: 0, perMs: 1000 }), { code: 'FST_FIFO_INVALID_LIMITER', message: /limiter "api": "max" must be a whole number from 1 to 100000, got 0/ })
  t.throws(() => fifo.limiter('api', { max: 5, perMs: 5 }), { code: 'FST_FIFO_INVALID_LIMITER', message: /"perMs" .* got 5 / })
  fifo.limiter('partner:*', { max: 10, perMs: 1000 })
  const bad = fifo.define('bad', { queue: 'q', limiter: (id: number) => `vendor:${id}` }, async (_id: number) => {})
  const app = express()
  app.use(express.json(), fifo.middleware())
  app.post('/send', (req, res, next) => { req.fifo.enqueue(bad, 7).then((task) => res.json(task), next) })
  // Express's own error handler answers with the error's statusCode (quietly: env 'test').
  app.set('env', 'test')
  await fifo.start()
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/send', method: 'POST', agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', reject)
    req.end()
  })
  t.equal(status, 400, 'a limiter function naming no limiter: 400 through req.fifo.enqueue')
  await t.rejects(fifo.enqueue(bad, 7), { code: 'FST_FIFO_INVALID_LIMITER_NAME', message: /returned "vendor:7", which no fifo.limiter\(\) definition covers/ })
  t.match(await fifo.store.overview(), { pendingTasks: 0, queues: 0 }, 'nothing was stored')

  const late = createFifo({})
  t.teardown(async () => await late.close())
  late.define('z', { queue: 'q', limiter: 'undefined-one' }, async () => {})
  await t.rejects(late.start(), { code: 'FST_FIFO_INVALID_DEFINITION', message: /option "limiter" names "undefined-one", which no fifo.limiter\(\) definition covers/ }, 'an undefined limiter name: start() refuses')
})

t.test('FST_FIFO_RATE_LIMITED and rateLimited(Retry-After)', async (t) => {
  const now = Date.parse('2026-12-02T08:00:00Z')
  t.equal(rateLimited('120').retryAfterMs, 120_000, 'delay-seconds')
  t.equal(rateLimited('1.5').retryAfterMs, 1500)
  t.equal(rateLimited(['3', '9']).retryAfterMs, 3000, 'the first of repeated headers')
  t.equal(rateLimited(2).retryAfterMs, 2000, 'a number of seconds')
  t.equal(rateLimited('Wed, 02 Dec 2026 08:00:30 GMT', 1000, now).retryAfterMs, 30_000, 'an HTTP date')
  t.equal(rateLimited('Wed, 02 Dec 2026 07:00:00 GMT', 1000, now).retryAfterMs, 0, 'a date in the past')
  t.equal(rateLimited(undefined).retryAfterMs, 1000, 'missing: the fallback')
  t.equal(rateLimited('soon', 250).retryAfterMs, 250, 'unreadable: the fallback')
  const e = new errors.FST_FIFO_RATE_LIMITED({ retryAfterMs: 1234.2 })
  t.ok(e instanceof FST_FIFO_RATE_LIMITED && e instanceof Error)
  t.match(e, { code: 'FST_FIFO_RATE_LIMITED', statusCode: 429, retryAfterMs: 1235, message: /retry after 1235 ms/ })
  for (const bad of [-1, NaN, Infinity, '5', undefined]) {
    t.throws(() => new FST_FIFO_RATE_LIMITED({ retryAfterMs: bad as number }), { code: 'FST_FIFO_INVALID_OPTION', message: /retryAfterMs/ }, String(bad))
  }
})
