import '../helpers/guard'
import { context, ROOT_CONTEXT, trace, TraceFlags, type SpanContext } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { AsyncLocalContextManager } from '../helpers/otel'

// OpenTelemetry's API is process-wide: this file starts without a context manager and a provider
// and registers each part-way (the enqueue skips the no-op span only when there is neither a provider nor a span).
t.test('API installed: no trace context without a provider or a span around; a span around is passed on without a provider; a provider registered after ready is used', async (t) => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    await provider.shutdown()
    trace.disable()
    context.disable()
  })
  await app.register(fifo, { worker: false, dashboard: false })
  const job = app.fifo.define('job', { queue: (q: string) => q }, async (_q: string) => {})
  await app.ready()
  const store = app.fifo.store
  // One queue per step, claimed right after its enqueue, so each claim returns that step's task.
  const enqueueAndClaim = async (q: string): Promise<Record<string, string> | undefined> => {
    await job(q)
    const claimed = await store.claim('tester', 10_000)
    t.equal(claimed?.queue, q)
    return claimed?.extras
  }

  t.equal((await enqueueAndClaim('none'))?.tp, undefined, 'no provider, no span around: nothing stored')

  context.setGlobalContextManager(new AsyncLocalContextManager().enable())
  const around: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true }
  const extras = await context.with(trace.setSpanContext(ROOT_CONTEXT, around), async () => await enqueueAndClaim('around'))
  t.equal(extras?.tp, `00-${around.traceId}-${around.spanId}-01`, 'no provider, a span around: its context is stored, as the no-op tracer passes it on')
  t.equal(exporter.getFinishedSpans().length, 0)

  trace.setGlobalTracerProvider(provider)
  const traced = await enqueueAndClaim('traced')
  const spans = exporter.getFinishedSpans()
  t.equal(spans.length, 1, 'a provider registered after ready: the enqueue makes its span')
  t.equal(spans[0]?.name, 'send job')
  t.equal(traced?.tp, `00-${spans[0]?.spanContext().traceId}-${spans[0]?.spanContext().spanId}-01`, 'and stores its context')
})
