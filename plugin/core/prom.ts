import type * as PromClient from 'prom-client'
import { FST_FIFO_INVALID_OPTION } from './errors'
import type { Logger } from './log'
import { DURATION_FAMILY, FAMILIES, type FamilyDef, type MetricsSource } from './metric-families'
import { DURATION_BUCKETS_MS } from './metrics'
import type { Overview } from '../store/store'

/**
 * fastify-fifo's metrics in a prom-client registry (prom-client is an optional
 * peer: it is required here, lazily, and only when present).
 *
 * The families of metric-families.ts are made once per registry and shared by
 * every fastify-fifo instance exporting to it, each instance's series told
 * apart by `instance_id` (two apps in one process can share prom-client's
 * default registry, where a metric name can be registered only once). Counters
 * and the store gauges are read on scrape (`collect`), from the same plain
 * numbers the worker keeps; the store's overview is read once per scrape and
 * instance, however many gauges need it. The duration histogram is fed as runs
 * end (a histogram's buckets cannot be set from outside).
 */

/** The part of a prom-client `Registry` fastify-fifo uses (structural, so the public types need no prom-client). */
export interface PromRegistry {
  registerMetric: (metric: never) => void
  getSingleMetric: (name: string) => unknown
  getSingleMetricAsString: (name: string) => Promise<string>
  removeSingleMetric: (name: string) => void
  readonly contentType: string
}

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'

let promClient: typeof PromClient | null | undefined

/** prom-client if it can be loaded, else null. Loaded once, on first use. */
function loadPromClient (): typeof PromClient | null {
  if (promClient === undefined) {
    try {
      promClient = require('prom-client') as typeof PromClient
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err
      promClient = null
    }
  }
  return promClient
}

/**
 * The registry the `metrics` option names: `true` is prom-client's default
 * registry, `{ registry }` a registry of the user's; undefined/false means a
 * private registry when prom-client is installed (for `<path>/metrics` only),
 * or null: the hand-written exposition.
 */
export function resolveMetricsRegistry (value: unknown): { registry: PromRegistry, own: boolean } | null {
  if (value === undefined || value === false) {
    const prom = loadPromClient()
    return prom === null ? null : { registry: new prom.Registry() as unknown as PromRegistry, own: true }
  }
  if (value === true) {
    const prom = loadPromClient()
    if (prom === null) throw new FST_FIFO_INVALID_OPTION('metrics', 'is true (prom-client\'s default registry), but prom-client is not installed: npm install prom-client')
    return { registry: prom.register as unknown as PromRegistry, own: false }
  }
  const registry = (value !== null && typeof value === 'object') ? (value as { registry?: unknown }).registry : undefined
  const r = registry as Partial<PromRegistry> | undefined
  if (r === undefined || r === null || typeof r !== 'object' || typeof r.registerMetric !== 'function' ||
    typeof r.getSingleMetricAsString !== 'function' || typeof r.removeSingleMetric !== 'function') {
    throw new FST_FIFO_INVALID_OPTION('metrics', 'must be true (prom-client\'s default registry), false, or { registry } with a prom-client Registry')
  }
  if (Object.keys(value as object).some((k) => k !== 'registry')) {
    throw new FST_FIFO_INVALID_OPTION('metrics', `knows only "registry", got keys ${Object.keys(value as object).join(', ')}`)
  }
  if (r.contentType !== PROMETHEUS_TEXT) {
    throw new FST_FIFO_INVALID_OPTION('metrics.registry', `must use the Prometheus text format (${PROMETHEUS_TEXT}), got ${String(r.contentType)}`)
  }
  if (loadPromClient() === null) throw new FST_FIFO_INVALID_OPTION('metrics', 'needs prom-client installed next to fastify-fifo')
  return { registry: r as PromRegistry, own: false }
}

interface Attached {
  source: MetricsSource
  /** The overview read for the scrape in progress, shared by every gauge that needs it. */
  pending: Promise<Overview | null> | null
}

/** The families in one registry and the instances exporting to them. */
class RegistryExport {
  readonly attached = new Map<string, Attached>()
  readonly names: string[] = []
  readonly histogram: PromClient.Histogram<string>

