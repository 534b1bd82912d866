import '../helpers/guard'
import FastifyOtelInstrumentation from '@fastify/otel'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import fifo, { type FifoOptions } from '../../plugin'
import { until } from '../helpers/app'
import { startTracing } from '../helpers/otel'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

// One global tracer provider for this file (OpenTelemetry's API is process-wide).
const tracing = startTracing()
t.teardown(tracing.shutdown)

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId
const attr = (s: ReadableSpan, key: string): unknown => s.attributes[key]

t.test('HTTP request → task (failed once, then retried) → the task it enqueues: one trace across two instances', async (t) => {
  const redis = await startRedis()
  const prefix = uniquePrefix('otel')
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    await Promise.allSettled(apps.map(async (a) => await a.close()))
    await redis.cleanup()
  })
  const base: FifoOptions = { redis: redis.url, prefix, leaseMs: 600, sweepMs: 50, dashboard: false }

  // Instance A takes the HTTP request and only enqueues; instance B runs every task.
  const otel = new FastifyOtelInstrumentation()
  otel.setTracerProvider(tracing.provider)
  const a = Fastify({ logger: false })
  apps.push(a)
  await a.register(otel.plugin())
  await a.register(fifo, { ...base, worker: false })
  const b = Fastify({ logger: false })
  apps.push(b)
  await b.register(fifo, { ...base, instanceId: 'b' })

  const notified: string[] = []
  const attempts: number[] = []
  const [reserveOnA] = [a, b].map((app) => {
    const notify = app.fifo.define('notify', { queue: (order: string) => `mail:${order}` }, async (order: string) => { notified.push(order) })
    return app.fifo.define('reserve', { queue: (order: string) => `order:${order}`, attempts: 3, backoff: 1 }, async (order: string) => {
      attempts.push(1)
      if (attempts.length === 1) throw new Error('stock service timed out')
      await notify(order)
    })
  })
  a.post<{ Params: { order: string } }>('/orders/:order', async (request) => await request.fifo.enqueue(reserveOnA, request.params.order))
  await a.ready()
  await b.ready()

  const res = await a.inject({ method: 'POST', url: '/orders/o-1' })
  t.equal(res.statusCode, 200)
  await until('the chain ran', () => notified.length === 1 && tracing.spans().some((s) => s.name === 'process notify'))

  const spans = tracing.spans()
  const traceId = spans.find((s) => s.name === 'send reserve')?.spanContext().traceId
  const ours = spans.filter((s) => s.spanContext().traceId === traceId)
  const byName = (name: string): ReadableSpan[] => ours.filter((s) => s.name === name)

  const request = ours.find((s) => s.kind === SpanKind.SERVER)
  t.ok(request, '@fastify/otel\'s request span is in the same trace')
  const [send] = byName('send reserve')
  t.equal(send.kind, SpanKind.PRODUCER)
  t.ok(ours.some((s) => s.spanContext().spanId === parentOf(send)), 'the enqueue is a child of a span of the HTTP request')
  t.match(send.attributes, {
    'messaging.system': 'fastify_fifo',
    'messaging.operation.type': 'send',
    'messaging.destination.name': 'order:o-1',
    'messaging.destination.template': 'reserve',
    'messaging.message.id': res.json().id,
  })

  const runs = byName('process reserve').sort((x, y) => Number(attr(x, 'messaging.fastify_fifo.attempt')) - Number(attr(y, 'messaging.fastify_fifo.attempt')))
  t.equal(runs.length, 2, 'two runs: the failure and the retry')
  for (const run of runs) {
    t.equal(run.kind, SpanKind.CONSUMER)
    t.equal(parentOf(run), send.spanContext().spanId, 'each run is a child of the enqueue')
    t.same(run.links.map((l) => l.context.spanId), [send.spanContext().spanId], 'and links to it')
    t.equal(attr(run, 'messaging.message.id'), res.json().id)
    t.equal(attr(run, 'messaging.client.id'), 'b', 'run on instance B')
  }
  t.match(runs[0].attributes, { 'messaging.fastify_fifo.attempt': 1, 'messaging.fastify_fifo.outcome': 'retrying', 'error.type': 'Error' })
  t.equal(runs[0].status.code, SpanStatusCode.ERROR)
  t.match(runs[0].events.find((e) => e.name === 'exception')?.attributes, { 'exception.message': 'stock service timed out' })
  t.match(runs[1].attributes, { 'messaging.fastify_fifo.attempt': 2, 'messaging.fastify_fifo.outcome': 'succeeded' })
  t.not(runs[1].status.code, SpanStatusCode.ERROR)

  const [sendNotify] = byName('send notify')
  t.ok(sendNotify, 'the task enqueued from the handler is in the same trace')
  t.equal(parentOf(sendNotify), runs[1].spanContext().spanId, 'as a child of the run that enqueued it')
  const [notifyRun] = byName('process notify')
  t.equal(parentOf(notifyRun), sendNotify.spanContext().spanId)
  t.equal(attr(notifyRun, 'messaging.fastify_fifo.outcome'), 'succeeded')
})

t.test('tracing: false stores no trace context and makes no spans', async (t) => {
  const redis = await startRedis()
  const client = new Redis(redis.url)
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    client.disconnect()
    await redis.cleanup()
  })
  const prefix = uniquePrefix('off')
  await app.register(fifo, { redis: redis.url, prefix, tracing: false, worker: false, dashboard: false })
  const job = app.fifo.define('quiet', { queue: 'q' }, async () => {})
  await app.ready()
  const before = tracing.spans().length
  await job()
  t.equal(tracing.spans().length, before, 'no span')
  const keys = await client.keys(`{${prefix}}:q:*`)
  const records = (await Promise.all(keys.map(async (k) => await client.lrange(k, 0, -1)))).flat()
  t.equal(records.length, 1)
  t.notOk(records[0].includes('\t'), 'the stored record has no extras')
})
