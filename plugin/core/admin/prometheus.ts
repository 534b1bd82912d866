import { DURATION_FAMILY, FAMILIES, type MetricsSource } from '../metric-families'
import { DURATION_BUCKETS_MS } from '../metrics'

/**
 * Renders <path>/metrics in the Prometheus text exposition format (version
 * 0.0.4) when prom-client is not installed: prom-client stays an optional peer,
 * and the package works without it. The families are in metric-families.ts.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

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

  histogram (name: string, help: string, labels: Labels, bounds: number[], cumulative: number[], sum: number, count: number): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`)
    const own = formatLabels(labels).slice(1, -1)
    const bucket = (le: string): string => `{${own === '' ? '' : own + ','}le="${le}"}`
    bounds.forEach((le, i) => this.#lines.push(`${name}_bucket${bucket(formatValue(le))} ${cumulative[i]}`))
    this.#lines.push(`${name}_bucket${bucket('+Inf')} ${cumulative[bounds.length]}`)
    this.#lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(sum)}`, `${name}_count${formatLabels(labels)} ${count}`)
  }

  toString (): string {
    return this.#lines.join('\n') + '\n'
  }
}

/**
 * This instance's families as text, for apps without prom-client (with it,
 * prom.ts registers the same FAMILIES in a prom-client registry instead).
 */
export async function renderMetrics (source: MetricsSource): Promise<string> {
  const overview = await source.overview()
  const m = source.metrics
  const out = new Exposition()
  const own = { instance_id: source.instanceId }
  for (const f of FAMILIES) {
    out.family(f.name, f.type, f.help, f.samples(source, overview).map(([labels, value]) => [{ ...own, ...labels }, value]))
  }
  out.histogram(DURATION_FAMILY.name, DURATION_FAMILY.help, own,
    DURATION_BUCKETS_MS.map((ms) => ms / 1000), m.durationBuckets, m.durationSumMs / 1000, m.durationCount)
  return out.toString()
}
