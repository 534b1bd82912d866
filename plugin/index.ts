import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import adminRoutes from './admin/routes'
import { Metrics } from './metrics'
import { resolveOptions, type FifoOptions } from './options'
import { Registry, taskContext, type EnqueuedTask, type Task, type TaskOptions } from './registry'
import { MemoryStore } from './store/memory'
import { RedisStore } from './store/redis/redis-store'
import type { EnqueueResult, Store } from './store/store'
import { Worker } from './worker'

const { version } = require('../package.json') as { version: string }

export interface Fifo {
  /**
   * Declares a task. Call the returned function to enqueue; the handler runs on
   * whichever instance takes the queue. Must be called before the app is ready.
   */
  define<H extends (...args: never[]) => unknown>(name: string, options: TaskOptions<Parameters<H>>, handler: H): Task<Parameters<H>>
  /** Same as calling the task. */
  enqueue<A extends unknown[]>(task: Task<A>, ...args: A): Promise<EnqueuedTask>
  /** The store in use (reads and operator actions; see the Store contract). */
  readonly store: Store
  readonly storeKind: 'redis' | 'memory'
  readonly instanceId: string
  /** Names of the tasks defined on this app. */
  readonly tasks: string[]
}

export interface RequestFifo {
  /** Enqueues with this request's id on the task: the handler's logger carries it as reqId. */
  enqueue<A extends unknown[]>(task: Task<A>, ...args: A): Promise<EnqueuedTask>
}

declare module 'fastify' {
  interface FastifyInstance {
    fifo: Fifo
  }
  interface FastifyRequest {
    fifo: RequestFifo
  }
}

const plugin: FastifyPluginAsync<FifoOptions> = async (app: FastifyInstance, rawOptions: FifoOptions) => {
  const opts = resolveOptions(rawOptions)
  const instanceId = opts.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`

  let store: Store
  let ownStore = true
  if (opts.store !== null) {
    store = opts.store
    ownStore = false
  } else if (opts.redis !== undefined) {
    store = new RedisStore({
      redis: opts.redis,
      prefix: opts.prefix,
      connectTimeoutMs: opts.connectTimeoutMs,
      commandTimeoutMs: opts.commandTimeoutMs,
      deadLetterLimit: opts.deadLetterLimit,
      log: app.log,
    })
  } else {
    store = new MemoryStore({ deadLetterLimit: opts.deadLetterLimit })
    app.log.warn('fastify-fifo: no "redis" option, so tasks live in this process\'s memory: one instance only, and every pending task is lost when the process exits. Pass { redis: "redis://…" } for durable, multi-instance queues.')
  }
  try {
    await store.connect()
  } catch (err) {
    // Nothing else will close a store whose plugin failed to register.
    if (ownStore) await store.close().catch(() => {})
    throw err
  }

  let closed = false
  const metrics = new Metrics()
  const registry: Registry = new Registry({
    // Through the worker (made below, before any call): it may claim the task for this instance.
    send: (task): Promise<EnqueueResult> => worker.enqueue(task),
    maxPayloadBytes: opts.maxPayloadBytes,
    isClosed: () => closed,
    onEnqueued: () => { metrics.enqueued++ },
  })
  const worker: Worker = new Worker({
    store,
    registry,
    log: app.log,
    metrics,
    instance: {
      id: instanceId,
      host: hostname(),
      pid: process.pid,
      version,
      startedAt: Date.now(),
      concurrency: opts.concurrency,
      handlers: [],
    },
    concurrency: opts.concurrency,
    leaseMs: opts.leaseMs,
    sweepMs: opts.sweepMs,
    burst: opts.burst,
    pipelinedAcks: opts.pipelinedAcks,
    closeTimeoutMs: opts.closeTimeoutMs,
  })

  const enqueue = async <A extends unknown[]>(task: Task<A>, args: A, requestId?: string): Promise<EnqueuedTask> => {
    const { def, call } = registry.unwrap(task)
    return await registry.enqueue(def, args, requestId === undefined ? call : { ...call, requestId })
  }

  const api: Fifo = {
    define: (name, options, handler) => registry.define(name, options, handler as (...args: Parameters<typeof handler>) => unknown),
    enqueue: async (task, ...args) => await enqueue(task, args),
    store,
    storeKind: store.kind,
    instanceId,
    get tasks () { return registry.names },
  }
  app.decorate('fifo', api)
  app.decorateRequest('fifo', {
    getter (this: FastifyRequest): RequestFifo {
      const id = this.id
      return { enqueue: async (task, ...args) => await enqueue(task, args, String(id)) }
    },
  })

  app.addHook('onReady', async () => {
    registry.seal()
    if (opts.worker) worker.start()
  })
  app.addHook('preClose', async () => {
    worker.stopClaiming()
  })
  app.addHook('onClose', async () => {
    closed = true
    const results = await Promise.allSettled([worker.close()])
    if (ownStore) results.push(...await Promise.allSettled([store.close()]))
    for (const r of results) {
      if (r.status === 'rejected') app.log.error({ err: r.reason }, 'fastify-fifo: error while closing')
    }
  })

  if (opts.dashboard !== null) {
    await app.register(adminRoutes, {
      prefix: opts.dashboard.path,
      store,
      dashboard: opts.dashboard,
      metrics,
      instanceId,
      storeKind: store.kind,
      heldLeases: () => worker.heldLeases,
    })
  }
}

export const fifo = fp(plugin, { fastify: '5.x', name: 'fastify-fifo' })
export default fifo
export { taskContext }
export * from './errors'
export type { FifoOptions, DashboardOptions } from './options'
export type { Task, TaskOptions, TaskContext, CallOptions, EnqueuedTask, BackoffOptions } from './registry'
export type * from './store/store'
export { MemoryStore } from './store/memory'
export { RedisStore } from './store/redis/redis-store'
export { task, bindTasks, taskOf } from './decorator'
export type { TaskMethodOptions, TaskMethod, TaskMethodKeys } from './decorator'

// CommonJS: require('fastify-fifo') is the plugin itself, with every named export on it (Fastify plugin convention).
module.exports = Object.assign(fifo, module.exports)
