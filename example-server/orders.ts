import type { FastifyInstance } from 'fastify'
import { bindTasks, task, taskOf } from '../plugin'
import type { Ledger } from './ledger'
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

export function orderRoutes (app: FastifyInstance, ledger: Ledger): Orders {
  const orders = bindTasks(app, new Orders(ledger, app.fifo.instanceId))
  const params = { type: 'object', required: ['orderId'], properties: { orderId } } as const
  const reserveBody = {
    type: 'object',
    required: ['sku', 'qty'],
    additionalProperties: false,
    properties: { sku: { type: 'string', minLength: 1, maxLength: 64 }, qty: { type: 'integer', minimum: 1, maximum: 1000 } },
  } as const

  // request.fifo.enqueue ties the task to the request: the handler's log lines carry its reqId.
  app.post<{ Params: { orderId: string }, Body: { sku: string, qty: number } }>('/orders/:orderId/reserve', { schema: { params, body: reserveBody } },
    async (request, reply) => reply.code(202).send(await request.fifo.enqueue(taskOf(orders, 'reserve'), request.params.orderId, request.body.sku, request.body.qty)))
  app.post<{ Params: { orderId: string } }>('/orders/:orderId/commit', { schema: { params } },
    async (request, reply) => reply.code(202).send(await request.fifo.enqueue(taskOf(orders, 'commit'), request.params.orderId)))
  app.post<{ Params: { orderId: string } }>('/orders/:orderId/release', { schema: { params } },
    async (request, reply) => reply.code(202).send(await request.fifo.enqueue(taskOf(orders, 'release'), request.params.orderId)))

  // All three steps at once: they are stored in order and run in order.
  app.post<{ Params: { orderId: string }, Body: { sku: string, qty: number } }>('/orders/:orderId/checkout', { schema: { params, body: reserveBody } },
    async (request, reply) => {
      const { orderId } = request.params
      // Calling a decorated method enqueues it (its type says Promise<void>; taskOf gives the typed task).
      await orders.reserve(orderId, request.body.sku, request.body.qty)
      await orders.commit(orderId)
      await orders.release(orderId)
      return reply.code(202).send({ orderId, queue: `order:${orderId}`, enqueued: ['reserve', 'commit', 'release'] })
    })

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', { schema: { params } }, async (request) => {
    const steps = await orders.steps(request.params.orderId)
    return { orderId: request.params.orderId, queue: `order:${request.params.orderId}`, steps }
  })
  return orders
}
