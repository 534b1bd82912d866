import '../helpers/guard'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { freePort, uniquePrefix } from '../helpers/redis-server'
import { RedisProxy } from './proxy'

/**
 * Redis unreachable when the app starts: register/ready fails within a bounded
 * time (connectTimeoutMs) with FST_FIFO_REDIS_UNAVAILABLE — no hang, no
 * unhandled rejection, nothing left running, no credentials in the message.
 */

const unhandled: unknown[] = []
const onUnhandled = (err: unknown): void => { unhandled.push(err) }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

async function startApp (url: string, connectTimeoutMs: number): Promise<{ err: { code?: string, message: string } | null, ms: number }> {
  const app = Fastify({ logger: false })
  const began = Date.now()
  let err: { code?: string, message: string } | null = null
  try {
    await app.register(fifo, { redis: url, prefix: uniquePrefix('up'), connectTimeoutMs, dashboard: false })
    await app.ready()
  } catch (e) {
    err = e as { code?: string, message: string }
  }
  const ms = Date.now() - began
  await app.close().catch(() => {})
  return { err, ms }
}

for (const connectTimeoutMs of [300, 1500]) {
  t.test(`nothing listens on the port: ready() fails with FST_FIFO_REDIS_UNAVAILABLE within connectTimeoutMs ${connectTimeoutMs}`, async (t) => {
    const port = await freePort()
    const { err, ms } = await startApp(`redis://127.0.0.1:${port}`, connectTimeoutMs)
    t.equal(err?.code, 'FST_FIFO_REDIS_UNAVAILABLE', err?.message ?? 'no error')
    t.ok(ms < connectTimeoutMs + 1500, `failed after ${ms} ms`)
  })

  t.test(`the server accepts connections but never answers: ready() fails within connectTimeoutMs ${connectTimeoutMs}`, async (t) => {
    const proxy = new RedisProxy(await freePort())
    await proxy.listen()
    proxy.blackhole()
    t.teardown(() => proxy.close())
    const { err, ms } = await startApp(proxy.url, connectTimeoutMs)
    t.equal(err?.code, 'FST_FIFO_REDIS_UNAVAILABLE', err?.message ?? 'no error')
    t.ok(ms >= connectTimeoutMs * 0.8, `it waited for the connect timeout (${ms} ms)`)
    t.ok(ms < connectTimeoutMs + 1500, `failed after ${ms} ms`)
  })
}

t.test('the error never shows the password in the URL', async (t) => {
  const port = await freePort()
  const { err } = await startApp(`redis://fifo-user:s3cr3t-pa55@127.0.0.1:${port}/0`, 300)
  t.equal(err?.code, 'FST_FIFO_REDIS_UNAVAILABLE')
  t.notMatch(err?.message ?? '', /s3cr3t-pa55/)
  t.notMatch(JSON.stringify(err), /s3cr3t-pa55/)
})

t.test('a host name that does not resolve fails the same way', async (t) => {
  const { err, ms } = await startApp('redis://fifo-no-such-host.invalid:6390', 500)
  t.equal(err?.code, 'FST_FIFO_REDIS_UNAVAILABLE', err?.message ?? 'no error')
  t.ok(ms < 500 + 1500, `failed after ${ms} ms`)
})

t.test('no unhandled rejection was raised by any of the failed starts', async (t) => {
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(unhandled, [])
})
