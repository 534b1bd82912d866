import '../helpers/guard'
import { createServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { RedisStore, type RedisStoreOptions } from '../../plugin/store/redis/redis-store'
import { freePort, startRedis, uniquePrefix } from '../helpers/redis-server'

// Connecting, timeouts, outages, closing, and what may never leak into errors
// and logs. Timing bounds here are generous: they catch hangs, not slowness.

interface Captured { lines: string[], log: NonNullable<RedisStoreOptions['log']> }

function capture (): Captured {
  const lines: string[] = []
  return {
    lines,
    log: {
      warn: (obj, msg) => { lines.push(`${JSON.stringify(obj)} ${msg}`) },
      error: (obj, msg) => { lines.push(`${JSON.stringify(obj)} ${msg}`) },
    },
  }
}

function store (tt: Test, redis: RedisStoreOptions['redis'], over: Partial<RedisStoreOptions> = {}): RedisStore {
  const s = new RedisStore({ redis, prefix: uniquePrefix('conn'), connectTimeoutMs: 2000, commandTimeoutMs: 2000, deadLetterLimit: 100, ...over })
  tt.teardown(async () => await s.close())
  return s
}

async function settle<T> (promise: Promise<T>): Promise<{ value?: T, error?: Error & { code?: string }, ms: number }> {
  const started = Date.now()
  try {
    return { value: await promise, ms: Date.now() - started }
  } catch (error) {
    return { error: error as Error & { code?: string }, ms: Date.now() - started }
  }
}

/** Everything an error could show: message, stack, own properties. */
function shown (err: unknown): string {
  const e = err as Error
  return `${String(e)} ${e.stack ?? ''} ${JSON.stringify(e)}`
}

t.test('connect against a port nobody listens on rejects in time and leaves nothing running', async (t) => {
  const port = await freePort()
  const s = store(t, `redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 })
  const r = await settle(s.connect())
  t.equal(r.error?.code, 'FST_FIFO_REDIS_UNAVAILABLE')
  t.match(r.error?.message, /within 300 ms/)
  t.ok(r.ms < 2500, `rejected after ${r.ms} ms`)
  const status = s.client.status
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.notOk(['connecting', 'connect', 'ready'].includes(s.client.status), `no reconnect loop left behind (${status} → ${s.client.status})`)
  await s.close()
  await s.close()
})

t.test('connect against a server that accepts but never answers rejects in time', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const port = (server.address() as { port: number }).port
  const s = store(t, { host: '127.0.0.1', port }, { connectTimeoutMs: 300 })
  const r = await settle(s.connect())
  t.equal(r.error?.code, 'FST_FIFO_REDIS_UNAVAILABLE')
  t.ok(r.ms < 2500, `rejected after ${r.ms} ms`)
})

t.test('credentials never appear in errors or logs', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const admin = redis.client()
  await admin.config('SET', 'requirepass', 'right-secret-pw-123')
  admin.disconnect()
  const secrets = ['wrong-secret-pw-456', 'opt-secret-pw-789', 'unreach-secret-pw-000', 'right-secret-pw-123', 'secret-user-1']

  const check = (t: Test, what: string, err: unknown, logs: string[]): void => {
    t.equal((err as { code?: string }).code, 'FST_FIFO_REDIS_UNAVAILABLE', `${what}: typed error`)
    const text = `${shown(err)} ${logs.join('\n')}`
    for (const secret of secrets) t.notOk(text.includes(secret), `${what}: no ${secret}`)
    t.notOk(/redis:\/\/[^[]/.test(text), `${what}: no URL`)
  }

  const wrong = capture()
  const a = store(t, `redis://secret-user-1:wrong-secret-pw-456@127.0.0.1:${redis.port}`, { connectTimeoutMs: 400, log: wrong.log })
  check(t, 'wrong password in a URL', (await settle(a.connect())).error, wrong.lines)

  const opts = capture()
  const b = store(t, { host: '127.0.0.1', port: redis.port, password: 'opt-secret-pw-789' }, { connectTimeoutMs: 400, log: opts.log })
  check(t, 'wrong password in options', (await settle(b.connect())).error, opts.lines)

  const gone = capture()
  const c = store(t, `redis://:unreach-secret-pw-000@127.0.0.1:${await freePort()}`, { connectTimeoutMs: 300, log: gone.log })
  check(t, 'unreachable server', (await settle(c.connect())).error, gone.lines)

  const right = capture()
  const d = store(t, `redis://:right-secret-pw-123@127.0.0.1:${redis.port}`, { commandTimeoutMs: 300, log: right.log })
  await d.connect()
  await d.enqueue({ queue: 'q', name: 'job', payload: '[]' })
  await redis.stop()
  check(t, 'a call while Redis is down', (await settle(d.enqueue({ queue: 'q', name: 'job', payload: '[]' }))).error, right.lines)
  t.ok(right.lines.length > 0, 'the outage was logged')
})

t.test('calls reject after commandTimeoutMs while Redis is down and work again when it is back', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const s = store(t, redis.url, { commandTimeoutMs: 400 })
  await s.connect()
  await s.enqueue({ queue: 'q', name: 'job', payload: '[1]' })

  await redis.stop()
  const calls: Array<() => Promise<unknown>> = [
    async () => await s.enqueue({ queue: 'q', name: 'job', payload: '[2]' }),
    async () => await s.claim('w', 1000),
    async () => await s.overview(),
  ]
  for (const call of calls) {
    const r = await settle(call())
    t.equal(r.error?.code, 'FST_FIFO_REDIS_UNAVAILABLE', r.error?.message ?? 'rejected')
    t.ok(r.ms < 3000, `rejected after ${r.ms} ms`)
  }
  t.equal(await s.waitForWork(200), false, 'waitForWork just times out while Redis is down')
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  const many = Promise.allSettled(Array.from({ length: 40 }, async (_, i) => await s.enqueue({ queue: `m${i}`, name: 'job', payload: '[]' })))
  t.ok(s.client.listenerCount('ready') <= 3, `waiting calls share one listener (${s.client.listenerCount('ready')})`)
  t.ok((await many).every((r) => r.status === 'rejected'))
  await new Promise((resolve) => setImmediate(resolve))
  process.off('warning', onWarning)
  t.same(warnings.map((w) => w.name), [], 'no MaxListenersExceededWarning')

  await redis.start()
  let back = false
  for (let i = 0; i < 100 && !back; i++) {
    back = (await settle(s.enqueue({ queue: 'q', name: 'job', payload: '[3]' }))).error === undefined
    if (!back) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(back, 'calls work again by themselves')
  t.match(await s.claim('w', 1000), { queue: 'q' })
})

t.test('a call Redis does not answer rejects after commandTimeoutMs', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const s = store(t, redis.url, { commandTimeoutMs: 300 })
  await s.connect()
  const admin = redis.client()
  t.teardown(() => admin.disconnect())
  await admin.call('CLIENT', 'PAUSE', '1500', 'ALL')
  const r = await settle(s.enqueue({ queue: 'q', name: 'job', payload: '[]' }))
  t.equal(r.error?.code, 'FST_FIFO_REDIS_UNAVAILABLE')
  t.match(r.error?.message, /no reply from Redis within 300 ms/)
  await admin.call('CLIENT', 'UNPAUSE')
  t.match(await s.enqueue({ queue: 'q', name: 'job', payload: '[]' }), { queue: 'q' })
})

t.test('a client passed in is used as is and never closed; the blocking connection is the store\'s own', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const s = store(t, client)
  await s.connect()
  t.equal(s.client, client)
  const waiting = s.waitForWork(5000)
  await s.enqueue({ queue: 'q', name: 'job', payload: '[]' })
  t.equal(await waiting, true, 'woken by the enqueue')
  t.equal(((await client.client('LIST')) as string).trim().split('\n').length, 2, 'main + blocking connection')
  await s.close()
  t.equal(await client.ping(), 'PONG', 'still open after close')
  t.equal(((await client.client('LIST')) as string).trim().split('\n').length, 1, 'the blocking connection is gone')
})

