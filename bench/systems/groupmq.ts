import type { FastifyRequest } from 'fastify'
import { Queue, Worker } from 'groupmq'
import { Redis } from 'ioredis'
import type { Instance, OpenOptions } from './types'

/**
 * GroupMQ 1.1: one namespace, one group per key (GroupMQ keeps per-group FIFO
 * by itself), `concurrency: slots` per process. Defaults otherwise: no retained
 * completed jobs (keepCompleted 0), orderingMethod 'none' (no added delay),
 * atomic complete-and-reserve-next on. No autoBatch: it buffers adds in memory
 * and loses them on a crash, which the scenarios' "resolves once stored" rules out.
 */
export async function open (opts: OpenOptions): Promise<Instance> {
  const redis = new Redis(opts.url, { maxRetriesPerRequest: null })
  redis.on('error', () => {})
  const queue = new Queue<{ s: number } | object>({ redis, namespace: opts.ns })
  const handler = opts.handler
  let worker: Worker<{ s: number } | object> | null = null
  const add = async (key: string, data: object): Promise<void> => {
    await queue.add({ groupId: key, data })
  }
  return {
    async enqueue (key, seq) { await add(key, { s: seq }) },
    async enqueuePayload (key, payload) { await add(key, payload) },
    async enqueueFromRequest (_request: FastifyRequest, key, seq) { await add(key, { s: seq }) },
    async enqueueAndWait () { throw new Error('groupmq bench adapter: no wait for a job\'s outcome (wait-latency runs fastify-fifo and BullMQ)') },
    async start () {
      if (handler === null) return
      // GroupMQ's Worker starts working in its constructor, so it is made here, at
      // "go": made in open(), the other processes' workers drained tasks while the
      // first one was still pre-filling (500–870 tasks of a many-queues run).
      worker = new Worker<{ s: number } | object>({
        queue,
        concurrency: opts.slots,
        handler: async (job) => {
          await handler(job.groupId, (job.data as { s: number }).s)
        },
      })
      worker.on('error', () => {})
    },
    async close () {
      if (worker !== null) await worker.close().catch(() => {})
      await queue.close().catch(() => {})
      redis.disconnect()
    },
  }
}
