import type { FastifyInstance, FastifyRequest } from 'fastify'

/** `fastify-fifo-base`: fastify-fifo of another commit (`--base REF`), run beside this tree's to measure a change. */
export type SystemName = 'fastify-fifo' | 'bullmq' | 'groupmq' | 'fastify-fifo-base'
export const SYSTEMS: readonly SystemName[] = ['fastify-fifo', 'bullmq', 'groupmq']

/**
 * Called when a task starts; the returned promise is the task's work.
 * `grantedAt`: with a limiter, when the system's store granted the start, ms
 * on the Redis clock, if the system says (fastify-fifo's ctx.limiter.grantedAt).
 */
export type TaskHandler = (key: string, seq: number, grantedAt?: number) => Promise<void> | void

export interface OpenOptions {
  /** redis://127.0.0.1:<port> of the bench's own server. */
  url: string
  /** Key namespace of this run (a fresh one per run). */
  ns: string
  /** Null: producer only. Otherwise this process consumes and calls the handler for every task. */
  handler: TaskHandler | null
  /** Tasks this process runs at once (fastify-fifo concurrency, GroupMQ concurrency, BullMQ shared-queue concurrency). */
  slots: number
  /**
   * BullMQ keeps per-key order only with one queue per key and exactly one
   * worker of concurrency 1 per queue: the queues whose worker lives in this
   * process. Ignored by the other systems (any instance may take any key).
   */
  ownedKeys: string[]
  /** fastify-fifo only: its opt-in pipelinedAcks (its own bench row; 0 or absent: the safe default). */
  pipelinedAcks?: number
  /** BullMQ only: one shared queue for every key, `slots` concurrency (fast, but does not keep per-key order). */
  bullmqShared?: boolean
  /** Register on this Fastify app instead of a private one (http scenario). */
  app?: FastifyInstance
  /**
   * One rate limit on every task of this namespace (throttled scenario):
   * fastify-fifo: a limiter named by the task; BullMQ: the Worker's global
   * `limiter: { max, duration }` (per queue, so one limit for all only with
   * bullmqShared). GroupMQ has none.
   */
  limiter?: { max: number, perMs: number }
}

export interface Instance {
  /** Enqueues task `seq` of `key`; resolves once the system says it is stored. */
  enqueue (key: string, seq: number): Promise<void>
  /** Enqueues one task whose only argument/data is `payload` into queue/group `key` (memory scenario). */
  enqueuePayload (key: string, payload: object): Promise<void>
  /**
   * Enqueues task `seq` of `key` and resolves once it has run, with its outcome
   * from whichever process ran it (fastify-fifo: the `wait` call option; BullMQ:
   * `job.waitUntilFinished(queueEvents)`). wait-latency only.
   */
  enqueueAndWait (key: string, seq: number): Promise<void>
  /** The same as enqueue, from inside a route (fastify-fifo uses request.fifo.enqueue). */
  enqueueFromRequest (request: FastifyRequest, key: string, seq: number): Promise<void>
  /** Starts consuming (no-op for producers). Connections are already open. */
  start (): Promise<void>
  close (): Promise<void>
}

export type OpenSystem = (opts: OpenOptions) => Promise<Instance>

export async function openSystem (name: SystemName, opts: OpenOptions): Promise<Instance> {
  switch (name) {
    // Loaded on demand: a child process only loads the system it runs.
    case 'fastify-fifo': return await (require('./fifo') as typeof import('./fifo')).open(opts)
    case 'bullmq': return await (require('./bullmq') as typeof import('./bullmq')).open(opts)
    case 'groupmq': return await (require('./groupmq') as typeof import('./groupmq')).open(opts)
    case 'fastify-fifo-base': return await (require('./fifo') as typeof import('./fifo')).openBase(opts)
  }
}
