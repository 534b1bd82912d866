import { AsyncLocalStorage } from 'node:async_hooks'
import { EventEmitter } from 'node:events'
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

/**
 * A context manager on AsyncLocalStorage, for tests. The SDK's own
 * (@opentelemetry/context-async-hooks) is not installed here; this is the same
 * idea in the few lines the ContextManager interface needs.
 */
export class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active (): Context { return this.#storage.getStore() ?? ROOT_CONTEXT }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>> (ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args))
  }

  bind<T> (ctx: Context, target: T): T {
    if (typeof target === 'function') {
      const run = this.with.bind(this)
      return function (this: unknown, ...args: unknown[]) { return run(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args)) } as T
    }
    if (target instanceof EventEmitter) return target
    return target
  }

  enable (): this { return this }
  disable (): this { this.#storage.disable(); return this }
}

export interface TestTracing {
  exporter: InMemorySpanExporter
  provider: BasicTracerProvider
  spans: () => ReadableSpan[]
  shutdown: () => Promise<void>
}

/** Registers a global tracer provider exporting to memory, and an AsyncLocalStorage context manager. */
export function startTracing (): TestTracing {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  context.setGlobalContextManager(new AsyncLocalContextManager().enable())
  trace.setGlobalTracerProvider(provider)
  return {
    exporter,
    provider,
    spans: () => exporter.getFinishedSpans(),
    shutdown: async () => {
      await provider.shutdown()
      trace.disable()
      context.disable()
    },
  }
}
