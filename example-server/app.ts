import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fifo from '../plugin'
import { demoAuth } from './auth'
import { memoryLedger, redisLedger } from './ledger'
import { loadRoutes } from './load'
import { orderRoutes } from './orders'
import { priceRoutes } from './prices'
import { redactUrl } from './redis-probe'
import { signupRoutes } from './signups'

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

const PAGE = readFileSync(join(__dirname, 'public', 'index.html'), 'utf8')

/** The example application: the fifo plugin, its dashboard at /fifo, the three workflows and a demo page at /. */
export async function exampleApp (app: FastifyInstance, opts: ExampleOptions): Promise<void> {
  await app.register(fifo, {
    ...(opts.redisUrl === null ? {} : { redis: opts.redisUrl }),
    prefix: opts.namespace,
    concurrency: 16,
    // Short enough to watch a takeover when you kill one of two instances.
    leaseMs: 5000,
    sweepMs: 500,
    dashboard: { path: '/fifo', auth: demoAuth(opts.adminToken) },
  })

  const ledger = opts.redisUrl === null ? memoryLedger() : redisLedger(opts.redisUrl, opts.namespace)
  app.addHook('onClose', async () => { await ledger.close() })

  const orders = orderRoutes(app, ledger)
  priceRoutes(app, ledger)
  signupRoutes(app, ledger, opts.failRate)
  loadRoutes(app, orders)

  app.get('/demo/info', async () => ({
    storeKind: app.fifo.storeKind,
    redis: opts.redisUrl === null ? null : redactUrl(opts.redisUrl),
    fallbackReason: opts.fallbackReason,
    instanceId: app.fifo.instanceId,
    prefix: opts.namespace,
    failRate: opts.failRate,
    tasks: app.fifo.tasks,
    dashboard: '/fifo',
  }))
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
}
