// Type tests, run by `npm run test:types` (tstyche) and also checked by `npm run typecheck`.
// Negative cases use `// @ts-expect-error` so both tools read them the same way.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { expect, test } from 'tstyche'
import fifo, {
  bindTasks, errors, fifo as namedFifo, task, taskContext, taskOf,
  type EnqueuedTask, type FifoOptions, type LimiterGrant, type Task, type TaskContext,
} from '../../plugin'
import type { Store } from '../../plugin/store/store'

const app = Fastify()

test('the default and named exports are the same plugin', () => {
  expect(namedFifo).type.toBe(fifo)
  expect(errors.FST_FIFO_INVALID_OPTION).type.not.toBeAssignableTo<string>()
})

test('plugin options are typed', () => {
  app.register(fifo, { redis: 'redis://127.0.0.1:6379', prefix: 'p', concurrency: 4, leaseMs: 15_000 })
  app.register(fifo, {})
  app.register(fifo, { dashboard: false })
  app.register(fifo, { dashboard: { path: '/ops', readOnly: true, showArgs: false, auth: async () => {} } })
  // concurrency is a number
  // @ts-expect-error Type 'string' is not assignable to type 'number'
  app.register(fifo, { concurrency: '4' })
  // leaseMs is a number
  // @ts-expect-error Type 'boolean' is not assignable to type 'number'
  app.register(fifo, { leaseMs: true })
  // a misspelt option
  // @ts-expect-error 'leaseMS' does not exist
  app.register(fifo, { leaseMS: 1000 })
  // dashboard is false or an object
  // @ts-expect-error Type 'true' is not assignable to type 'false | DashboardOptions | undefined'
  app.register(fifo, { dashboard: true })
  // redis is a URL, ioredis options or a client
  // @ts-expect-error Type 'number' is not assignable to type 'string | RedisOptions
  app.register(fifo, { redis: 6379 })
  expect<FifoOptions['worker']>().type.toBe<boolean | undefined>()
})

test('a defined task takes its handler\'s arguments and resolves { id, queue, name, duplicate }', () => {
  const reserve = app.fifo.define('reserve', {
    queue: (orderId: string) => `order:${orderId}`,
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 50, maxDelayMs: 1000 },
    onExhausted: 'halt',
    timeoutMs: 5000,
  }, async (orderId: string, qty: number) => {})

  expect(reserve).type.toBe<Task<[orderId: string, qty: number]>>()
  expect(reserve('o-1', 2)).type.toBe<Promise<EnqueuedTask>>()
  expect<EnqueuedTask>().type.toBe<{ id: string, queue: string, name: string, duplicate: boolean }>()
  expect(reserve.taskName).type.toBe<string>()
  expect(reserve.with({ dedupeId: 'x', dedupeMs: 300_000 })).type.toBe<Task<[orderId: string, qty: number]>>()

  // qty must be a number
  // @ts-expect-error Argument of type 'string' is not assignable to parameter of type 'number'
  reserve('o-1', '2')
  // qty is missing
  // @ts-expect-error Expected 2 arguments, but got 1
  reserve('o-1')
  // one argument too many
  // @ts-expect-error Expected 2 arguments, but got 3
  reserve('o-1', 2, 3)
  // not a call option
  // @ts-expect-error 'dedupe' does not exist in type 'CallOptions'
  reserve.with({ dedupe: 'x' })
})

test('task options are typed', () => {
  app.fifo.define('fixed', { queue: 'payments' }, async () => {})
  app.fifo.define('numeric-backoff', { queue: 'q', backoff: 100 }, async () => {})
  // onExhausted is 'halt' or 'dead-letter'
  // @ts-expect-error Type '"drop"' is not assignable to type '"halt" | "dead-letter" | undefined'
  app.fifo.define('a', { queue: 'q', onExhausted: 'drop' }, async () => {})
  // attempts is a number
  // @ts-expect-error Type 'string' is not assignable to type 'number'
  app.fifo.define('b', { queue: 'q', attempts: '3' }, async () => {})
  // backoff.type is 'fixed' or 'exponential'
  // @ts-expect-error Type '"linear"' is not assignable to type '"fixed" | "exponential"'
  app.fifo.define('c', { queue: 'q', backoff: { type: 'linear', delayMs: 1 } }, async () => {})
  // queue is required
  // @ts-expect-error Property 'queue' is missing
  app.fifo.define('d', {}, async () => {})
  // the queue function must accept the handler's arguments
  // @ts-expect-error Type '(n: number) => string' is not assignable to type
  app.fifo.define('e', { queue: (n: number) => `q${n}` }, async (s: string) => {})
})

