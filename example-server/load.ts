import type { FastifyInstance } from 'fastify'
import { taskOf } from '../plugin'
import type { Orders } from './orders'

/**
 * POST /demo/load — enqueues a burst of work across the three workflows so the
 * dashboard has something to show: `orders` checkouts on their own queues,
 * `prices` updates spread over a few products, `signups` chains (some of
 * which fail now and then, FAIL_RATE). Responds once everything is stored.
 */
export function loadRoutes (app: FastifyInstance, orders: Orders): void {
  const count = { type: 'integer', minimum: 0, maximum: 2000 } as const
  app.post<{ Body: { orders?: number, prices?: number, signups?: number } }>('/demo/load', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { orders: count, prices: count, signups: count },
      },
    },
  }, async (request, reply) => {
    const body = request.body ?? {}
    const nOrders = body.orders ?? 20
    const nPrices = body.prices ?? 40
    const nSignups = body.signups ?? 20
    const run = Date.now().toString(36)
    const started = Date.now()

    const checkouts = Array.from({ length: nOrders }, async (_, i) => {
      const orderId = `${run}-${i}`
      await request.fifo.enqueue(taskOf(orders, 'reserve'), orderId, `sku-${i % 7}`, 1 + (i % 3))
      await request.fifo.enqueue(taskOf(orders, 'commit'), orderId)
      await request.fifo.enqueue(taskOf(orders, 'release'), orderId)
    })
    // Price updates go through the route, which numbers them; the products get them in turn.
    const products = ['lamp', 'desk', 'chair', 'shelf']
    const updates = (async () => {
      for (let i = 0; i < nPrices; i++) {
        await app.inject({ method: 'PUT', url: `/prices/${products[i % products.length]}`, payload: { cents: 1000 + Math.floor(Math.random() * 9000) } })
      }
    })()
    const signups = Array.from({ length: nSignups }, async (_, i) => {
      await app.inject({ method: 'POST', url: '/signups', payload: { email: `user${i}.${run}@example.com` } })
    })
    await Promise.all([...checkouts, updates, ...signups])
    return reply.code(202).send({ orders: nOrders, prices: nPrices, signups: nSignups, tasks: nOrders * 3 + nPrices + nSignups, ms: Date.now() - started })
  })
}
