import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { settleHandles } from '../contract/harness'
import { startCluster } from '../helpers/redis-cluster'
import { uniquePrefix } from '../helpers/redis-server'

// An idle worker must keep claiming after a master of its Cluster is killed and
// a replica promoted. Found by the multi-process failover run: every instance's
// claim loop waited for ever on a BLPOP whose ioredis promise never settled
// (the node it was sent to was gone), so every queue that needed a claim — a
// retry, a lease taken back by the sweep, a task enqueued by an instance
// without a free slot — stayed pending after the failover. Here the producers
// run no worker, so only the idle workers' claim loops can start the tasks.

const QUEUES = 12

interface Pair { prefix: string, worker: FastifyInstance, producer: FastifyInstance, job: (q: string, n: number) => Promise<unknown>, ran: Set<string> }

async function pair (nodes: Array<{ host: string, port: number }>, partitions: number): Promise<Pair> {
  const prefix = uniquePrefix('idle')
  const ran = new Set<string>()
  let job: Pair['job'] | null = null
  const make = async (worker: boolean): Promise<FastifyInstance> => {
    const app = Fastify({ logger: false })
    await app.register(fifo, { redis: { cluster: nodes }, prefix, partitions, worker, dashboard: false, leaseMs: 1500, sweepMs: 100, commandTimeoutMs: 2000 })
    const defined = app.fifo.define('job', { queue: (q: string) => q }, async (q: string, n: number) => { ran.add(`${q}#${n}`) })
    if (!worker) job = defined
    await app.ready()
    return app
  }
  const worker = await make(true)
  const producer = await make(false)
  if (job === null) throw new Error('no producer task')
  return { prefix, worker, producer, job, ran }
}

async function enqueueAll (p: Pair, round: number): Promise<void> {
  for (let i = 0; i < QUEUES; i++) {
    // A store call may meet the failover itself: retried, as a user would (the same task, no dedupe needed here).
    for (let tries = 0; ; tries++) {
      try { await p.job(`q${i}`, round); break } catch (err) { if (tries > 20) throw err; await new Promise((resolve) => setTimeout(resolve, 250)) }
    }
  }
}

async function allRan (p: Pair, round: number, ms: number): Promise<string[]> {
  const want = Array.from({ length: QUEUES }, (_, i) => `q${i}#${round}`)
  const until = Date.now() + ms
  while (Date.now() < until && want.some((k) => !p.ran.has(k))) await new Promise((resolve) => setTimeout(resolve, 50))
  return want.filter((k) => !p.ran.has(k))
}

t.test('idle workers claim again after a master is killed and its replica promoted', async (t) => {
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 2, nodeTimeoutMs: 1500 })
  const pairs: Pair[] = []
  t.teardown(async () => {
    for (const p of pairs) await Promise.all([p.worker.close(), p.producer.close()])
    await cluster.cleanup()
    await settleHandles()
  })
  const single = await pair(cluster.startupNodes, 1)
  const spread = await pair(cluster.startupNodes, 3)
  pairs.push(single, spread)
  for (const p of pairs) await enqueueAll(p, 1)
  for (const p of pairs) t.same(await allRan(p, 1, 10_000), [], 'before the failover every task ran')

  // The master of the unpartitioned namespace; it also serves one of the partitioned namespace's 3 partitions.
  const master = await cluster.masterForSlot(await cluster.keySlot(`{${single.prefix}}:`))
  await cluster.failover(master, 30_000, false)

  for (const p of pairs) await enqueueAll(p, 2)
  // A bound for correctness, not speed: without a working claim loop nothing here ever runs.
  t.same(await allRan(single, 2, 20_000), [], 'partitions: 1 — every task enqueued after the promotion ran on the idle worker')
  t.same(await allRan(spread, 2, 20_000), [], 'partitions: 3 — every task enqueued after the promotion ran on the idle worker')
})
