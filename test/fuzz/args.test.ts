import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import fc from 'fast-check'
import t from 'tap'
import fifo, { taskContext } from '../../plugin'
import { until } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { RedisProxy } from '../outage/proxy'
import { anything, depthOf, hostileValues, jsonFaithful, nested, oddString, pollutingObject, sameAsJson } from './values'

/**
 * G8 under fuzzing. Thousands of generated argument values go through a
 * defined task: each either arrives in the handler deep-equal to what was
 * sent, or the call is refused with a typed FST_FIFO_* error before anything
 * reaches Redis. The producer app talks to Redis through a proxy that counts
 * commands, so "nothing was written" means "not one command was sent".
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261128)
const MAX_PAYLOAD = 64 * 1024
const REFUSAL_CODES = new Set(['FST_FIFO_INVALID_ARGUMENT', 'FST_FIFO_PAYLOAD_TOO_LARGE'])

interface Harness {
  proxy: RedisProxy
  producer: FastifyInstance
  echo: (...args: unknown[]) => Promise<{ id: string }>
  route: (queue: unknown) => Promise<{ id: string }>
  received: Map<string, { args: unknown[], queue: string }>
}

async function harness (t: { teardown: (fn: () => Promise<void>) => void }): Promise<Harness> {
  const redis = await startRedis()
  const proxy = new RedisProxy(redis.port)
  await proxy.listen()
  const prefix = uniquePrefix('fz')
  const producer = Fastify({ logger: false })
  const worker = Fastify({ logger: false })
  t.teardown(async () => {
    await Promise.allSettled([producer.close(), worker.close()])
    await proxy.close()
    await redis.cleanup()
  })
  const received = new Map<string, { args: unknown[], queue: string }>()
  const common = { prefix, maxPayloadBytes: MAX_PAYLOAD, dashboard: false as const }
  // The producer only enqueues (no worker: it sends nothing on its own).
  await producer.register(fifo, { ...common, redis: proxy.url, worker: false })
  await worker.register(fifo, { ...common, redis: redis.url, concurrency: 8, sweepMs: 200 })
  const queueOf = (...args: unknown[]): string => `fz:${String(args[0]).length % 8}`
  const define = (app: FastifyInstance) => ({
    echo: app.fifo.define('echo', { queue: queueOf }, async (...args: unknown[]) => {
      received.set(String(args[0]), { args, queue: taskContext()?.queue ?? '' })
    }),
    route: app.fifo.define('route', { queue: (q: unknown) => q as string }, async (...args: unknown[]) => {
      received.set(`route:${JSON.stringify(args[0])}`, { args, queue: taskContext()?.queue ?? '' })
    }),
  })
  const tasks = define(producer)
  define(worker)
  await producer.ready()
  await worker.ready()
  return {
    proxy,
    producer,
    echo: async (...args: unknown[]) => await tasks.echo(...args),
    route: async (queue: unknown) => await tasks.route(queue),
    received,
  }
}

interface Outcome { kind: 'accepted' | 'refused' | 'broken', detail: string }

/** Sends one value and checks the immediate part of the contract. */
async function send (h: Harness, marker: string, value: unknown): Promise<Outcome> {
  const before = h.proxy.commandCount
  try {
    await h.echo(marker, value)
    return { kind: 'accepted', detail: '' }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const sent = h.proxy.commandCount - before
    if (typeof code !== 'string' || !REFUSAL_CODES.has(code)) return { kind: 'broken', detail: `refused with ${String(code)}: ${(err as Error).message}` }
    if (sent !== 0) return { kind: 'broken', detail: `refused (${code}) but ${sent} Redis commands were sent` }
    if (code === 'FST_FIFO_INVALID_ARGUMENT' && !(err as Error).message.includes('argument #2')) return { kind: 'broken', detail: `message does not name the argument: ${(err as Error).message}` }
    return { kind: 'refused', detail: code }
  }
}

