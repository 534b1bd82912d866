import { bindTasks, task, taskOf, type Fifo } from '../plugin'
import type { Ledger } from './ledger'
import type { ExampleRoute } from './routes'
import { networkCall, runInfo } from './world'

/**
 * Workflow (a): reserve → commit → release for an order, one queue per order.
 *
 * The three steps call an inventory service that refuses them out of order
 * (commit before reserve, release before commit). Because each order has its
 * own queue, its steps run in the order they were requested, even when an
 * instance crashes or a step is retried; different orders run in parallel.
 *
 * This workflow uses the decorator form: the methods below enqueue when called.
 */
export class Orders {
  readonly #ledger: Ledger
  readonly #instanceId: string

  constructor (ledger: Ledger, instanceId: string) {
    this.#ledger = ledger
    this.#instanceId = instanceId
  }

  @task({ queue: (orderId: string) => `order:${orderId}`, attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 5000 } })
  async reserve (orderId: string, sku: string, qty: number): Promise<void> {
    await this.#step(orderId, 'reserve', null, { sku, qty })
  }

  @task({ queue: (orderId: string) => `order:${orderId}`, attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 5000 } })
  async commit (orderId: string): Promise<void> {
    await this.#step(orderId, 'commit', 'reserve')
  }

  @task({ queue: (orderId: string) => `order:${orderId}`, attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 5000 } })
  async release (orderId: string): Promise<void> {
    await this.#step(orderId, 'release', 'commit')
  }

  async steps (orderId: string): Promise<Array<Record<string, unknown>>> {
    return await this.#ledger.read(`order:${orderId}`)
  }

  /** The inventory service: a step is refused unless the step before it is the last one done. */
  async #step (orderId: string, step: string, after: string | null, details: Record<string, unknown> = {}): Promise<void> {
    await networkCall()
    const done = await this.#ledger.read(`order:${orderId}`)
    // At-least-once: a run cut short by a crash runs again, so a step already recorded for this task is not redone.
    const info = runInfo()
    if (info.task !== null && done.some((entry) => entry.task === info.task)) return
    const last = done.length === 0 ? null : done[done.length - 1].step
    if (after !== null && last !== after) {
      throw new Error(`inventory refused ${step} of order ${orderId}: the last step done is ${String(last)}, not ${after}`)
    }
    await this.#ledger.append(`order:${orderId}`, { step, ...details, ...info, instance: this.#instanceId })
  }
}

const orderId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const

/** The order routes; `orders` is bound to `fifo` (before the app starts). */
export function orderRoutes (fifo: Fifo, ledger: Ledger): { orders: Orders, routes: ExampleRoute[] } {
  const orders = bindTasks(fifo, new Orders(ledger, fifo.instanceId))
  const params = { type: 'object', required: ['orderId'], properties: { orderId } } as const
  const reserveBody = {
    type: 'object',
    required: ['sku', 'qty'],
    additionalProperties: false,
    properties: { sku: { type: 'string', minLength: 1, maxLength: 64 }, qty: { type: 'integer', minimum: 1, maximum: 1000 } },
  } as const

  const routes: ExampleRoute[] = [
    // request.fifo.enqueue ties the task to the request: the handler's log lines carry its reqId.
    {
      method: 'POST',
      url: '/orders/:orderId/reserve',
      schema: { params, body: reserveBody },
      status: 202,
      handler: async ({ params, body, fifo }) => await fifo.enqueue(taskOf(orders, 'reserve'), params.orderId, body.sku, body.qty),
    },
    { method: 'POST', url: '/orders/:orderId/commit', schema: { params }, status: 202, handler: async ({ params, fifo }) => await fifo.enqueue(taskOf(orders, 'commit'), params.orderId) },
    { method: 'POST', url: '/orders/:orderId/release', schema: { params }, status: 202, handler: async ({ params, fifo }) => await fifo.enqueue(taskOf(orders, 'release'), params.orderId) },
    {
      // All three steps at once: they are stored in order and run in order.
      method: 'POST',
      url: '/orders/:orderId/checkout',
      schema: { params, body: reserveBody },
      status: 202,
      handler: async ({ params, body }) => {
        const { orderId } = params
        // Calling a decorated method enqueues it (its type says Promise<void>; taskOf gives the typed task).
        await orders.reserve(orderId, body.sku, body.qty)
        await orders.commit(orderId)
        await orders.release(orderId)
        return { orderId, queue: `order:${orderId}`, enqueued: ['reserve', 'commit', 'release'] }
      },
    },
    {
      method: 'GET',
      url: '/orders/:orderId',
      schema: { params },
      handler: async ({ params }) => ({ orderId: params.orderId, queue: `order:${params.orderId}`, steps: await orders.steps(params.orderId) }),
    },
  ]
  return { orders, routes }
}
