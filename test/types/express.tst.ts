// Type tests of fastify-fifo/express, run by `npm run test:types` (tstyche) and also checked by `npm run typecheck`.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { expect, test } from 'tstyche'
import {
  bindTasks, createFifo, task, taskOf,
  type EnqueuedTask, type ExpressFifo, type ExpressFifoOptions, type RequestFifo, type Task,
} from '../../plugin/express'

const fifo = createFifo({ redis: 'redis://127.0.0.1:6379', prefix: 'p', dashboard: { auth: (_req, _res, next) => { next() } } })

test('createFifo takes the shared options, an Express auth middleware and a logger', () => {
  expect(fifo).type.toBe<ExpressFifo>()
  createFifo({})
  createFifo()
  createFifo({ dashboard: false })
  createFifo({ dashboard: { readOnly: true, showArgs: false, auth: async (req: Request, res: Response) => { res.status(401).end(req.path) } } })
  expect<Parameters<NonNullable<Exclude<ExpressFifoOptions['dashboard'], false | undefined>['auth']>>>().type.toBe<[req: Request, res: Response, next: NextFunction]>()
  // there is no dashboard.path: the router is mounted with app.use
  // @ts-expect-error 'path' does not exist in type 'ExpressDashboardOptions'
  createFifo({ dashboard: { path: '/fifo' } })
  // concurrency is a number
  // @ts-expect-error Type 'string' is not assignable to type 'number'
  createFifo({ concurrency: '4' })
  // @ts-expect-error 'leaseMS' does not exist
  createFifo({ leaseMS: 1000 })
})

test('the middleware and router are Express request handlers; start and close are promises', () => {
  const app = express()
  expect(fifo.middleware()).type.toBe<RequestHandler>()
  expect(fifo.router()).type.toBe<RequestHandler>()
  app.use(fifo.middleware())
  app.use('/fifo', fifo.router())
  expect(fifo.start()).type.toBe<Promise<void>>()
  expect(fifo.close()).type.toBe<Promise<void>>()
})

test('req.fifo.enqueue takes the task\'s arguments', () => {
  const reserve = fifo.define('reserve', { queue: (orderId: string) => `order:${orderId}` }, async (orderId: string, qty: number) => {})
  expect(reserve).type.toBe<Task<[orderId: string, qty: number]>>()
  const app = express()
  app.post('/orders/:id', async (req, res) => {
    expect(req.fifo).type.toBe<RequestFifo>()
    expect(req.fifo.enqueue(reserve, req.params.id, 2)).type.toBe<Promise<EnqueuedTask>>()
    // qty must be a number
    // @ts-expect-error Argument of type 'string' is not assignable to parameter of type 'number'
    await req.fifo.enqueue(reserve, req.params.id, '2')
    // qty is missing
    // @ts-expect-error Expected 3 arguments, but got 2
    await req.fifo.enqueue(reserve, req.params.id)
    res.json(await req.fifo.enqueue(reserve.with({ dedupeId: 'x' }), 'o-1', 1))
  })
  expect(fifo.enqueue(reserve, 'o-1', 1)).type.toBe<Promise<EnqueuedTask>>()
  // @ts-expect-error Argument of type 'number' is not assignable to parameter of type 'string'
  fifo.enqueue(reserve, 1, 1)
})

test('@task classes bind to the Express fifo', () => {
  class Mail {
    @task({ queue: (to: string) => `mail:${to}` })
    async send (to: string, subject: string): Promise<void> {}
  }
  const mail = bindTasks(fifo, new Mail())
  expect(taskOf(mail, 'send')).type.toBe<Task<[to: string, subject: string]>>()
})
