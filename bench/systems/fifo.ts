import { join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import * as thisPlugin from '../../plugin'
import type { Instance, OpenOptions } from './types'

type PluginModule = Pick<typeof thisPlugin, 'default' | 'taskContext'>

/**
 * fastify-fifo through its public API only: register the plugin, define one
 * task whose queue is its first argument, call the task to enqueue. The
 * default (fully safe) settings except `dashboard: false` (no routes needed)
 * and `worker: false` for producer-only processes.
 */
export async function open (opts: OpenOptions): Promise<Instance> {
  return await openWith(thisPlugin, opts)
}

/**
 * The same adapter over the plugin of another source tree (`npm run bench --
 * --base REF`: system `fastify-fifo-base`, the tree exported by bench/run.ts
 * into FIFO_BENCH_BASE_TREE), so two versions run side by side in one run.
 */
export async function openBase (opts: OpenOptions): Promise<Instance> {
  const tree = process.env.FIFO_BENCH_BASE_TREE
  if (tree === undefined || tree === '') throw new Error('fastify-fifo-base needs FIFO_BENCH_BASE_TREE (npm run bench -- --base REF sets it)')
  return await openWith(require(join(tree, 'plugin')) as PluginModule, opts)
}

async function openWith (mod: PluginModule, opts: OpenOptions): Promise<Instance> {
  const fifo = mod.default
  const taskContext = mod.taskContext
  const app: FastifyInstance = opts.app ?? Fastify({ logger: false })
  const handler = opts.handler
  await app.register(fifo, {
    redis: opts.url,
    prefix: opts.ns,
    concurrency: opts.slots,
    worker: handler !== null,
    pipelinedAcks: opts.pipelinedAcks ?? 0,
    dashboard: false,
  })
  if (opts.limiter !== undefined) app.fifo.limiter('api', opts.limiter)
  const task = app.fifo.define('bench', { queue: (key: string, _seq: number) => key, ...(opts.limiter === undefined ? {} : { limiter: 'api' }) }, async (key: string, seq: number) => {
    if (handler !== null) await handler(key, seq, taskContext()?.limiter?.grantedAt)
  })
  // The memory scenario: one payload argument per task, like BullMQ's job data.
  const order = app.fifo.define('order', { queue: 'orders' }, async (_payload: object) => {})
  const waited = task.with({ wait: 60_000 })
  const own = opts.app === undefined
  if (handler === null && own) await app.ready()

  return {
    async enqueue (key, seq) { await task(key, seq) },
    async enqueueAndWait (key, seq) {
      const done = await waited(key, seq)
      if (done.status !== 'succeeded') throw new Error(`fastify-fifo bench adapter: task ${done.id} ${done.status}`)
    },
    async enqueuePayload (key, payload) {
      if (key !== 'orders') throw new Error('fastify-fifo bench adapter: payload tasks go to queue "orders"')
      await order(payload)
    },
    async enqueueFromRequest (request: FastifyRequest, key, seq) { await request.fifo.enqueue(task, key, seq) },
    async start () { if (handler !== null) await app.ready() },
    async close () { if (own) await app.close() },
  }
}
