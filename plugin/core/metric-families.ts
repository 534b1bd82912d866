import type { Overview } from '../store/store'
import type { LimiterView } from './admin/limiters'
import type { Metrics } from './metrics'

/**
 * The metric families fastify-fifo exports, declared once: the hand-written
 * exposition (admin/prometheus.ts, used without prom-client) and the
 * prom-client registration (prom.ts) both read this table, so the names,
 * types, help and labels are the same with or without prom-client.
 *
 * Every series carries `instance_id`: two fastify-fifo instances may share one
 * prom-client registry (two apps in one process), and their counters must stay
 * apart. Two kinds of series: store-wide gauges (the same on every instance of
 * a namespace: aggregate them with max(), not sum()) and this instance's
 * counters and histogram (aggregate those with sum()).
 */

/** One instance's numbers at scrape time. `overview` is null for families that do not need it. */
export interface MetricsSource {
  instanceId: string
  storeKind: 'redis' | 'memory'
  version: string
  metrics: Metrics
  heldLeases: () => number
  overview: () => Promise<Overview>
}

export type Labels = Record<string, string>

export interface FamilyDef {
  name: string
  type: 'gauge' | 'counter'
  help: string
  /** Label names besides instance_id. */
  labelNames: string[]
  /** True when `samples` reads the store's overview (gauges collected on scrape). */
  needsOverview: boolean
  samples: (source: MetricsSource, overview: Overview | null) => Array<[Labels, number]>
}

const QUEUE_STATES: Array<[string, keyof Overview]> = [
  ['waiting', 'waiting'], ['running', 'running'], ['retrying', 'retrying'],
  ['halted', 'halted'], ['missing-handler', 'missingHandler'], ['paused', 'paused'], ['throttled', 'throttled'],
]

/**
 * The store read a scrape shares: the overview, and when the app defines
 * limiters, their store-wide state (read in the same scrape, by fifo.ts).
 */
export interface ScrapeOverview extends Overview {
  limiters?: LimiterView[]
}

interface LimiterGauge { running: number, used: number, waiting: number, paused: number }

/**
 * Store-wide limiter state per definition (`stripe`, `partner:*`): the names a
 * pattern covers are summed, so a limiter per customer adds no series per customer.
 */
function limiterGauges (o: Overview | null): Array<[string, LimiterGauge]> {
  const gauges = new Map<string, LimiterGauge>()
  for (const l of (o as ScrapeOverview | null)?.limiters ?? []) {
    const key = l.definition === '' ? l.name : l.definition
    const g = gauges.get(key) ?? { running: 0, used: 0, waiting: 0, paused: 0 }
    g.running += l.running
    g.used += l.usedInWindow
    g.waiting += l.queuesWaiting
    g.paused += l.paused ? 1 : 0
    gauges.set(key, g)
  }
  return [...gauges]
}

function limiterGauge (name: string, help: string, read: (g: LimiterGauge) => number): FamilyDef {
  return { name, type: 'gauge', help, labelNames: ['limiter'], needsOverview: true, samples: (_s, o) => limiterGauges(o).map(([limiter, g]) => [{ limiter }, read(g)]) }
}

/** This instance's counters per limiter definition. */
function limiterCounter (name: string, help: string, read: (c: { starts: number, waits: number, throttledMs: number, backoffs: number }) => number): FamilyDef {
  return { name, type: 'counter', help, labelNames: ['limiter'], needsOverview: false, samples: (s) => [...s.metrics.limiters].map(([limiter, c]) => [{ limiter }, read(c)]) }
}

function gauge (name: string, help: string, read: (o: Overview) => number): FamilyDef {
  return { name, type: 'gauge', help, labelNames: [], needsOverview: true, samples: (_s, o) => [[{}, read(o as Overview)]] }
}

function counter (name: string, help: string, read: (m: Metrics) => number): FamilyDef {
  return { name, type: 'counter', help, labelNames: [], needsOverview: false, samples: (s) => [[{}, read(s.metrics)]] }
}

export const FAMILIES: FamilyDef[] = [
  {
    name: 'fifo_info',
    type: 'gauge',
    help: 'Constant 1; labels describe the instance.',
    labelNames: ['store', 'version'],
    needsOverview: false,
    samples: (s) => [[{ store: s.storeKind, version: s.version }, 1]],
  },
  {
    name: 'fifo_queues',
    type: 'gauge',
    help: 'Queues by scheduling state (store-wide).',
    labelNames: ['state'],
    needsOverview: true,
    samples: (_s, o) => QUEUE_STATES.map(([state, key]) => [{ state }, (o as Overview)[key] as number]),
  },
  gauge('fifo_halted_queues', 'Queues whose head spent its attempts and waits for an operator (store-wide).', (o) => o.halted),
  gauge('fifo_pending_tasks', 'Tasks in all queues, heads included: the total queue depth (store-wide).', (o) => o.pendingTasks),
  gauge('fifo_dead_letters', 'Tasks in the dead-letter list (store-wide).', (o) => o.deadLetters),
  gauge('fifo_head_age_max_seconds', 'Age of the oldest head task among all queues: the worst head-of-line wait (store-wide).', (o) => o.oldestHeadAgeMs / 1000),
  gauge('fifo_live_instances', 'Instances with a recent heartbeat (store-wide).', (o) => o.liveInstances),
  {
    name: 'fifo_held_leases',
    type: 'gauge',
    help: 'Queue leases this instance holds now.',
    labelNames: [],
    needsOverview: false,
    samples: (s) => [[{}, s.heldLeases()]],
  },
  counter('fifo_tasks_enqueued_total', 'Tasks this instance enqueued.', (m) => m.enqueued),
  counter('fifo_tasks_completed_total', 'Tasks this instance ran to success.', (m) => m.completed),
  counter('fifo_tasks_failed_total', 'Task runs on this instance that threw or timed out.', (m) => m.failed),
  counter('fifo_tasks_retried_total', 'Failed runs on this instance that were scheduled to retry.', (m) => m.retried),
  counter('fifo_tasks_dead_lettered_total', 'Tasks this instance sent to the dead letters.', (m) => m.deadLettered),
  counter('fifo_queue_halts_total', 'Times a queue halted on this instance.', (m) => m.halted),
  counter('fifo_leases_fenced_total', 'Acknowledgements this instance made with a lost lease (refused by the store).', (m) => m.fenced),
  limiterGauge('fifo_limiter_running', 'Heads holding a running slot of the limiter (store-wide).', (g) => g.running),
  limiterGauge('fifo_limiter_window_starts', 'Starts in the current rate window of the limiter (store-wide).', (g) => g.used),
  limiterGauge('fifo_limiter_queues_waiting', 'Queues throttled waiting for the limiter (store-wide).', (g) => g.waiting),
  limiterGauge('fifo_limiter_paused', 'Limiter names paused by a back-off or an operator (store-wide).', (g) => g.paused),
  limiterCounter('fifo_limiter_starts_total', 'Limiter tokens this instance took (heads started under the limiter).', (c) => c.starts),
  limiterCounter('fifo_limiter_waits_total', 'Heads on this instance that got no token and waited at their head.', (c) => c.waits),
  limiterCounter('fifo_limiter_throttled_seconds_total', 'Time heads on this instance were scheduled to wait for a token or a back-off.', (c) => c.throttledMs / 1000),
  limiterCounter('fifo_limiter_backoffs_total', 'FST_FIFO_RATE_LIMITED back-offs thrown by handlers on this instance.', (c) => c.backoffs),
]

export const DURATION_FAMILY = {
  name: 'fifo_task_duration_seconds',
  help: 'Handler run time on this instance.',
}
