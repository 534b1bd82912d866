import { taskOf } from '../plugin'
import type { Orders } from './orders'
import type { Prices } from './prices'
import type { ExampleRoute } from './routes'
import type { Signups } from './signups'

/**
 * POST /demo/load — enqueues a burst of work across the three workflows so the
 * dashboard has something to show: `orders` checkouts on their own queues,
 * `prices` updates spread over a few products, `signups` chains (some of
 * which fail now and then, FAIL_RATE). Responds once everything is stored.
 */
export function loadRoute (orders: Orders, prices: Prices, signups: Signups): ExampleRoute {
  const count = { type: 'integer', minimum: 0, maximum: 2000 } as const
  return {
    method: 'POST',
    url: '/demo/load',
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { orders: count, prices: count, signups: count },
      },
    },
    status: 202,
    handler: async ({ body: given, fifo }) => {
      const body = (given ?? {}) as { orders?: number, prices?: number, signups?: number }
      const nOrders = body.orders ?? 20
      const nPrices = body.prices ?? 40
      const nSignups = body.signups ?? 20
      const run = Date.now().toString(36)
      const started = Date.now()

      const checkouts = Array.from({ length: nOrders }, async (_, i) => {
        const orderId = `${run}-${i}`
        await fifo.enqueue(taskOf(orders, 'reserve'), orderId, `sku-${i % 7}`, 1 + (i % 3))
        await fifo.enqueue(taskOf(orders, 'commit'), orderId)
        await fifo.enqueue(taskOf(orders, 'release'), orderId)
      })
      // Price updates are numbered as the route numbers them; the products get them in turn.
      const products = ['lamp', 'desk', 'chair', 'shelf']
      const updates = (async () => {
        for (let i = 0; i < nPrices; i++) {
          await prices.enqueueUpdate(fifo, products[i % products.length], 1000 + Math.floor(Math.random() * 9000))
        }
      })()
      const chains = Array.from({ length: nSignups }, async (_, i) => {
        await signups.signUp(fifo, `user${i}.${run}@example.com`)
      })
      await Promise.all([...checkouts, updates, ...chains])
      return { orders: nOrders, prices: nPrices, signups: nSignups, tasks: nOrders * 3 + nPrices + nSignups, ms: Date.now() - started }
    },
  }
}