t.test('waitForWork: woken by another store, interrupted at once, false after close', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const prefix = uniquePrefix('wake')
  const a = store(t, redis.url, { prefix })
  const b = store(t, redis.url, { prefix })
  await a.connect()
  await b.connect()

  t.equal(await a.waitForWork(100), false, 'times out with nothing to do')
  const woken = settle(a.waitForWork(5000))
  await new Promise((resolve) => setTimeout(resolve, 100))
  await b.enqueue({ queue: 'q', name: 'job', payload: '[]' })
  const r = await woken
  t.equal(r.value, true)
  t.ok(r.ms < 2000, `woken after ${r.ms} ms`)

  const interrupted = settle(a.waitForWork(10_000))
  await new Promise((resolve) => setTimeout(resolve, 50))
  a.interruptWait()
  const i = await interrupted
  t.equal(i.value, false)
  t.ok(i.ms < 2000, `interrupted after ${i.ms} ms`)
  t.equal(await a.waitForWork(100), false, 'a new wait works after an interrupt')

  const closing = settle(a.waitForWork(10_000))
  await new Promise((resolve) => setTimeout(resolve, 50))
  await a.close()
  const c = await closing
  t.equal(c.value, false)
  t.ok(c.ms < 2000, `ended by close after ${c.ms} ms`)
  t.equal(await a.waitForWork(1000), false, 'false at once after close')
  await t.rejects(a.enqueue({ queue: 'q', name: 'job', payload: '[]' }), { code: 'FST_FIFO_REDIS_UNAVAILABLE' })
})
