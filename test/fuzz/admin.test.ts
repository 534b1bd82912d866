import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import fc from 'fast-check'
import t from 'tap'
import fifo from '../../plugin'
import { until } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { oddString } from './values'

/**
 * The admin API under hostile requests: malformed and odd ids and queue names
 * (raw, percent-encoded, double-encoded, broken escapes, overlong UTF-8,
 * encoded surrogates, 10 kB), odd query strings, oversized bodies, wrong
 * content types, unsupported methods. Every answer is a 2xx/3xx/4xx — never a
 * 500 — with a JSON error body carrying an FST_ code, and never a stack trace.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261128)

async function adminApp (t: { teardown: (fn: () => Promise<void>) => void }): Promise<FastifyInstance> {
  const redis = await startRedis()
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    await redis.cleanup()
  })
  await app.register(fifo, { redis: redis.url, prefix: uniquePrefix('adm'), dashboard: { path: '/fifo', auth: async () => {} }, sweepMs: 100 })
  const fails = app.fifo.define('fails', { queue: (q: string) => q, attempts: 1, onExhausted: 'dead-letter' }, async (_q: string) => { throw new Error('always') })
  const halts = app.fifo.define('halts', { queue: 'halted/queue ✓', attempts: 1 }, async () => { throw new Error('halts') })
  const waits = app.fifo.define('waits', { queue: (q: string) => q }, async (_q: string) => await new Promise((resolve) => setTimeout(resolve, 50)))
  await app.ready()
  for (const q of ['a', 'with space', 'slash/inside', 'pct%41', 'ünï©ødé', '💥']) await fails(q)
  await halts()
  for (let i = 0; i < 5; i++) await waits(`w${i}`)
  await until('dead letters exist', async () => (await app.fifo.store.listDead(0, 1)).total >= 6, 10_000)
  return app
}

const brokenEscapes = ['%', '%%', '%zz', '%E0%A4%A', '%00', '%2F', '%252F', '%C0%AF', '%ED%A0%80', '%FF', '%uD800', '%2e%2e', '..', '.', '%0A', '%0D%0A', '%23', '%3F', '?', '#', '\\', '%5C']

/** encodeURIComponent, except that a lone surrogate (which it refuses) becomes its WTF-8 bytes. */
function encode (raw: string): string {
  let out = ''
  for (const ch of raw) {
    try {
      out += encodeURIComponent(ch)
    } catch {
      out += [...Buffer.from([0xe0 | (ch.charCodeAt(0) >> 12), 0x80 | ((ch.charCodeAt(0) >> 6) & 0x3f), 0x80 | (ch.charCodeAt(0) & 0x3f)])].map((b) => '%' + b.toString(16).toUpperCase()).join('')
    }
  }
  return out
}

