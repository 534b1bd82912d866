import '../helpers/guard'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import express from 'express'
import pino from 'pino'
import { createFifo } from '../../plugin/express'

// Waiting for a result on the Express adapter: req.fifo.enqueue with `wait` and fifo.wait.
t.test('an Express route replies with the task\'s result; fifo.wait gets a kept outcome; a timeout is typed; an unwaited task is refused', async (t) => {
  const fifo = createFifo({ logger: pino({ level: 'silent' }), leaseMs: 600, sweepMs: 50 })
  const reserve = fifo.define('reserve', { queue: (order: string) => `order:${order}` }, async (order: string, qty: number) => ({ order, reserved: qty }))
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const slow = fifo.define('slow', { queue: 'slow' }, async () => { await held; return 'late' })
  let release2 = (): void => {}
  const held2 = new Promise<void>((resolve) => { release2 = resolve })
  const plain = fifo.define('plain', { queue: 'plain' }, async () => { await held2 })
  const app = express()
  app.use(fifo.middleware())
  app.post('/checkout/:order', async (req, res) => {
    const done = await req.fifo.enqueue(reserve.with({ wait: 5000 }), req.params.order, 3)
    res.json(done)
  })
  await fifo.start()
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await fifo.close()
  })
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/checkout/o-9`, { method: 'POST', headers: { connection: 'close' } })
  const body = await res.json() as { id: string, status: string, result: unknown, queue: string }
  t.match(body, { status: 'succeeded', queue: 'order:o-9', result: { order: 'o-9', reserved: 3 } })
  t.same(await fifo.wait(body.id, { timeoutMs: 1000 }), { id: body.id, queue: 'order:o-9', status: 'succeeded', result: { order: 'o-9', reserved: 3 } })
  const err = await slow.with({ wait: 30 })().then(() => null, (e: Error & { code: string, taskId: string }) => e)
  t.equal(err?.code, 'FST_FIFO_WAIT_TIMEOUT')
  release()
  t.match(await fifo.wait(err!.taskId, { timeoutMs: 5000 }), { status: 'succeeded', result: 'late' })
  // Without `wait` nothing keeps the outcome: fifo.wait refuses at once, naming the task.
  const queued = await plain()
  await t.rejects(fifo.wait(queued.id, { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_WAITED', message: new RegExp(`^task ${queued.id} on queue "plain" is queued, but it was not enqueued with the wait call option`) })
  release2()
  await t.rejects(fifo.wait('no-such-task', { timeoutMs: 60_000 }), { code: 'FST_FIFO_NOT_FOUND', message: /^task no-such-task: no outcome is kept/ })
})
