import { FST_FIFO_INVALID_REQUEST, FST_FIFO_NOT_FOUND } from '../errors'
import type { Logger } from '../log'
import type { QueueState, Store } from '../../store/store'
import type { LimiterDefinition } from '../limits'
import { limiterRoutes } from './limiters'
import { presenter } from './present'
import { PROMETHEUS_CONTENT_TYPE } from './prometheus'
import { schemas } from './schemas'

// The JSON schema's integer check lets a coerced 1e400 (Infinity) through; refuse it here.
function whole (value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new FST_FIFO_INVALID_REQUEST(`querystring/${name} must be a whole number, got ${String(value)}`)
  }
  return value
}

/** What one admin route gets from its adapter (Fastify or Express), already validated against its schema. */
export interface RouteInput {
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
  /** The HTTP request's id, for audit lines and skip reasons. */
  requestId: string
  /** The request's logger. */
  log: Logger
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'DELETE'
  /** Relative to the dashboard path. */
  url: string
  schema: { params?: object, querystring?: object, body?: object, response: Record<string, unknown> }
  /** Operator actions: refused when read-only, JSON bodies only. */
  mutates: boolean
  /** Content type of a non-JSON reply (the handler then returns the body text). */
  produces?: string
  handler: (input: RouteInput) => Promise<unknown>
}

export interface ApiContext {
  store: Store
  /** This instance's metrics in the Prometheus text format (prom-client's registry when installed). */
  renderMetrics: () => Promise<string>
  instanceId: string
  storeKind: 'redis' | 'memory'
  version: string
  showArgs: boolean
  /** Why actions are refused, or null when they are allowed. */
  readOnlyReason: string | null
  heldLeases: () => number
  /** This app's fifo.limiter() definitions, and the one a concrete name takes its limits from. */
  limiterDefinitions: () => LimiterDefinition[]
  resolveLimiter: (name: string) => LimiterDefinition | undefined
}

/**
 * How often the dashboard polls. A new queue must show within 2 s of its
 * enqueue: a 1 s period leaves a full second for the round trip and rendering.
 */
export const REFRESH_MS = 1000

function quote (text: string): string {
  return JSON.stringify(text.length > 300 ? text.slice(0, 300) + '…' : text)
}