function describe (value: unknown): string {
  try {
    return (JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v) ?? String(value)).slice(0, 120)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Runs every value; then waits for every accepted one to arrive and compares. */
async function fuzz (t: { same: (a: unknown, b: unknown, m: string) => void }, h: Harness, label: string, values: unknown[], expect: { faithfulAccepted?: boolean } = {}) {
  const accepted: Array<[string, unknown]> = []
  const problems: string[] = []
  let refused = 0
  for (let i = 0; i < values.length; i++) {
    const marker = `${label}-${i}`
    const value = values[i]
    const out = await send(h, marker, value)
    if (out.kind === 'broken') problems.push(`${describe(value)}: ${out.detail}`)
    else if (out.kind === 'accepted') accepted.push([marker, value])
    else {
      refused++
      let small = false
      try {
        small = Buffer.byteLength(JSON.stringify([marker, value]) ?? '') < MAX_PAYLOAD / 2
      } catch {}
      if (expect.faithfulAccepted === true && jsonFaithful(value) && depthOf(value) < 60 && small) problems.push(`${describe(value)}: JSON carries it faithfully but it was refused (${out.detail})`)
    }
  }
  await until(`${accepted.length} accepted ${label} values to run`, () => accepted.every(([m]) => h.received.has(m)), 30_000).catch(() => {})
  for (const [marker, value] of accepted) {
    const got = h.received.get(marker)
    if (got === undefined) problems.push(`${describe(value)}: accepted but never ran`)
    else if (!sameAsJson(value, got.args[1])) problems.push(`${describe(value)}: accepted but the handler got ${describe(got.args[1])}`)
  }
  t.same(problems.slice(0, 20), [], `${label}: ${values.length} values, ${accepted.length} round-tripped, ${refused} refused with a typed error and nothing sent`)
  return { accepted: accepted.length, refused }
}

t.test('fuzzed argument values: each round-trips exactly or is refused with a typed error, writing nothing', async (t) => {
  const h = await harness(t)
  t.comment(`FUZZ_SEED=${SEED}`)
  const anyValues = fc.sample(anything, { numRuns: 1500, seed: SEED })
  const r1 = await fuzz(t, h, 'anything', anyValues, { faithfulAccepted: true })
  t.ok(r1.accepted > 100 && r1.refused > 100, 'both outcomes were exercised')
  await fuzz(t, h, 'json', fc.sample(fc.jsonValue({ maxDepth: 6 }), { numRuns: 800, seed: SEED + 1 }), { faithfulAccepted: true })
  await fuzz(t, h, 'strings', fc.sample(oddString, { numRuns: 600, seed: SEED + 2 }), { faithfulAccepted: true })
  await fuzz(t, h, 'polluting', fc.sample(pollutingObject, { numRuns: 300, seed: SEED + 3 }), { faithfulAccepted: true })
  t.equal(Object.keys(Object.prototype).length, 0, 'Object.prototype was not polluted')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('every kind of value JSON cannot carry is refused with FST_FIFO_INVALID_ARGUMENT, naming the argument', async (t) => {
  const h = await harness(t)
  for (const [label, value] of hostileValues()) {
    const out = await send(h, `hostile-${label}`, value)
    t.equal(out.kind, 'refused', `${label}: ${out.detail}`)
  }
  // Shared (non-circular) references are fine: JSON copies them.
  const shared = { a: 1 }
  await fuzz(t, h, 'shared', [[shared, shared], { x: shared, y: [shared] }])
  // A trailing undefined argument is an omitted optional parameter.
  await fuzz(t, h, 'trailing-undefined', [undefined])
})

t.test('prototype-pollution keys arrive as own data, and pollute nothing', async (t) => {
  const h = await harness(t)
  const value = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":[{"__proto__":null}]}') as Record<string, unknown>
  await fuzz(t, h, 'proto', [value])
  const got = h.received.get('proto-0')?.args[1] as Record<string, unknown> | undefined
  t.ok(got !== undefined && Object.hasOwn(got, '__proto__'), '__proto__ is an own key of what the handler got')
  t.equal(Object.getPrototypeOf(got), Object.prototype, 'its prototype is untouched')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
})

t.test('deep nesting: accepted up to the depth limit, refused beyond it', async (t) => {
  const h = await harness(t)
  for (const kind of ['array', 'object'] as const) {
    let deepestAccepted = 0
    let shallowestRefused = Infinity
    for (const depth of [1, 2, 10, 32, 60, 62, 63, 64, 65, 66, 100, 1000, 10_000]) {
      const out = await send(h, `deep-${kind}-${depth}`, nested(depth, kind))
      t.not(out.kind, 'broken', `${kind} depth ${depth}: ${out.detail}`)
      if (out.kind === 'accepted') deepestAccepted = Math.max(deepestAccepted, depth)
      else shallowestRefused = Math.min(shallowestRefused, depth)
    }
    t.ok(deepestAccepted >= 60 && deepestAccepted < shallowestRefused, `${kind}: accepted up to ${deepestAccepted}, refused from ${shallowestRefused}`)
  }
  await until('deep values ran', () => [...h.received.keys()].filter((k) => k.startsWith('deep-')).length >= 4, 10_000)
  const got = h.received.get('deep-object-60')?.args[1]
  t.ok(sameAsJson(nested(60, 'object'), got), 'a 60-deep object round-trips')
})

t.test('huge strings: the byte limit is exact, in bytes of UTF-8, whatever the characters', async (t) => {
  const h = await harness(t)
  for (const ch of ['a', 'é', '€', '💥']) {
    const marker = `huge-${Buffer.byteLength(ch)}`
    const overhead = Buffer.byteLength(JSON.stringify([marker, '']))
    const unit = Buffer.byteLength(ch)
    const fits = ch.repeat(Math.floor((MAX_PAYLOAD - overhead) / unit))
    const out = await send(h, marker, fits)
    t.equal(out.kind, 'accepted', `${Buffer.byteLength(JSON.stringify([marker, fits]))} bytes of ${JSON.stringify(ch)} fit in ${MAX_PAYLOAD}`)
    const over = await send(h, `${marker}-over`, fits + ch)
    t.same(over, { kind: 'refused', detail: 'FST_FIFO_PAYLOAD_TOO_LARGE' }, 'one more character is refused')
    await until('the huge value ran', () => h.received.has(marker), 10_000)
    t.ok(h.received.get(marker)?.args[1] === fits, 'it arrived intact')
  }
  const tenMegabytes = 'x'.repeat(10 * 1024 * 1024)
  t.same(await send(h, 'huge-10M', tenMegabytes), { kind: 'refused', detail: 'FST_FIFO_PAYLOAD_TOO_LARGE' })
})

t.test('fuzzed queue names: valid ones run in exactly that queue, bad ones are refused with FST_FIFO_INVALID_QUEUE, writing nothing', async (t) => {
  const h = await harness(t)
  const names: unknown[] = [
    ...fc.sample(oddString, { numRuns: 300, seed: SEED + 5 }),
    '', 'a'.repeat(256), 'a'.repeat(257), '💥'.repeat(128), 'q\u0000', 'q\n', 'q\u0085', '\ud800', ' ', '/', '%2F', '..', 'order:1',
    42, null, undefined, { q: 1 }, ['q'], true,
  ]
  const problems: string[] = []
  const accepted: string[] = []
  for (const name of names) {
    const before = h.proxy.commandCount
    try {
      await h.route(name)
      if (typeof name !== 'string') problems.push(`${describe(name)} (${typeof name}) accepted as a queue name`)
      else accepted.push(name)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (code !== 'FST_FIFO_INVALID_QUEUE' && code !== 'FST_FIFO_INVALID_ARGUMENT') problems.push(`${describe(name)}: refused with ${String(code)}`)
      if (h.proxy.commandCount !== before) problems.push(`${describe(name)}: refused but Redis commands were sent`)
      if (typeof name === 'string' && name.length >= 1 && name.length <= 256 && name.isWellFormed() && !/[\u0000-\u001f\u007f-\u009f]/.test(name) && code === 'FST_FIFO_INVALID_QUEUE') { // eslint-disable-line no-control-regex
        problems.push(`${describe(name)}: a valid queue name was refused`)
      }
    }
  }
  await until('accepted queue names ran', () => accepted.every((q) => h.received.has(`route:${JSON.stringify(q)}`)), 20_000).catch(() => {})
  for (const q of accepted) {
    const got = h.received.get(`route:${JSON.stringify(q)}`)
    if (got?.queue !== q) problems.push(`${describe(q)}: ran in queue ${describe(got?.queue)}`)
  }
  t.same(problems.slice(0, 20), [], `${names.length} queue names, ${accepted.length} ran in their own queue`)
})