function encodings (raw: string): string[] {
  return [encode(raw), encode(encode(raw)), raw.replace(/[?#\s]/g, '_')]
}

const suffixes = ['', '/tasks', '/detail', '/tasks?offset=-1&limit=100000', '/tasks?offset=abc']
const actions = ['pause', 'resume', 'retry', 'skip']
const bodies: Array<[string | undefined, string]> = [
  ['application/json', '{}'],
  ['application/json', '{"reason":"fuzz"}'],
  ['application/json', '{'],
  ['application/json', '[]'],
  ['application/json', 'null'],
  ['application/json', '"x"'],
  ['application/json', '{"reason":{"__proto__":{"x":1}}}'],
  ['application/json', '{"reason":' + '['.repeat(2000) + ']'.repeat(2000) + '}'],
  ['application/json', JSON.stringify({ reason: 'x'.repeat(100_000) })],
  ['application/json; charset=utf-16', '{}'],
  ['text/plain', '{}'],
  ['application/x-www-form-urlencoded', 'reason=x'],
  ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
  ['application/jsonp', '{}'],
  [undefined, '{}'],
  [undefined, ''],
]

interface Req { method: string, url: string, contentType?: string, body?: string }

function requests (): Req[] {
  const names = [
    ...fc.sample(oddString, { numRuns: 120, seed: SEED }),
    '', 'a', 'with space', 'slash/inside', 'halted/queue ✓', 'x'.repeat(300), 'y'.repeat(10_000), '\ud800', '\u0000', '__proto__', 'constructor',
  ]
  const out: Req[] = []
  for (const name of names) {
    for (const encoded of encodings(name)) {
      for (const suffix of suffixes) out.push({ method: 'GET', url: `/fifo/api/queues/${encoded}${suffix}` })
      out.push({ method: 'GET', url: `/fifo/api/tasks/${encoded}` })
      out.push({ method: 'GET', url: `/fifo/api/dead/${encoded}` })
    }
    const encoded = encode(name)
    for (const action of actions) out.push({ method: 'POST', url: `/fifo/api/queues/${encoded}/${action}`, contentType: 'application/json', body: '{}' })
    out.push({ method: 'POST', url: `/fifo/api/dead/${encoded}/requeue`, contentType: 'application/json', body: '{}' })
    out.push({ method: 'DELETE', url: `/fifo/api/dead/${encoded}` })
    out.push({ method: 'GET', url: `/fifo/api/queues?search=${encoded}&state=${encoded}` })
  }
  for (const broken of brokenEscapes) {
    out.push({ method: 'GET', url: `/fifo/api/queues/${broken}` }, { method: 'GET', url: `/fifo/api/queues/a${broken}b/tasks` })
    out.push({ method: 'GET', url: `/fifo/api/tasks/${broken}` }, { method: 'GET', url: `/fifo/api/dead/${broken}` })
    out.push({ method: 'POST', url: `/fifo/api/queues/${broken}/pause`, contentType: 'application/json', body: '{}' })
    out.push({ method: 'DELETE', url: `/fifo/api/dead/${broken}` })
    out.push({ method: 'GET', url: `/fifo/api/queues?search=${broken}` }, { method: 'GET', url: `/fifo/api/dead?offset=${broken}` })
  }
  for (const q of ['offset=-1', 'offset=1e400', 'limit=1e400', 'offset=Infinity', 'offset=-1e400', 'limit=0', 'limit=501', 'limit=-5', 'limit=NaN', 'limit=1&limit=2', 'offset[]=1', 'state=bogus', 'state=halted', 'state=', 'search=' + '%F0%9F'.repeat(3), 'offset=99999999999999999999', 'limit=1.5', '__proto__[x]=1', 'constructor[prototype][x]=1']) {
    for (const path of ['/fifo/api/queues', '/fifo/api/dead', '/fifo/api/queues/a/tasks', '/fifo/api/overview', '/fifo/api/instances']) out.push({ method: 'GET', url: `${path}?${q}` })
  }
  for (const [contentType, body] of bodies) {
    for (const url of ['/fifo/api/queues/a/pause', '/fifo/api/queues/halted%2Fqueue%20%E2%9C%93/skip', '/fifo/api/queues/halted%2Fqueue%20%E2%9C%93/retry', '/fifo/api/dead/x/requeue', `/fifo/api/queues/${'z'.repeat(400)}/resume`]) {
      out.push({ method: 'POST', url, contentType, body })
    }
  }
  for (const method of ['PUT', 'PATCH', 'OPTIONS', 'HEAD', 'DELETE', 'POST']) {
    for (const url of ['/fifo/api/overview', '/fifo/api/queues', '/fifo/api/queues/a', '/fifo/api', '/fifo/api/nope', '/fifo/metrics']) out.push({ method, url })
  }
  return out
}

const STACK = /\n\s+at |\bat [\w$.<>]+ \(.*:\d+:\d+\)|node:internal|\/plugin\/|\.ts:\d+/

t.test('hostile admin requests: no 500, no stack trace, typed JSON errors', async (t) => {
  const app = await adminApp(t)
  const all = requests()
  const problems: string[] = []
  const statuses: Record<number, number> = {}
  for (const req of all) {
    const res = await app.inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.contentType === undefined ? {} : { 'content-type': req.contentType },
      ...(req.body === undefined ? {} : { payload: req.body }),
    })
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    const label = `${req.method} ${req.url.slice(0, 100)}${req.contentType === undefined ? '' : ` (${req.contentType})`}`
    if (res.statusCode >= 500) problems.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    if (STACK.test(res.body)) problems.push(`${label}: stack trace in the response: ${res.body.slice(0, 300)}`)
    if (res.statusCode >= 400 && req.method !== 'HEAD') {
      let code: unknown
      try {
        code = (JSON.parse(res.body) as { code?: unknown }).code
      } catch {
        problems.push(`${label}: ${res.statusCode} with a non-JSON body: ${res.body.slice(0, 100)}`)
        continue
      }
      if (typeof code !== 'string' || !code.startsWith('FST_')) problems.push(`${label}: ${res.statusCode} without an FST_ code: ${res.body.slice(0, 200)}`)
    }
  }
  t.same(problems.slice(0, 25), [], `${all.length} requests; statuses ${JSON.stringify(statuses)}`)
  // The API still works after the barrage.
  const overview = await app.inject({ method: 'GET', url: '/fifo/api/overview' })
  t.equal(overview.statusCode, 200)
})
