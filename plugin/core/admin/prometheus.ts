import { DURATION_BUCKETS_MS, type Metrics } from '../metrics'
import type { Overview } from '../../store/store'

/**
 * Renders /metrics in the Prometheus text exposition format (version 0.0.4).
 * Written by hand rather than with prom-client: a dozen series do not justify a
 * dependency with a global registry that two plugin instances would share.
 *
 * Two kinds of series: store-wide gauges (the same on every instance: aggregate
 * them with max(), not sum()) and this instance's counters and histogram
 * (aggregate those with sum()).
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface MetricsInput {
  overview: Overview
  metrics: Metrics
  heldLeases: number
  instanceId: string
  storeKind: 'redis' | 'memory'
  version: string
}

type Labels = Record<string, string>

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function formatLabels (labels: Labels | undefined): string {
  if (labels === undefined) return ''
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

class Exposition {
  #lines: string[] = []

  family (name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: Array<[Labels | undefined, number]>): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`)
  }

  histogram (name: string, help: string, bounds: number[], cumulative: number[], sum: number, count: number): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`)
    bounds.forEach((le, i) => this.#lines.push(`${name}_bucket{le="${formatValue(le)}"} ${cumulative[i]}`))
    this.#lines.push(`${name}_bucket{le="+Inf"} ${cumulative[bounds.length]}`)
    this.#lines.push(`${name}_sum ${formatValue(sum)}`, `${name}_count ${count}`)
  }

  toString (): string {
    return this.#lines.join('\n') + '\n'
  }
}

export function renderMetrics (input: MetricsInput): string {
  const { overview: o, metrics: m } = input
  const out = new Exposition()

  out.family('fifo_info', 'gauge', 'Constant 1; labels describe the instance answering this scrape.', [
    [{ instance_id: input.instanceId, store: input.storeKind, version: input.version }, 1],
  ])
  out.family('fifo_queues', 'gauge', 'Queues by scheduling state (store-wide).', [
    [{ state: 'waiting' }, o.waiting],
    [{ state: 'running' }, o.running],
    [{ state: 'retrying' }, o.retrying],
    [{ state: 'halted' }, o.halted],
    [{ state: 'missing-handler' }, o.missingHandler],
    [{ state: 'paused' }, o.paused],
  ])
  out.family('fifo_halted_queues', 'gauge', 'Queues whose head spent its attempts and waits for an operator (store-wide).', [[undefined, o.halted]])
  out.family('fifo_pending_tasks', 'gauge', 'Tasks in all queues, heads included: the total queue depth (store-wide).', [[undefined, o.pendingTasks]])
  out.family('fifo_dead_letters', 'gauge', 'Tasks in the dead-letter list (store-wide).', [[undefined, o.deadLetters]])
  out.family('fifo_head_age_max_seconds', 'gauge', 'Age of the oldest head task among all queues: the worst head-of-line wait (store-wide).', [[undefined, o.oldestHeadAgeMs / 1000]])
  out.family('fifo_live_instances', 'gauge', 'Instances with a recent heartbeat (store-wide).', [[undefined, o.liveInstances]])
  out.family('fifo_held_leases', 'gauge', 'Queue leases this instance holds now.', [[undefined, input.heldLeases]])

  out.family('fifo_tasks_enqueued_total', 'counter', 'Tasks this instance enqueued.', [[undefined, m.enqueued]])
  out.family('fifo_tasks_completed_total', 'counter', 'Tasks this instance ran to success.', [[undefined, m.completed]])
  out.family('fifo_tasks_failed_total', 'counter', 'Task runs on this instance that threw or timed out.', [[undefined, m.failed]])
  out.family('fifo_tasks_retried_total', 'counter', 'Failed runs on this instance that were scheduled to retry.', [[undefined, m.retried]])
  out.family('fifo_tasks_dead_lettered_total', 'counter', 'Tasks this instance sent to the dead letters.', [[undefined, m.deadLettered]])
  out.family('fifo_queue_halts_total', 'counter', 'Times a queue halted on this instance.', [[undefined, m.halted]])
  out.family('fifo_leases_fenced_total', 'counter', 'Acknowledgements this instance made with a lost lease (refused by the store).', [[undefined, m.fenced]])

  out.histogram('fifo_task_duration_seconds', 'Handler run time on this instance.',
    DURATION_BUCKETS_MS.map((ms) => ms / 1000), m.durationBuckets, m.durationSumMs / 1000, m.durationCount)

  return out.toString()
}
