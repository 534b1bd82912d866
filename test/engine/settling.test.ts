import '../helpers/guard'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { sleep, until } from '../helpers/app'

// A holder whose handler has ended and whose completion is on its way is not
// fenced by its own lease clock: the completion's reply decides. Found by the
// 10-minute chaos run on a Cluster: a process starved by the machine's load
// passed its locally confirmed lease end while its completion was in flight;
// it reported the lease lost (and dropped the next head the completion handed
// it) although the store took the completion with the lease still valid.

const LEASE_MS = 600

t.test('a completion in flight past the locally confirmed lease end decides, not the clock', async (t) => {
  const warnings: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { warnings.push(line) } } } })
  t.teardown(async () => await app.close())
  await app.register(fifo, { leaseMs: LEASE_MS, sweepMs: 50, dashboard: false })
  const ran: number[] = []
  const step = app.fifo.define('step', { queue: () => 'q' }, async (n: number) => { ran.push(n) })
  await app.ready()

  const store = app.fifo.store
  // The store keeps renewing the lease, but the holder never hears back (a starved or cut-off
  // process): its local confirmation runs out while the first completion is on its way.
  const heartbeat = store.heartbeat.bind(store)
  let deaf = false
  store.heartbeat = async (...args) => {
    const lost = await heartbeat(...args)
    if (deaf) throw new Error('reply lost')
    return lost
  }
  const complete = store.complete.bind(store)
  let delayed = false
  store.complete = async (...args) => {
    if (!delayed) {
      delayed = true
      deaf = true
      await sleep(LEASE_MS * 2)
      deaf = false
    }
    return await complete(...args)
  }

  await step(1)
  await step(2)
  await until('both tasks ran', () => ran.length === 2, 10_000)
  t.same(ran, [1, 2], 'each task ran once, in order')
  // Task 1's completion was accepted: its run must not be reported lost. Task 2, handed over by
  // that late reply, is not started on it (the reply came after the lease the worker can vouch
  // for: sent + leaseMs) — it runs once the lease is taken back, still after task 1.
  const lostRuns = warnings.map((w) => JSON.parse(w) as { msg: string, taskId?: string }).filter((w) => w.msg.includes('lease lost'))
  t.same(lostRuns.filter((w) => w.taskId === '1'), [], 'the run whose completion was in flight is not reported lost')
})