export function apiRoutes (ctx: ApiContext): AdminRoute[] {
  const { store } = ctx
  const present = (): ReturnType<typeof presenter> => presenter(ctx.showArgs, ctx.instanceId)

  async function queueOr404 (name: string) {
    const row = await store.getQueue(name)
    if (row === null) throw new FST_FIFO_NOT_FOUND(`queue ${quote(name)} does not exist (a queue exists while it has tasks, or is paused or halted)`)
    return row
  }

  /** A page of a queue's tasks as the API shows them. Bad offset/limit throw before any store call. */
  function tasksPage (name: string, query: { offset?: unknown, limit?: unknown }) {
    const offset = whole(query.offset, 'offset')
    const limit = whole(query.limit, 'limit')
    return store.queueTasks(name, offset, limit).then((page) => {
      const p = present()
      return { ...page, items: page.items.map(p.task), now: Date.now() }
    })
  }

  async function queueAfter (name: string) {
    const row = await store.getQueue(name)
    return row === null ? null : present().queue(row)
  }

  function audit (input: RouteInput, action: string, target: Record<string, string>): void {
    input.log.info({ fifoAction: action, ...target }, `fastify-fifo: operator action ${action}`)
  }

  const queueAction = (action: 'pause' | 'resume' | 'retry', run: (queue: string) => Promise<void>): AdminRoute => ({
    method: 'POST',
    url: `/api/queues/:queue/${action}`,
    schema: schemas.queueAction,
    mutates: true,
    handler: async (input) => {
      const queue = input.params.queue
      await run(queue)
      audit(input, action, { queue })
      return { ok: true, queue: await queueAfter(queue) }
    },
  })

  return [
    {
      method: 'GET',
      url: '/api/config',
      schema: schemas.config,
      mutates: false,
      handler: async () => ({
        version: ctx.version,
        instanceId: ctx.instanceId,
        storeKind: ctx.storeKind,
        readOnly: ctx.readOnlyReason !== null,
        readOnlyReason: ctx.readOnlyReason,
        showArgs: ctx.showArgs,
        refreshMs: REFRESH_MS,
      }),
    },
    {
      method: 'GET',
      url: '/api/overview',
      schema: schemas.overview,
      mutates: false,
      handler: async () => {
        const o = await store.overview()
        const series = o.series
        return {
          ...o,
          bucketMs: series.length > 1 ? series[1].at - series[0].at : 10_000,
          instanceId: ctx.instanceId,
          heldLeases: ctx.heldLeases(),
        }
      },
    },
    {
      method: 'GET',
      url: '/api/queues',
      schema: schemas.queues,
      mutates: false,
      handler: async ({ query }) => {
        const search = typeof query.search === 'string' && query.search !== '' ? query.search : undefined
        const page = await store.listQueues({
          state: query.state as QueueState | undefined,
          search,
          offset: whole(query.offset, 'offset'),
          limit: whole(query.limit, 'limit'),
        })
        const p = present()
        return { ...page, items: page.items.map(p.queue), now: Date.now() }
      },
    },
    {
      method: 'GET',
      url: '/api/queues/:queue',
      schema: schemas.queue,
      mutates: false,
      handler: async ({ params }) => present().queue(await queueOr404(params.queue)),
    },
    {
      method: 'GET',
      url: '/api/queues/:queue/tasks',
      schema: schemas.queueTasks,
      mutates: false,
      handler: async ({ params, query }) => {
        const [tasks] = await Promise.all([tasksPage(params.queue, query), queueOr404(params.queue)])
        return tasks
      },
    },
    {
      // The dashboard's open row: one round trip, and a queue that just
      // finished is `queue: null` rather than a 404 logged in the console.
      method: 'GET',
      url: '/api/queues/:queue/detail',
      schema: schemas.queueDetail,
      mutates: false,
      handler: async ({ params, query }) => {
        const [tasks, queue] = await Promise.all([tasksPage(params.queue, query), queueAfter(params.queue)])
        return { queue, tasks }
      },
    },
    {
      method: 'GET',
      url: '/api/tasks/:id',
      schema: schemas.task,
      mutates: false,
      handler: async ({ params }) => {
        const row = await store.getTask(params.id)
        if (row === null) throw new FST_FIFO_NOT_FOUND(`task ${quote(params.id)} does not exist (it settled, or was deleted from the dead letters)`)
        return present().task(row)
      },
    },
    {
      method: 'GET',
      url: '/api/dead',
      schema: schemas.dead,
      mutates: false,
      handler: async ({ query }) => {
        const page = await store.listDead(whole(query.offset, 'offset'), whole(query.limit, 'limit'))
        const p = present()
        return { ...page, items: page.items.map(p.dead), now: Date.now() }
      },
    },
    {
      method: 'GET',
      url: '/api/dead/:id',
      schema: schemas.deadOne,
      mutates: false,
      handler: async ({ params }) => {
        const row = await store.getDead(params.id)
        if (row === null) throw new FST_FIFO_NOT_FOUND(`dead letter ${quote(params.id)} does not exist`)
        return present().dead(row)
      },
    },
    {
      method: 'GET',
      url: '/api/instances',
      schema: schemas.instances,
      mutates: false,
      handler: async () => {
        const rows = await store.listInstances()
        const p = present()
        return { items: rows.map(p.instance), now: Date.now() }
      },
    },
    {
      // One row per partition; a store without partitions shows as one, from its overview.
      method: 'GET',
      url: '/api/partitions',
      schema: schemas.partitions,
      mutates: false,
      handler: async () => {
        if (store.partitionStats !== undefined) return { items: await store.partitionStats(), now: Date.now() }
        const o = await store.overview()
        const row = { partition: 0, tag: '', slot: 0, node: ctx.storeKind, queues: o.queues, depth: o.pendingTasks, running: o.running, oldestHeadAgeMs: o.oldestHeadAgeMs }
        return { items: [row], now: Date.now() }
      },
    },
    ...limiterRoutes({ store, definitions: ctx.limiterDefinitions, resolve: ctx.resolveLimiter }, audit),
    queueAction('pause', async (queue) => { await store.pause(queue) }),
    queueAction('resume', async (queue) => { await store.resume(queue) }),
    queueAction('retry', async (queue) => { await store.retryHead(queue) }),
    {
      method: 'POST',
      url: '/api/queues/:queue/skip',
      schema: schemas.skip,
      mutates: true,
      handler: async (input) => {
        const queue = input.params.queue
        const given = (input.body as { reason?: string }).reason
        const reason = `skipped by an operator (request ${input.requestId})${given === undefined ? '' : ': ' + given}`
        const dead = await store.skipHead(queue, reason)
        audit(input, 'skip', { queue, task: dead.id })
        return { ok: true, queue: await queueAfter(queue), dead: present().dead(dead) }
      },
    },
    {
      method: 'POST',
      url: '/api/dead/:id/requeue',
      schema: schemas.requeue,
      mutates: true,
      handler: async (input) => {
        const result = await store.requeueDead(input.params.id)
        audit(input, 'requeue', { task: input.params.id, queue: result.queue })
        return { ok: true, task: { id: result.id, queue: result.queue, name: result.name } }
      },
    },
    {
      method: 'DELETE',
      url: '/api/dead/:id',
      schema: schemas.deleteDead,
      mutates: true,
      handler: async (input) => {
        await store.deleteDead(input.params.id)
        audit(input, 'delete-dead', { task: input.params.id })
        return { ok: true }
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      schema: schemas.metrics,
      mutates: false,
      produces: PROMETHEUS_CONTENT_TYPE,
      handler: async () => await ctx.renderMetrics(),
    },
  ]
}
