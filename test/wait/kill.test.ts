import '../helpers/guard'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { startRedis } from '../helpers/redis-server'
import { until } from '../helpers/app'

// A waiter whose instance dies (kill -9) loses only its wait: the task stays
// queued, runs normally on another instance, and its outcome expires unread.
t.test('killing the waiting instance leaves the task to run normally', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.cleanup())
  const prefix = `kill-waiter-${process.pid}`
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'waiter-child.ts'), redis.url, prefix], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const app = Fastify()
  await app.register(fifo, { redis: redis.url, prefix, dashboard: false, leaseMs: 2000, sweepMs: 100 })
  const ran: number[] = []
  app.fifo.define('job', { queue: 'killed-waiter' }, async (n: number) => { ran.push(n); return n })
  t.teardown(() => app.close())

  // Stored by the child (its enqueue resolved into the wait), then the child dies.
  await until('the child stored its task', async () => (await app.fifo.store.getQueue('killed-waiter'))?.depth === 1, 20_000)
  child.kill('SIGKILL')
  await exited
  t.equal(out, '', 'the killed waiter never got an outcome')

  await app.ready()
  await until('the task ran', () => ran.length === 1, 10_000)
  t.same(ran, [7], 'the task ran once on the surviving instance')
  await until('the queue drained', async () => (await app.fifo.store.getQueue('killed-waiter')) === null, 5_000)
  t.pass('the queue drained')
})
