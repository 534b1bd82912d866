import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { FST_FIFO_INVALID_OPTION } from '../core/errors'
import { FifoCore, type Fifo, type RequestFifo } from '../core/fifo'
import type { EnqueuedTask, Task } from '../core/registry'
import { isLogger, quietLogger, type Logger } from '../core/log'
import { resolveOptions, show, type DashboardOptions as CoreDashboardOptions, type FifoOptions as CoreFifoOptions } from '../core/options'
import { readOnlyReason } from '../core/admin/http'
import { adminHandler, type ExpressAuth } from './router'
import { requestIdOf } from './request-id'

export type { ExpressAuth }

// Interfaces rather than aliases, so that type errors name them plainly.
export interface ExpressDashboardOptions extends Omit<CoreDashboardOptions<ExpressAuth>, 'path' | 'auth'> {
  /**
   * An Express middleware that runs on every dashboard, API and metrics
   * request: call next() to let it through; next(err) (an error with a
   * statusCode, 401 otherwise) or a reply of its own refuses it. Without it
   * the API is read-only.
   * @example auth: (req, res, next) => req.get('authorization') === `Bearer ${token}` ? next() : res.status(401).end()
   */
  auth?: ExpressAuth
}

export interface ExpressFifoOptions extends Omit<CoreFifoOptions<ExpressAuth>, 'dashboard'> {
  /**
   * Any pino-compatible logger (pino itself, pino-http's `logger`, …). Without
   * it, warnings and errors go to stderr as JSON lines and nothing else is logged.
   */
  logger?: Logger
  /**
   * The admin API and dashboard served by `fifo.router()`. false turns both off.
   * There is no `path`: mount the router where you want it.
   * @default { readOnly: false, showArgs: true }
   */
  dashboard?: false | ExpressDashboardOptions
}

/** What `createFifo()` returns: the Fastify plugin's `app.fifo`, plus the Express pieces and an explicit lifecycle. */
export interface ExpressFifo extends Fifo {
  /** Puts `req.fifo.enqueue(task, ...args)` on every request, carrying the request's id. */
  middleware: () => RequestHandler
  /** The dashboard, admin API and metrics, for `app.use('/fifo', fifo.router())`. */
  router: () => RequestHandler
  /**
   * Connects the store, seals the task definitions and starts the worker.
   * Call it once every `define()` is done; enqueues wait for it. A second call returns the same promise.
   */
  start: () => Promise<void>
  /**
   * Takes no new queues, waits for running tasks (up to closeTimeoutMs) and
   * hands every queue over to the other instances. Call it on shutdown, e.g.
   * after `server.close()`. A second call returns the same promise.
   */
  close: () => Promise<void>
  /** The logger in use. */
  readonly log: Logger
}

export type { Fifo, RequestFifo }

declare global {
  // Express's own way to add to its Request type (both @types/express 4 and 5 read it).
  namespace Express {
    interface Request {
      /** Set by `fifo.middleware()`: enqueues carry this request's id. */
      fifo: RequestFifo
    }
  }
}

const AUTH_EXAMPLE = '(req, res, next) => { /* next() for an operator, else res.status(401).end() */ }'

/**
 * Makes the Express face of fastify-fifo. Synchronous, so `define()` and the
 * middleware can be set up at module top level; nothing connects until
 * `start()`.
 */
export function createFifo (options: ExpressFifoOptions = {}): ExpressFifo {
  const input = options as Record<string, unknown>
  const logger = input.logger
  if (logger !== undefined && !isLogger(logger)) {
    throw new FST_FIFO_INVALID_OPTION('logger', `must be a pino-compatible logger (error, warn, info, debug and child functions), got ${show(logger)}`)
  }
  const dashboard = input.dashboard
  if (dashboard !== null && typeof dashboard === 'object' && 'path' in dashboard) {
    throw new FST_FIFO_INVALID_OPTION('dashboard.path', 'is not used with Express: mount the router where you want it, app.use(\'/fifo\', fifo.router())')
  }
  const opts = resolveOptions(options, ['logger'])
  const log: Logger = (logger as Logger | undefined) ?? quietLogger({ name: 'fastify-fifo' })
  const core = FifoCore.make(opts, log)

  let starting: Promise<void> | null = null
  let closing: Promise<void> | null = null

  const start = (): Promise<void> => {
    starting ??= (async () => {
      await core.connect()
      core.start()
    })()
    return starting
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // A start under way finishes first, so close never races the connect.
      await starting?.catch(() => {})
      core.stopClaiming()
      await core.close()
    })()
    return closing
  }

  let routerMade = false
  const router = (): RequestHandler => {
    if (opts.dashboard === null) throw new FST_FIFO_INVALID_OPTION('dashboard', 'is false, so there is no router to mount')
    const refusal = readOnlyReason(opts.dashboard, AUTH_EXAMPLE)
    if (refusal !== null && !routerMade) {
      if (opts.dashboard.auth === null) log.warn(`fastify-fifo: the admin API is read-only and readable by anyone who can reach it: ${refusal}`)
      else log.info(`fastify-fifo: the admin API is read-only: ${refusal}`)
    }
    routerMade = true
    return adminHandler({ core, dashboard: opts.dashboard, refusal, log, requestId: requestIdOf })
  }

  const middleware = (): RequestHandler => function fifoRequest (req: Request, _res: Response, next: NextFunction): void {
    req.fifo = new RequestScope(core, req)
    next()
  }

  const api = core.api
  return {
    define: api.define,
    limiter: api.limiter,
    enqueue: api.enqueue,
    wait: api.wait,
    get store () { return api.store },
    get storeKind () { return api.storeKind },
    get instanceId () { return api.instanceId },
    get tasks () { return api.tasks },
    log,
    middleware,
    router,
    start,
    close,
  }
}

/** `req.fifo`: the request id is worked out on the first enqueue, not on every request. */
class RequestScope implements RequestFifo {
  readonly #core: FifoCore
  readonly #req: Request
  constructor (core: FifoCore, req: Request) {
    this.#core = core
    this.#req = req
  }

  // Not async (as FifoCore.enqueue): requestIdOf does not throw, and the core's enqueue rejects, never throws.
  enqueue<A extends unknown[], R extends EnqueuedTask> (task: Task<A, R>, ...args: A): Promise<R> {
    return this.#core.enqueue(task, args, requestIdOf(this.#req))
  }
}