  constructor (prom: typeof PromClient, readonly registry: PromRegistry, readonly log: Logger) {
    const registers = [registry as unknown as PromClient.Registry]
    try {
      for (const family of FAMILIES) {
        this.#check(family.name)
        const labelNames = ['instance_id', ...family.labelNames]
        const collect = this.#collector(family)
        // The constructor registers the metric in `registers`.
        const config = { name: family.name, help: family.help, labelNames, registers, collect }
        if (family.type === 'counter') new prom.Counter(config) // eslint-disable-line no-new
        else new prom.Gauge(config) // eslint-disable-line no-new
        this.names.push(family.name)
      }
      this.#check(DURATION_FAMILY.name)
      this.histogram = new prom.Histogram({
        name: DURATION_FAMILY.name,
        help: DURATION_FAMILY.help,
        labelNames: ['instance_id'],
        buckets: DURATION_BUCKETS_MS.map((ms) => ms / 1000),
        registers,
      })
      this.names.push(DURATION_FAMILY.name)
    } catch (err) {
      this.remove()
      throw err
    }
  }

  #check (name: string): void {
    if (this.registry.getSingleMetric(name) !== undefined) {
      throw new FST_FIFO_INVALID_OPTION('metrics.registry', `already has a metric named ${name} that fastify-fifo did not register there`)
    }
  }

  /** A collect function: resets the family and sets every attached instance's samples. */
  #collector (family: FamilyDef) {
    const attached = this.attached
    const log = this.log
    return async function collect (this: PromClient.Gauge | PromClient.Counter): Promise<void> {
      const rows = await Promise.all([...attached.values()].map(async (a) => {
        if (!family.needsOverview) return { a, overview: null }
        a.pending ??= a.source.overview().then((o) => o, (err: unknown) => {
          // A store that cannot answer must not fail the app's whole /metrics: its gauges are left out.
          log.warn({ err }, 'fastify-fifo: metrics: the store could not answer; store gauges left out of this scrape')
          return null
        }).finally(() => { a.pending = null })
        return { a, overview: await a.pending }
      }))
      this.reset()
      for (const { a, overview } of rows) {
        if (family.needsOverview && overview === null) continue
        for (const [labels, value] of family.samples(a.source, overview)) {
          const all = { instance_id: a.source.instanceId, ...labels }
          if (family.type === 'counter') (this as PromClient.Counter).inc(all, value)
          else (this as PromClient.Gauge).set(all, value)
        }
      }
    }
  }

  remove (): void {
    for (const name of this.names) this.registry.removeSingleMetric(name)
  }
}

const exportsByRegistry = new WeakMap<PromRegistry, RegistryExport>()

/**
 * Exports one instance's metrics to `registry`. Returns `render` (this
 * registry's fastify-fifo families as text, for `<path>/metrics`) and `detach`
 * (removes the instance's series; the families go when the last instance does).
 */
export function attachMetrics (registry: PromRegistry, source: MetricsSource, log: Logger): { render: () => Promise<string>, detach: () => void } {
  const prom = loadPromClient() as typeof PromClient
  let exp = exportsByRegistry.get(registry)
  if (exp === undefined) {
    exp = new RegistryExport(prom, registry, log)
    exportsByRegistry.set(registry, exp)
  }
  if (exp.attached.has(source.instanceId)) {
    throw new FST_FIFO_INVALID_OPTION('instanceId', `"${source.instanceId}" is already used by another fastify-fifo instance exporting to this metrics registry`)
  }
  const e = exp
  e.attached.set(source.instanceId, { source, pending: null })
  const child = e.histogram.labels({ instance_id: source.instanceId })
  e.histogram.zero({ instance_id: source.instanceId })
  source.metrics.durationSink = (seconds) => { child.observe(seconds) }
  return {
    render: async () => {
      // <path>/metrics answers 503 when the store cannot answer, as without prom-client
      // (the app's own /metrics leaves the store gauges out instead). The one overview
      // read is shared with the collectors of this scrape.
      const a = e.attached.get(source.instanceId)
      const read = source.overview()
      const shared = read.then((o) => o, () => null)
      if (a !== undefined) a.pending = shared
      try {
        await read
        return (await Promise.all(e.names.map(async (name) => await registry.getSingleMetricAsString(name)))).join('\n') + '\n'
      } finally {
        if (a !== undefined && a.pending === shared) a.pending = null
      }
    },
    detach: () => {
      source.metrics.durationSink = null
      e.histogram.remove({ instance_id: source.instanceId })
      e.attached.delete(source.instanceId)
      if (e.attached.size === 0) {
        e.remove()
        exportsByRegistry.delete(registry)
      }
    },
  }
}
