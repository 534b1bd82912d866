import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Fifo } from '../plugin'
import { memoryLedger, redisLedger, type Ledger } from './ledger'
import { loadRoute } from './load'
import { orderRoutes } from './orders'
import { priceRoutes } from './prices'
import { redactUrl } from './redis-probe'
import type { ExampleRoute } from './routes'
import { signupRoutes } from './signups'

/** What both example servers are started with. */
export interface ExampleOptions {
  /** A Redis that answered, or null for the memory store. */
  redisUrl: string | null
  /** Shown on the demo page when redisUrl is null: why there is no Redis. */
  fallbackReason: string | null
  /** Key namespace shared by every instance of the example (not `prefix`: Fastify reads that as a route prefix). */
  namespace: string
  /** How often the welcome email fails at random, 0–1. */
  failRate: number
  adminToken: string | undefined
}

/** The fifo options both servers use (the dashboard's auth is each framework's own). */
export function fifoOptions (opts: ExampleOptions): { redis?: string, prefix: string, concurrency: number, leaseMs: number, sweepMs: number } {
  return {
    ...(opts.redisUrl === null ? {} : { redis: opts.redisUrl }),
    prefix: opts.namespace,
    concurrency: 16,
    // Short enough to watch a takeover when you kill one of two instances.
    leaseMs: 5000,
    sweepMs: 500,
  }
}

export const PAGE = readFileSync(join(__dirname, 'public', 'index.html'), 'utf8')

/**
 * The three workflows (orders, prices, sign-up chain), the load generator and
 * /demo/info, defined on `fifo` (Fastify's app.fifo or the Express fifo).
 * Close the ledger on shutdown.
 */
export function exampleWorkflows (fifo: Fifo, opts: ExampleOptions, framework: 'fastify' | 'express'): { routes: ExampleRoute[], ledger: Ledger } {
  const ledger = opts.redisUrl === null ? memoryLedger() : redisLedger(opts.redisUrl, opts.namespace)
  const { orders, routes: order } = orderRoutes(fifo, ledger)
  const prices = priceRoutes(fifo, ledger)
  const signups = signupRoutes(fifo, ledger, opts.failRate)
  const info: ExampleRoute = {
    method: 'GET',
    url: '/demo/info',
    handler: async () => ({
      framework,
      storeKind: fifo.storeKind,
      redis: opts.redisUrl === null ? null : redactUrl(opts.redisUrl),
      fallbackReason: opts.fallbackReason,
      instanceId: fifo.instanceId,
      prefix: opts.namespace,
      failRate: opts.failRate,
      tasks: fifo.tasks,
      dashboard: '/fifo',
    }),
  }
  return { routes: [...order, ...prices.routes, ...signups.routes, loadRoute(orders, prices, signups), info], ledger }
}
