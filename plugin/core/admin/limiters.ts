import { FST_FIFO_INVALID_REQUEST, FST_FIFO_NOT_FOUND } from '../errors'
import type { LimiterDefinition } from '../limits'
import type { LimiterState, Store } from '../../store/store'
import type { AdminRoute, RouteInput } from './api'
import { schemas } from './schemas'

/** What the limiter routes need from the engine. */
export interface LimiterContext {
  store: Store
  /** This app's fifo.limiter() definitions. */
  definitions: () => LimiterDefinition[]
  /** The definition a concrete name takes its limits from. */
  resolve: (name: string) => LimiterDefinition | undefined
}

export interface LimiterView {
  name: string
  definition: string
  max: number | null
  perMs: number | null
  concurrency: number | null
  usedInWindow: number
  running: number
  queuesWaiting: number
  paused: boolean
  pausedUntil: number | null
  pausedBy: 'operator' | 'backoff' | null
  backoffs: number
}

function view (row: LimiterState, def: LimiterDefinition | undefined): LimiterView {
  // The limits this app defines; a name only another app version knows shows the limits it was last used with.
  const max = def?.max ?? row.max
  const concurrency = def?.concurrency ?? row.concurrency
  return {
    name: row.name,
    definition: def?.name ?? '',
    max: max > 0 ? max : null,
    perMs: max > 0 ? (def?.perMs ?? row.perMs) : null,
    concurrency: concurrency > 0 ? concurrency : null,
    usedInWindow: row.usedInWindow,
    running: row.running,
    queuesWaiting: row.queuesWaiting,
    paused: row.paused,
    pausedUntil: row.pausedUntil,
    pausedBy: row.pausedBy,
    backoffs: row.backoffs,
  }
}

function unused (def: LimiterDefinition): LimiterState {
  return { name: def.name, max: def.max, perMs: def.perMs, concurrency: def.concurrency, usedInWindow: 0, running: 0, queuesWaiting: 0, paused: false, pausedUntil: null, pausedBy: null, backoffs: 0 }
}

/**
 * Every limiter: each concrete one the store has seen (a day after its last
 * use), plus each definition nothing has used yet (a pattern shows as itself
 * until a name it covers is used), by name.
 */
export async function limiterViews (ctx: LimiterContext): Promise<LimiterView[]> {
  const rows = await ctx.store.listLimiters()
  const seen = new Set<string>()
  const out: LimiterView[] = []
  for (const row of rows) {
    const def = ctx.resolve(row.name)
    if (def !== undefined) seen.add(def.name)
    out.push(view(row, def))
  }
  for (const def of ctx.definitions()) {
    if (!seen.has(def.name) && !rows.some((r) => r.name === def.name)) out.push(view(unused(def), def))
  }
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}

function quote (text: string): string {
  return JSON.stringify(text.length > 130 ? text.slice(0, 130) + '…' : text)
}

export function limiterRoutes (ctx: LimiterContext, audit: (input: RouteInput, action: string, target: Record<string, string>) => void): AdminRoute[] {
  function known (name: string): void {
    if (name.includes('*')) throw new FST_FIFO_INVALID_REQUEST(`params/limiter must be a concrete limiter name, not a pattern: ${quote(name)} (pause each name it covers)`)
    if (ctx.resolve(name) === undefined) throw new FST_FIFO_NOT_FOUND(`limiter ${quote(name)} is not defined on this app (fifo.limiter())`)
  }

  async function after (name: string): Promise<LimiterView> {
    const row = (await ctx.store.listLimiters()).find((r) => r.name === name)
    const def = ctx.resolve(name)
    return view(row ?? unused({ ...(def as LimiterDefinition), name }), def)
  }

  const action = (verb: 'pause' | 'resume', run: (name: string) => Promise<void>): AdminRoute => ({
    method: 'POST',
    url: `/api/limiters/:limiter/${verb}`,
    schema: schemas.limiterAction,
    mutates: true,
    handler: async (input) => {
      const name = input.params.limiter
      known(name)
      await run(name)
      audit(input, `limiter-${verb}`, { limiter: name })
      return { ok: true, limiter: await after(name) }
    },
  })

  return [
    {
      method: 'GET',
      url: '/api/limiters',
      schema: schemas.limiters,
      mutates: false,
      handler: async () => ({ items: await limiterViews(ctx), now: Date.now() }),
    },
    action('pause', async (name) => { await ctx.store.pauseLimiter(name, null) }),
    action('resume', async (name) => { await ctx.store.resumeLimiter(name) }),
  ]
}
