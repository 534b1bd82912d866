import { Queue, QueueEvents, Worker } from 'bullmq'
import type { FastifyRequest } from 'fastify'
import { Redis } from 'ioredis'
import type { Instance, OpenOptions } from './types'

/**
 * BullMQ 6.7 with its fastest documented settings that keep per-key order:
 * one queue per key, one Worker of concurrency 1 per queue (in exactly one
 * process), finished jobs removed at once (`removeOnComplete/removeOnFail`),
 * everything else default (stalled checks and lock renewal on). One ioredis
 * connection per process is shared by all Queue/Worker objects; each Worker
 * adds its own blocking connection, as BullMQ requires.
 *
 * `bullmqShared`: one queue for all keys with `slots` concurrency, which is how
 * BullMQ is usually run, but it does not keep per-key order (measured as such).
 */
export async function open (opts: OpenOptions): Promise<Instance> {
  const connection = new Redis(opts.url, { maxRetriesPerRequest: null })
  connection.on('error', () => {})
  const defaultJobOptions = { removeOnComplete: true, removeOnFail: true }
  const queues = new Map<string, Queue>()
  const queueFor = (key: string): Queue => {
    const name = opts.bullmqShared === true ? 'shared' : key
    let q = queues.get(name)
    if (q === undefined) {
      q = new Queue(name, { connection, prefix: opts.ns, defaultJobOptions })
      q.on('error', () => {})
      queues.set(name, q)
    }
    return q
  }

  const workers: Worker[] = []
  const handler = opts.handler
  if (handler !== null) {
    const names = opts.bullmqShared === true ? ['shared'] : opts.ownedKeys
    for (const name of names) {
      const w = new Worker(name, async (job) => {
        const data = job.data as { k: string, s: number }
        await handler(data.k, data.s)
      }, {
        connection,
        prefix: opts.ns,
        concurrency: opts.bullmqShared === true ? opts.slots : 1,
        ...(opts.limiter === undefined ? {} : { limiter: { max: opts.limiter.max, duration: opts.limiter.perMs } }),
        autorun: false,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      })
      w.on('error', () => {})
      workers.push(w)
    }
    await Promise.all(workers.map(async (w) => await w.waitUntilReady()))
  }

  const add = async (key: string, data: object): Promise<void> => {
    await queueFor(key).add('t', data)
  }
  // waitUntilFinished listens on a QueueEvents (a blocking XREAD of the queue's event stream, its own connection).
  const events = new Map<string, { e: QueueEvents, conn: Redis }>()
  const eventsFor = async (key: string): Promise<QueueEvents> => {
    let entry = events.get(key)
    if (entry === undefined) {
      const conn = new Redis(opts.url, { maxRetriesPerRequest: null })
      conn.on('error', () => {})
      entry = { e: new QueueEvents(opts.bullmqShared === true ? 'shared' : key, { connection: conn, prefix: opts.ns }), conn }
      entry.e.on('error', () => {})
      events.set(key, entry)
      await entry.e.waitUntilReady()
    }
    return entry.e
  }
  return {
    async enqueue (key, seq) { await add(key, { k: key, s: seq }) },
    async enqueuePayload (key, payload) { await add(key, payload) },
    async enqueueAndWait (key, seq) {
      const e = await eventsFor(key)
      // Kept a while after it finishes: waitUntilFinished reads a job that finished before it listened.
      const job = await queueFor(key).add('t', { k: key, s: seq }, { removeOnComplete: 1000, removeOnFail: 1000 })
      await job.waitUntilFinished(e)
    },
    async enqueueFromRequest (_request: FastifyRequest, key, seq) { await add(key, { k: key, s: seq }) },
    async start () {
      for (const w of workers) w.run().catch(() => {})
    },
    async close () {
      await Promise.allSettled(workers.map(async (w) => await w.close()))
      await Promise.allSettled([...queues.values()].map(async (q) => await q.close()))
      await Promise.allSettled([...events.values()].map(async ({ e, conn }) => { await e.close(); conn.disconnect() }))
      connection.disconnect()
    },
  }
}
