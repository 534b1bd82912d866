import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fifo, { bindTasks, task, taskContext, taskOf } from '../../plugin'
import { until } from '../helpers/app'

// The decorator form through the public API, on the memory store.

async function newApp (t: Test): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(async () => await app.close())
  await app.register(fifo, { leaseMs: 600, sweepMs: 50, dashboard: false })
  return app
}

class Orders {
  readonly steps: string[] = []
  readonly contexts: Array<{ queue: string | undefined, name: string | undefined, self: boolean }> = []
  readonly #prefix: string

  constructor (prefix: string) {
    this.#prefix = prefix
  }

  @task({ queue: (orderId: string) => `order:${orderId}` })
  async reserve (orderId: string, qty: number): Promise<void> {
    const ctx = taskContext()
    this.contexts.push({ queue: ctx?.queue, name: ctx?.name, self: this instanceof Orders })
    this.steps.push(`${this.#prefix}reserve ${orderId} ${qty}`)
  }

  @task({ queue: (orderId: string) => `order:${orderId}`, name: 'orders.commit', attempts: 2, backoff: 10 })
  async commit (orderId: string): Promise<void> {
    this.steps.push(`${this.#prefix}commit ${orderId}`)
    // A task method may call another: that call enqueues too (here, behind this one on the same queue).
    await this.release(orderId)
  }

  @task({ queue: (orderId: string) => `order:${orderId}` })
  async release (orderId: string): Promise<void> {
    this.steps.push(`${this.#prefix}release ${orderId}`)
  }

  /** Not a task: runs right away. */
  total (): number {
    return this.steps.length
  }
}

t.test('calling a bound @task method enqueues it; the worker runs the body in order with this bound', async (t) => {
  const app = await newApp(t)
  const orders = bindTasks(app, new Orders('> '))
  t.same(app.fifo.tasks.sort(), ['Orders.release', 'Orders.reserve', 'orders.commit'], 'one task per method; name option or Class.method')
  await app.ready()

  const stored = await orders.reserve('o-1', 2) as unknown
  t.match(stored, { queue: 'order:o-1', name: 'Orders.reserve', duplicate: false }, 'the call resolves what was stored')
  t.type((stored as { id: unknown }).id, 'string')
  await orders.commit('o-1')
  await orders.reserve('o-2', 5)

  await until('every step ran', () => orders.steps.length === 4)
  t.same(orders.steps.filter((s) => s.includes('o-1')), ['> reserve o-1 2', '> commit o-1', '> release o-1'], 'one queue runs in call order; a chained call runs after its caller')
  t.ok(orders.steps.includes('> reserve o-2 5'))
  t.same(orders.contexts[0], { queue: 'order:o-1', name: 'Orders.reserve', self: true }, 'taskContext() and this are the task\'s and the instance\'s')
  t.equal(orders.total(), 4, 'undecorated methods are untouched')
})

t.test('taskOf gives the typed task: with(), taskName and request.fifo.enqueue', async (t) => {
  const app = await newApp(t)
  const orders = bindTasks(app, new Orders(''))
  const reserve = taskOf(orders, 'reserve')
  app.post('/reserve', async (request) => await request.fifo.enqueue(reserve, 'o-9', 1))
  await app.ready()

  t.equal(reserve.taskName, 'Orders.reserve')
  const first = await reserve.with({ dedupeId: 'same' })('o-3', 1)
  const again = await reserve.with({ dedupeId: 'same' })('o-3', 1)
  t.equal(again.id, first.id, 'dedupe through with()')
  t.equal(again.duplicate, true)
  const res = await app.inject({ method: 'POST', url: '/reserve' })
  t.match(res.json(), { queue: 'order:o-9', name: 'Orders.reserve' })
  await until('both ran', () => orders.steps.length === 2)
  t.same(orders.steps.sort(), ['reserve o-3 1', 'reserve o-9 1'])
})

t.test('a failing method is retried with its options, in place', async (t) => {
  const app = await newApp(t)
  class Flaky {
    runs = 0
    done: string[] = []
    @task({ queue: 'flaky', attempts: 3, backoff: 5 })
    async step (n: number): Promise<void> {
      if (n === 1 && this.runs++ < 2) throw new Error('not yet')
      this.done.push(String(n))
    }
  }
  const flaky = bindTasks(app, new Flaky())
  await app.ready()
  await flaky.step(1)
  await flaky.step(2)
  await until('both ran', () => flaky.done.length === 2)
  t.same(flaky.done, ['1', '2'], 'the second waited behind the retried first')
  t.equal(flaky.runs, 3)
})

t.test('refusals name the problem', async (t) => {
  const app = await newApp(t)
  const unbound = new Orders('')
  await t.rejects(unbound.reserve('o-1', 1), { code: 'FST_FIFO_INVALID_DEFINITION', message: /not bound to an app.*bindTasks/ }, 'calling before bindTasks')
  t.throws(() => taskOf(unbound, 'reserve'), { code: 'FST_FIFO_INVALID_DEFINITION', message: /not bound yet/ })
  t.throws(() => bindTasks(app, { plain: true }), { code: 'FST_FIFO_INVALID_DEFINITION', message: /no @task methods/ })

  const orders = bindTasks(app, new Orders(''))
  t.throws(() => bindTasks(app, orders), { message: /already bound/ }, 'binding twice')
  t.throws(() => bindTasks(app, new Orders('')), { code: 'FST_FIFO_INVALID_DEFINITION', message: /already defined/ }, 'a second instance of the class needs other task names')
  t.throws(() => taskOf(orders, 'total' as 'reserve'), { message: /not a @task method/ })

  // Argument validation is the task's own: the call rejects and nothing is stored.
  await app.ready()
  await t.rejects(orders.reserve('o-1', Number.NaN), { code: 'FST_FIFO_INVALID_ARGUMENT', message: /#2/ })
  t.throws(() => bindTasks(app, new (class Late { @task({ queue: 'q' }) async m (): Promise<void> {} })()), { message: /before the app is ready/ }, 'after ready')

  // Static, private and experimentalDecorators-style uses are refused where the class is defined.
  const decorate = task({ queue: 'q' }) as unknown as (method: unknown, context: unknown) => unknown
  t.throws(() => decorate(async () => {}, 'legacyKey'), { message: /standard \(TC39\) method decorator/ })
  t.throws(() => decorate(async () => {}, { kind: 'method', name: '#m', static: false, private: true, addInitializer () {} }), { message: /public, non-static method/ })
  t.throws(() => decorate(async () => {}, { kind: 'method', name: 'm', static: true, private: false, addInitializer () {} }), { message: /public, non-static method/ })
})

t.test('subclasses: inherited @task methods bind under the declaring class; an undecorated override is refused', async (t) => {
  const app = await newApp(t)
  class Special extends Orders {}
  const special = bindTasks(app, new Special('s '))
  t.same(app.fifo.tasks.sort(), ['Orders.release', 'Orders.reserve', 'orders.commit'])
  await app.ready()
  await special.reserve('x', 1)
  await until('ran', () => special.steps.length === 1)
  t.same(special.steps, ['s reserve x 1'])

  const other = await newApp(t)
  class Overrides extends Orders {
    override async reserve (): Promise<void> {}
  }
  t.throws(() => bindTasks(other, new Overrides('')), { message: /overrides a @task method without @task/ })
})
