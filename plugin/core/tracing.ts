import type * as OtelApi from '@opentelemetry/api'
import type { ClaimedTask, EnqueueResult, NewTask } from '../store/store'
import { describeError } from './errors'

/**
 * OpenTelemetry spans, when @opentelemetry/api is installed (an optional peer,
 * required lazily here; without it nothing is loaded, made or stored).
 *
 * Following the OpenTelemetry messaging semantic conventions (push-based
 * consumer, one message per operation):
 * - an enqueue is a PRODUCER span `send <task name>` (operation `send`); its
 *   context is the task's creation context, stored with the task as a W3C
 *   `traceparent` (and `tracestate`) in the task's extras (store/extras.ts);
 * - each run is a CONSUMER span `process <task name>` (operation `process`).
 *   The conventions require a link from the process span to the creation
 *   context and allow it as parent when a span handles a single message. A run
 *   handles exactly one task, so the process span is a CHILD of the producer
 *   span (the request, the task and what it enqueues read as one trace) and
 *   also LINKS to it (what tools that follow the conventions look for);
 * - the handler runs in the process span's context, so what it enqueues
 *   continues the same trace.
 *
 * Span names use the task name, not the queue: queue names carry keys
 * (`order:o-1`) and span names must stay low-cardinality; the queue is
 * `messaging.destination.name`, the task name `messaging.destination.template`.
 */

type Api = typeof OtelApi

export const MESSAGING_SYSTEM = 'fastify_fifo'

/** How a run ended, as `messaging.fastify_fifo.outcome`. */
export type RunOutcome = 'succeeded' | 'retrying' | 'halted' | 'dead-lettered' | 'lease-lost' | 'released'

export interface RunSpan {
  /** Calls `fn` with the process span active (so the handler's own spans and enqueues are its children). */
  run: <T>(fn: () => T) => T
  /** Records a failure of the handler on the span. */
  error: (err: unknown) => void
  /** Ends the span with the run's outcome. */
  end: (outcome: RunOutcome) => void
}

export interface Tracing {
  /** Sends `task` inside a PRODUCER span whose context is stored with it. */
  send: (task: NewTask, send: (task: NewTask) => Promise<EnqueueResult>) => Promise<EnqueueResult>
  /** Starts the CONSUMER span of one run of `task`; null when it would not be recorded and has no context to pass on. */
  startRun: (task: ClaimedTask, instanceId: string) => RunSpan | null
}

let loaded: Api | null | undefined

function loadApi (): Api | null {
  if (loaded === undefined) {
    try {
      loaded = require('@opentelemetry/api') as Api
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err
      loaded = null
    }
  }
  return loaded
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

function traceparent (sc: OtelApi.SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/** The tracing hooks, or null when @opentelemetry/api is not installed (or `enabled` is false). */
export function createTracing (enabled: boolean, version: string): Tracing | null {
  if (!enabled) return null
  const api = loadApi()
  if (api === null) return null
  const { context, trace, SpanKind, SpanStatusCode, ROOT_CONTEXT } = api
  // A proxy of the global provider's tracer: a provider registered after the app started is used.
  const proxy = trace.getTracer('fastify-fifo', version)
  const tracer = (): OtelApi.Tracer => proxy

  /** The stored creation context of a task, or undefined. */
  function creationContext (task: ClaimedTask): OtelApi.SpanContext | undefined {
    const m = task.extras?.tp === undefined ? null : TRACEPARENT.exec(task.extras.tp)
    if (m === null || m === undefined) return undefined
    const sc: OtelApi.SpanContext = { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true }
    if (task.extras?.ts !== undefined) sc.traceState = api?.createTraceState(task.extras.ts)
    return trace.isSpanContextValid(sc) ? sc : undefined
  }

  function recordError (span: OtelApi.Span, err: unknown): void {
    const e = err instanceof Error ? err : new Error(describeError(err))
    span.recordException(e)
    span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) })
    const code = (err as { code?: unknown } | null)?.code
    span.setAttribute('error.type', typeof code === 'string' ? code : e.name)
  }

  // Whether a provider (an SDK) was registered: then every tracer is real. Before that the proxy hands out
  // the no-op tracer; once set, a provider stays (trace.disable() aside, after which the full path is merely slower).
  let providerSeen = false
  const anyProvider = (): boolean => {
    if (providerSeen) return true
    const provider = trace.getTracerProvider() as Partial<OtelApi.ProxyTracerProvider>
    providerSeen = typeof provider.getDelegateTracer !== 'function' || provider.getDelegateTracer('fastify-fifo', version) !== undefined
    return providerSeen
  }

  return {
    send (task, send) {
      // No provider and no span around (the API installed but unused): the no-op tracer would make a span
      // with an invalid context, so nothing would be stored or ended. Not making it saved 0.4 of the 0.85 µs
      // of Node CPU an enqueue spent in fastify-fifo's own code (bench/compare-enqueue-cost.ts, bench/README.md "http").
      if (!anyProvider() && trace.getSpanContext(context.active()) === undefined) return send(task)
      const span = tracer().startSpan(`send ${task.name}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.name': 'send',
          'messaging.operation.type': 'send',
          'messaging.destination.name': task.queue,
          'messaging.destination.template': task.name,
        },
      })
      const sc = span.spanContext()
      // No provider and no trace around: nothing to store or wait for.
      if (!trace.isSpanContextValid(sc)) return send(task)
      const state = sc.traceState?.serialize()
      task.extras = { ...task.extras, tp: traceparent(sc), ...(state === undefined || state === '' ? {} : { ts: state }) }
      return send(task).then((r) => {
        span.setAttribute('messaging.message.id', r.id)
        if (r.duplicate) span.setAttribute('messaging.fastify_fifo.duplicate', true)
        span.end()
        return r
      }, (err: unknown) => {
        recordError(span, err)
        span.end()
        throw err
      })
    },

    startRun (task, instanceId) {
      const creation = creationContext(task)
      // No provider and no creation context: the no-op tracer would make a span that records nothing and
      // carries no context, so nothing is made (the options object and its attributes were per task).
      if (creation === undefined && !anyProvider()) return null
      // Never the context the worker happens to run in (a claim on enqueue runs inside the enqueuing request).
      const parent = creation === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, creation)
      const span = tracer().startSpan(`process ${task.name}`, {
        kind: SpanKind.CONSUMER,
        links: creation === undefined ? [] : [{ context: creation }],
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.destination.name': task.queue,
          'messaging.destination.template': task.name,
          'messaging.message.id': task.id,
          'messaging.client.id': instanceId,
          'messaging.fastify_fifo.attempt': task.attempt,
        },
      }, parent)
      // Not recorded (no provider, or sampled out with no context to pass on): no context to enter either.
      if (!span.isRecording() && creation === undefined) return null
      const active = trace.setSpan(parent, span)
      let ended = false
      return {
        run: (fn) => context.with(active, fn),
        error: (err) => { recordError(span, err) },
        end: (outcome) => {
          if (ended) return
          ended = true
          span.setAttribute('messaging.fastify_fifo.outcome', outcome)
          span.end()
        },
      }
    },
  }
}
