import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { ApiContext } from './admin/api'
import { FST_FIFO_NOT_STARTED } from './errors'
import { VERSION } from './admin/http'
import type { Logger } from './log'
import type { MetricsSource } from './metric-families'
import { Metrics } from './metrics'
import { limiterViews } from './admin/limiters'
import { renderMetrics } from './admin/prometheus'
import { attachMetrics } from './prom'
import { createTracing, type Tracing } from './tracing'
import { awaitOutcome, checkTaskId, checkWaitMs, type TaskOutcome, type WaitOptions } from './wait'
import type { ResolvedOptions } from './options'
import { Limiters, type LimiterDefinition, type LimiterOptions } from './limits'
import { Registry, type EnqueuedTask, type Task, type TaskOptions } from './registry'
import { MemoryStore } from '../store/memory'
import { createRedisStore } from '../store/redis/create'
import type { EnqueueResult, NewTask, Store } from '../store/store'
import { Worker } from './worker'

/** What `app.fifo` (Fastify) and the Express adapter's `fifo` object offer. */
export interface Fifo {
  /**
   * Declares a task. Call the returned function to enqueue; the handler runs on
   * whichever instance takes the queue. Must be called before the app is ready.
   */
  define<H extends (...args: never[]) => unknown>(name: string, options: TaskOptions<Parameters<H>>, handler: H): Task<Parameters<H>>
  /**
   * Defines a limiter before the app is ready: at most `max` heads start per
   * `perMs` and at most `concurrency` run at once, across every instance of
   * the namespace. A name ending in `*` is a pattern: each name it covers
   * (`'partner:42'` for `'partner:*'`) is its own limiter with these limits.
   * Tasks name it with their `limiter` option. See README "Rate limits".
   * @example app.fifo.limiter('stripe', { max: 25, perMs: 1000, concurrency: 4 })
   */
  limiter (name: string, options: LimiterOptions): LimiterDefinition
  /** Same as calling the task. */
  enqueue<A extends unknown[], R extends EnqueuedTask>(task: Task<A, R>, ...args: A): Promise<R>
  /**
   * Waits for the outcome of a task enqueued earlier with the `wait` call
   * option (only those keep an outcome, for 5 minutes after they settle).
   * Rejects with FST_FIFO_WAIT_TIMEOUT after `timeoutMs` (the task is untouched);
   * at once with FST_FIFO_NOT_WAITED for a task enqueued without `wait`, and with
   * FST_FIFO_NOT_FOUND for an id that is neither queued, dead-lettered nor has a
   * kept outcome.
   */
  wait(taskId: string, options: WaitOptions): Promise<TaskOutcome>
  /** The store in use (reads and operator actions; see the Store contract). */
  readonly store: Store
  readonly storeKind: 'redis' | 'memory'
  readonly instanceId: string
  /** Names of the tasks defined on this app. */
  readonly tasks: string[]
}

export interface RequestFifo {
  /** Enqueues with this request's id on the task: the handler's logger carries it as reqId. */
  enqueue<A extends unknown[], R extends EnqueuedTask>(task: Task<A, R>, ...args: A): Promise<R>
}

/**
 * The engine, knowing no web framework: the store, the task registry, the
 * worker and their lifecycle. Each adapter (plugin/fastify, plugin/express)
 * makes one, wires its start and shutdown to the framework's, and serves the
 * admin routes from `adminContext()`.
 */
export class FifoCore {
  readonly options: ResolvedOptions
  readonly log: Logger
  readonly store: Store
  readonly instanceId: string
  readonly metrics = new Metrics()
  readonly registry: Registry
  /** null when @opentelemetry/api is not installed or `tracing: false`. */
  readonly tracing: Tracing | null
  readonly limiters = new Limiters()
  readonly worker: Worker
  readonly api: Fifo
  readonly #ownStore: boolean
  #closed = false
  #renderMetrics = async (): Promise<string> => await renderMetrics(this.#metricsSource())
  #detachMetrics: () => void = () => {}
  #connected = false
  #connecting: Promise<void> | null = null
  #closePromise: Promise<void> | null = null

