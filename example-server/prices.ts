import type { Fifo, RequestFifo } from '../plugin'
import type { Ledger } from './ledger'
import type { ExampleRoute } from './routes'
import { networkCall, runInfo } from './world'

/**
 * Workflow (b): propagating updates to a shared resource, where the last
 * write must win. Every price change of a product is pushed to a storefront
 * (a slow, remote copy). Each push takes a random time, so pushes that ran
 * side by side would land in any order and the storefront could end up with an
 * old price. One queue per product runs them one at a time, in order: the
 * storefront always ends with the latest price, without any version check.
 *
 * This workflow uses the function form, fifo.define().
 */
export interface Prices {
  routes: ExampleRoute[]
  /** Numbers a price change and enqueues its push (the load generator uses it too). */
  enqueueUpdate: (fifo: RequestFifo, sku: string, cents: number) => Promise<Record<string, unknown>>
}

export function priceRoutes (fifo: Fifo, ledger: Ledger): Prices {
  const pushPrice = fifo.define('pushPrice', {
    queue: (sku: string) => `price:${sku}`,
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 2000 },
  }, async (sku: string, cents: number, version: number) => {
    await networkCall(5, 120)
    // No version check here on purpose: the queue's order alone makes the last write win.
    await ledger.set(`storefront:${sku}`, { cents, version })
    await ledger.append(`price:${sku}`, { version, cents, ...runInfo(), instance: fifo.instanceId })
  })

  const params = { type: 'object', required: ['sku'], properties: { sku: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } } as const
  const body = { type: 'object', required: ['cents'], additionalProperties: false, properties: { cents: { type: 'integer', minimum: 0, maximum: 100_000_000 } } } as const

  // Versions are handed out and enqueued one at a time per product in this process, so version
  // order is enqueue order. (Two instances taking writes for one product at the same instant
  // have no "last" between them; a real app takes the version from its database.)
  const lastEnqueue = new Map<string, Promise<unknown>>()
  async function enqueueUpdate (requestFifo: RequestFifo, sku: string, cents: number): Promise<Record<string, unknown>> {
    const previous = lastEnqueue.get(sku) ?? Promise.resolve()
    const mine = previous.catch(() => {}).then(async () => {
      const version = await ledger.next(`price-version:${sku}`)
      const queued = await requestFifo.enqueue(pushPrice, sku, cents, version)
      await ledger.set(`latest:${sku}`, { cents, version })
      return { ...queued, sku, version }
    })
    lastEnqueue.set(sku, mine)
    try {
      return await mine
    } finally {
      if (lastEnqueue.get(sku) === mine) lastEnqueue.delete(sku)
    }
  }

  const routes: ExampleRoute[] = [
    { method: 'PUT', url: '/prices/:sku', schema: { params, body }, status: 202, handler: async (input) => await enqueueUpdate(input.fifo, input.params.sku, input.body.cents) },
    {
      method: 'GET',
      url: '/prices/:sku',
      schema: { params },
      handler: async (input) => {
        const { sku } = input.params
        const [latest, storefront, applied] = await Promise.all([ledger.get(`latest:${sku}`), ledger.get(`storefront:${sku}`), ledger.read(`price:${sku}`)])
        return {
          sku,
          latest,
          storefront,
          inSync: latest !== null && storefront !== null && latest.version === storefront.version,
          appliedVersions: applied.map((entry) => entry.version),
          /** true when every push landed in version order (what the queue guarantees). */
          inOrder: applied.every((entry, i) => i === 0 || (entry.version as number) > (applied[i - 1].version as number)),
        }
      },
    },
  ]
  return { routes, enqueueUpdate }
}