test('Fastify is augmented: app.fifo and request.fifo', () => {
  expect<FastifyInstance['fifo']['store']>().type.toBe<Store>()
  expect<FastifyInstance['fifo']['storeKind']>().type.toBe<'redis' | 'memory'>()
  const send = app.fifo.define('send', { queue: 'mail' }, async (to: string) => {})
  app.post('/send', async (request) => {
    expect(request.fifo.enqueue(send, 'a@example.com')).type.toBe<Promise<EnqueuedTask>>()
    // wrong argument type for this task
    // @ts-expect-error Argument of type 'number' is not assignable to parameter of type 'string'
    request.fifo.enqueue(send, 42)
    expect(app.fifo.enqueue(send, 'b@example.com')).type.toBe<Promise<EnqueuedTask>>()
    return null
  })
  expect<FastifyRequest['fifo']['enqueue']>().type.not.toBe<never>()
})

test('taskContext() is the running task\'s context or null', () => {
  expect(taskContext()).type.toBe<TaskContext | null>()
  const ctx = taskContext()
  if (ctx !== null) {
    expect(ctx.signal).type.toBe<AbortSignal>()
    expect(ctx.attempt).type.toBe<number>()
    expect(ctx.limiter).type.toBe<LimiterGrant | null>()
    if (ctx.limiter !== null) expect(ctx.limiter.grantedAt).type.toBe<number>()
  }
})

test('@task methods: arguments from the method, calls typed honestly', () => {
  class Orders {
    @task({ queue: (id: string) => `order:${id}`, attempts: 5 })
    async reserve (id: string, qty: number): Promise<void> {}

    @task({ queue: 'audit', name: 'audit.write' })
    async audit (line: { text: string }): Promise<void> {}

    // the queue function must accept the method's arguments
    // @ts-expect-error the queue function must accept the method
    @task({ queue: (id: number) => `order:${id}` })
    async wrongQueue (id: string): Promise<void> {}

    // a task method resolves nothing: its callers get the enqueue, not the body's result
    // @ts-expect-error a @task method must be async and declared Promise<void>
    @task({ queue: 'q' })
    async returnsValue (id: string): Promise<number> { return id.length }

    // a task method is async
    // @ts-expect-error a @task method must be async and declared Promise<void>
    @task({ queue: 'q' })
    notAsync (id: string): void {}

    // attempts is a number
    // @ts-expect-error Type 'string' is not assignable to type 'number'
    @task({ queue: 'q', attempts: 'many' })
    async badOption (): Promise<void> {}

    plain (): number { return 1 }
  }

  const orders = bindTasks(app, new Orders())
  expect(orders).type.toBe<Orders>()
  expect(orders.reserve('o-1', 2)).type.toBe<Promise<void>>()
  // qty must be a number
  // @ts-expect-error Argument of type 'string' is not assignable to parameter of type 'number'
  orders.reserve('o-1', 'two')

  const reserve = taskOf(orders, 'reserve')
  expect(reserve).type.toBe<Task<[id: string, qty: number]>>()
  expect(reserve('o-1', 2)).type.toBe<Promise<EnqueuedTask>>()
  // not a task method
  // @ts-expect-error Argument of type '"plain"' is not assignable
  taskOf(orders, 'plain')
  // no such method
  // @ts-expect-error Argument of type '"missing"' is not assignable
  taskOf(orders, 'missing')
})
