import '../helpers/guard'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fifo, { errors, FST_FIFO_RATE_LIMITED, rateLimited } from '../../plugin'

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
    ['negative', { max: 5, perMs: -1000 }, /"perMs" must be a whole number from 10 to 3600000, got -1000/],
    ['fraction', { max: 2.5, perMs: 1000 }, /"max" .* got 2\.5/],
    ['tiny window', { max: 5, perMs: 5 }, /"perMs" .* got 5 /],
    ['huge window', { max: 5, perMs: 86_400_000 }, /"perMs" .* got 86400000/],
    ['absurd max', { max: 1e9, perMs: 1000 }, /"max" .* got 1000000000/],
    ['NaN concurrency', { concurrency: NaN }, /"concurrency" .* got null \(number\)/],
    ['string concurrency', { concurrency: '4' }, /"concurrency" .* got "4" \(string\)/],
    ['max alone', { max: 5 }, /"max" and "perMs" go together/],
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

t.test('a limiter function that throws or names no limiter is refused at the call; nothing is stored', async (t) => {
  const a = await app(t)
  a.fifo.limiter('partner:*', { max: 10, perMs: 1000 })
  a.fifo.limiter('stripe', { concurrency: 2 })
  const cases: Array<[string, (id: unknown) => unknown, RegExp]> = [
    ['throws', () => { throw new Error('no partner for this id') }, /the limiter function threw: no partner for this id/],
    ['number', () => 42, /result must be a string, got 42 \(number\)/],
    ['undefined', () => undefined, /result must be a string/],
    ['empty', () => '', /result must be 1-128 characters/],
    ['control', () => 'partner:\u0007', /control characters/],
    ['pattern', () => 'partner:*', /must not contain "\*"/],
    ['prefix only', () => 'partner:', /returned "partner:", which no fifo.limiter\(\) definition covers/],
    ['unknown', (id) => `vendor:${String(id)}`, /returned "vendor:7", which no fifo.limiter\(\) definition covers/],
  ]
  const tasks = cases.map(([name, fn]) => a.fifo.define(`t-${name}`, { queue: 'q', limiter: fn as (id: number) => string }, async (_id: number) => {}))
  const ok = a.fifo.define('ok', { queue: (id: number) => `c:${id}`, limiter: (id: number) => `partner:${id}` }, async (_id: number) => {})
  await a.ready()
  for (const [i, [name, , message]] of cases.entries()) {
    await t.rejects(tasks[i](7), { code: 'FST_FIFO_INVALID_LIMITER_NAME', statusCode: 400, message }, name)
  }
  t.match(await a.fifo.store.overview(), { pendingTasks: 0, queues: 0 }, 'nothing was stored')
  t.match(await ok(7), { queue: 'c:7' }, 'a name a pattern covers is accepted')
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