  /** Makes the engine and connects its store (closing a store it made if that fails). */
  static async create (options: ResolvedOptions, log: Logger): Promise<FifoCore> {
    const core = FifoCore.make(options, log)
    await core.connect()
    return core
  }

  /** Makes the engine without connecting (the Express adapter connects in its start()). */
  static make (options: ResolvedOptions, log: Logger): FifoCore {
    return new FifoCore(options, log)
  }

  /** Connects the store, closing a store it made if that fails. */
  async connect (): Promise<void> {
    this.#connecting ??= (async () => {
      try {
        this.#exportMetrics()
        await this.store.connect()
        this.#connected = true
      } catch (err) {
        // Nothing else will close a store whose app failed to start.
        this.#detachMetrics()
        if (this.#ownStore) await this.store.close().catch(() => {})
        throw err
      }
    })()
    return await this.#connecting
  }

  /** An enqueue made while the store connects waits for it; one made before connect() was ever called is refused. */
  async #enqueueWhenConnected (task: Parameters<Worker['enqueue']>[0]): Promise<EnqueueResult> {
    if (this.#connecting === null) throw new FST_FIFO_NOT_STARTED(task.name)
    await this.#connecting
    return await this.worker.enqueue(task)
  }

  private constructor (opts: ResolvedOptions, log: Logger) {
    this.options = opts
    this.log = log
    this.instanceId = opts.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
    if (opts.store !== null) {
      this.store = opts.store
      this.#ownStore = false
    } else if (opts.redis !== undefined) {
      this.store = createRedisStore({
        redis: opts.redis,
        partitions: opts.partitions,
        prefix: opts.prefix,
        connectTimeoutMs: opts.connectTimeoutMs,
        commandTimeoutMs: opts.commandTimeoutMs,
        deadLetterLimit: opts.deadLetterLimit,
        replicas: opts.replicas,
        replicaTimeoutMs: opts.replicaTimeoutMs,
        log,
      })
      this.#ownStore = true
    } else {
      this.store = new MemoryStore({ deadLetterLimit: opts.deadLetterLimit })
      this.#ownStore = true
      log.warn('fastify-fifo: no "redis" option, so tasks live in this process\'s memory: one instance only, and every pending task is lost when the process exits. Pass { redis: "redis://…" } for durable, multi-instance queues.')
    }
    const metrics = this.metrics
    const tracing = this.tracing = createTracing(opts.tracing, VERSION)
    // Through the worker (made below, before any call): it may claim the task for this instance.
    const send = (task: NewTask): Promise<EnqueueResult> => this.#connected ? this.worker.enqueue(task) : this.#enqueueWhenConnected(task)
    this.registry = new Registry({
      send: tracing === null ? send : (task) => tracing.send(task, send),
      maxPayloadBytes: opts.maxPayloadBytes,
      isClosed: () => this.#closed,
      onEnqueued: () => { metrics.enqueued++ },
      limiters: this.limiters,
      awaitOutcome: async (taskId, queue, timeoutMs, pending) => await awaitOutcome(this.store, taskId, queue, timeoutMs, pending),
    })
    this.worker = new Worker({
      store: this.store,
      registry: this.registry,
      log,
      metrics,
      instance: {
        id: this.instanceId,
        host: hostname(),
        pid: process.pid,
        version: VERSION,
        startedAt: Date.now(),
        concurrency: opts.concurrency,
        handlers: [],
      },
      concurrency: opts.concurrency,
      leaseMs: opts.leaseMs,
      sweepMs: opts.sweepMs,
      burst: opts.burst,
      pipelinedAcks: opts.pipelinedAcks,
      maxResultBytes: opts.maxResultBytes,
      closeTimeoutMs: opts.closeTimeoutMs,
      tracing,
    })
    const registry = this.registry
    this.api = {
      define: (name, options, handler) => registry.define(name, options, handler as (...args: Parameters<typeof handler>) => unknown),
      limiter: (name, options) => this.limiters.define(name, options),
      enqueue: (task, ...args) => this.enqueue(task, args),
      wait: async (taskId, options) => {
        const id = checkTaskId(taskId)
        const timeoutMs = checkWaitMs('timeoutMs', (options as WaitOptions | undefined)?.timeoutMs)
        return await awaitOutcome(this.store, id, null, timeoutMs)
      },
      store: this.store,
      storeKind: this.store.kind,
      instanceId: this.instanceId,
      get tasks () { return registry.names },
    }
  }

  #metricsSource (): MetricsSource {
    return {
      instanceId: this.instanceId,
      storeKind: this.store.kind,
      version: VERSION,
      metrics: this.metrics,
      heldLeases: () => this.worker.heldLeases,
      overview: async () => {
        if (this.limiters.size === 0) return await this.store.overview()
        const ctx = { store: this.store, definitions: () => this.limiters.definitions, resolve: (name: string) => this.limiters.resolve(name) }
        const [overview, limiters] = await Promise.all([this.store.overview(), limiterViews(ctx)])
        return { ...overview, limiters }
      },
    }
  }

  /** Registers the metrics in the prom-client registry in use, or renders them by hand without prom-client. */
  #exportMetrics (): void {
    if (this.options.metrics === null) return
    // The private registry (no `metrics` option) is read only by <path>/metrics: without
    // the dashboard nothing reads it, and its histogram would cost every task ~0.5 µs.
    if (this.options.metrics.own && this.options.dashboard === null) return
    const attached = attachMetrics(this.options.metrics.registry, this.#metricsSource(), this.log)
    this.#renderMetrics = attached.render
    this.#detachMetrics = attached.detach
  }

  /**
   * Enqueues `task(...args)`; `requestId` correlates it with the HTTP request
   * that made it. Not async, and no wrapper above it is (the request's face, the
   * registry's enqueue): a bad call still rejects, never throws, and an enqueue
   * costs the store's one promise and one `then`, not an async frame per layer.
   */
  enqueue<A extends unknown[], R extends EnqueuedTask> (task: Task<A, R>, args: A, requestId?: string): Promise<R> {
    let internals
    try {
      internals = this.registry.unwrap(task)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.registry.enqueue(internals.def, args, internals.call, requestId) as Promise<R>
  }

  /** The request-scoped face: enqueues carry `requestId`. */
  forRequest (requestId: string): RequestFifo {
    return { enqueue: (task, ...args) => this.enqueue(task, args, requestId) }
  }

  /** Seals the task definitions and starts the worker (unless `worker: false`). */
  start (): void {
    this.registry.seal()
    this.limiters.seal()
    if (this.options.worker) this.worker.start()
  }

  /** Takes no new queues; running heads go on (Fastify's preClose). */
  stopClaiming (): void {
    this.worker.stopClaiming()
  }

  /**
   * Waits for running heads (up to closeTimeoutMs), hands every queue over and
   * closes a store it made. Every step runs even if an earlier one failed; the
   * errors are logged. A second call returns the same promise.
   */
  async close (): Promise<void> {
    this.#closePromise ??= this.#close()
    return await this.#closePromise
  }

  async #close (): Promise<void> {
    this.#closed = true
    const results = await Promise.allSettled([this.worker.close()])
    this.#detachMetrics()
    if (this.#ownStore) results.push(...await Promise.allSettled([this.store.close()]))
    for (const r of results) {
      if (r.status === 'rejected') this.log.error({ err: r.reason }, 'fastify-fifo: error while closing')
    }
  }

  /** What the admin routes need; `readOnlyReason` is null when actions are allowed. */
  adminContext (readOnlyReason: string | null): ApiContext {
    return {
      store: this.store,
      renderMetrics: async () => await this.#renderMetrics(),
      instanceId: this.instanceId,
      storeKind: this.store.kind,
      version: VERSION,
      showArgs: this.options.dashboard?.showArgs ?? true,
      readOnlyReason,
      heldLeases: () => this.worker.heldLeases,
      limiterDefinitions: () => this.limiters.definitions,
      resolveLimiter: (name) => this.limiters.resolve(name),
    }
  }
}
