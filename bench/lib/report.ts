import { cpus } from 'node:os'
import type { Row, RowSystem } from './context'

const PEERS: RowSystem[] = ['bullmq', 'groupmq']

function fmt (value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–'
  if (unit === '/s' || unit === 'B') return Math.round(value).toLocaleString('en-US')
  if (unit === 'count' || unit === 'calls') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2)
  if (unit === 'ms') return value.toFixed(2)
  if (unit === 'x') return value.toFixed(2)
  return value.toFixed(1)
}

function cell (row: Row | undefined, suffix = ''): string {
  if (row === undefined) return '–'
  const v = fmt(row.value, row.unit) + suffix
  if (row.runs < 2 || row.min === row.max) return v
  return `${v} (${fmt(row.min, row.unit)}–${fmt(row.max, row.unit)})`
}

/** A ratio row made by Bench.ratioRows (per-round pairing), recognised by its metric. */
export const isRatio = (r: Row): boolean => r.metric.endsWith(' ratio') || r.metric.includes(' ratio (÷ ') || r.metric.includes(' over ')

/**
 * A Markdown table: median (min–max) per system and the same round's limit,
 * then fastify-fifo ÷ each peer as the median (min–max) of per-round ratios.
 */
export function table (rows: Row[]): string {
  const out: string[] = []
  // With --base, fastify-fifo of the other commit gets a column and fastify-fifo ÷ it a ratio column.
  const withBase = rows.some((r) => r.system === 'fastify-fifo-base')
  const peers: RowSystem[] = withBase ? [...PEERS, 'fastify-fifo-base'] : PEERS
  out.push(`| scenario | metric | fastify-fifo |${withBase ? ' fastify-fifo-base |' : ''} bullmq | groupmq | limit (same rounds) | ${peers.map((p) => `÷ ${p}`).join(' | ')} |`)
  out.push(`|---|---|---|${withBase ? '---|' : ''}---|---|---|${peers.map(() => '---|').join('')}`)
  const keys: string[] = []
  const bySystem = new Map<string, Row>()
  for (const r of rows) {
    const k = `${r.scenario}\u0000${isRatio(r) && r.metric.endsWith(' ratio') ? r.metric.slice(0, -' ratio'.length) : r.metric}`
    if (isRatio(r) && !r.metric.endsWith(' ratio')) continue
    if (!keys.includes(k)) keys.push(k)
    bySystem.set(`${k}\u0000${r.system}${isRatio(r) ? '\u0000ratio' : ''}`, r)
  }
  for (const k of keys) {
    const [scenario, metric] = k.split('\u0000')
    const get = (s: RowSystem, ratio = false): Row | undefined => bySystem.get(`${k}\u0000${s}${ratio ? '\u0000ratio' : ''}`)
    const ours = get('fastify-fifo')
    const unit = (ours ?? get('fastify-fifo-base') ?? get('bullmq') ?? get('groupmq') ?? get('limit'))?.unit ?? ''
    const shownUnit = unit === '' || unit === 'count' || unit === 'x' || unit === 'calls' ? '' : ` (${unit})`
    out.push(`| ${scenario} | ${metric}${shownUnit} | ${cell(ours)} |${withBase ? ` ${cell(get('fastify-fifo-base'))} |` : ''} ${cell(get('bullmq'))} | ${cell(get('groupmq'))} | ${cell(get('limit'))} | ${peers.map((p) => get(p, true) === undefined ? '' : cell(get(p, true), '×')).join(' | ')} |`)
  }
  const paired = rows.filter((r) => isRatio(r) && !r.metric.endsWith(' ratio'))
  if (paired.length > 0) {
    out.push('')
    out.push('| fastify-fifo against the limit of the same round | median of per-round figures (min–max) |')
    out.push('|---|---|')
    for (const r of paired) out.push(`| ${r.scenario}: ${r.metric} | ${cell(r, r.unit === 'x' ? '×' : ` ${r.unit}`)} |`)
  }
  return out.join('\n')
}

interface Check {
  target: string
  measured: string
  pass: boolean | null
  /** What bounds the figure in this run, when the target asks for more than a ceiling allows. */
  ceiling?: string
  /** The target lies above that same-run ceiling: no system doing this work could meet it in this run. */
  aboveCeiling?: boolean
  /** That ceiling in the target's own terms, short (targets.ts prints it after the mark). */
  bound?: string
}

/** many-queues metric: slots that can be busy ÷ the mean measured handler time — no system can go faster. */
export const CEILING = 'ceiling: slots ÷ mean handler time'
/** many-queues metric: cores ÷ (workers' + Redis's CPU per task) — the machine cannot run more tasks per second at that cost. */
export const CPU_CEILING = 'ceiling: cores ÷ (Node + Redis CPU per task)'

/** many-queues: fastify-fifo's tasks/s ÷ the safe-mode limit's of the same round (Bench.ratioRows' label for that pairing). */
export const MANY_LIMIT_RATIO = 'tasks/s ratio (÷ tasks/s)'

/** Issue 13's targets, checked on the medians of per-round ratios (every figure against its own round). */
const cores = (): number => cpus().length

export function targets (rows: Row[]): Check[] {
  const find = (scenario: string, system: RowSystem, metric: string): Row | undefined =>
    rows.find((r) => r.scenario === scenario && r.system === system && r.metric === metric)
  const checks: Check[] = []
  const spread = (r: Row, unit: string): string => r.runs < 2 ? '' : ` (${fmt(r.min, r.unit)}–${fmt(r.max, r.unit)}${unit})`
  const add = (target: string, row: Row | undefined, op: '>=' | '<=', bound: number, unit = '×'): Check | undefined => {
    if (row === undefined) {
      checks.push({ target, measured: 'not measured', pass: null })
      return undefined
    }
    const c: Check = { target, measured: `${fmt(row.value, row.unit)}${unit}${spread(row, unit)}`, pass: op === '>=' ? row.value >= bound : row.value <= bound }
    checks.push(c)
    return c
  }
  const us = (n: number | undefined): string => n === undefined ? '?' : `${n.toFixed(1)} µs`
  // The limit is a script that returns at once; a real script also runs: its own time inside Redis is part of every round trip.
  const withScript = (c: Check | undefined, scenario: string, seqMetric: string): void => {
    const t = find(scenario, 'fastify-fifo', 'script time per call')?.value
    const limit = find(scenario, 'limit', seqMetric)?.value
    if (c === undefined || t === undefined || limit === undefined || c.pass === true) return
    const bound = 1e6 / (1e6 / limit + t)
    c.ceiling = `a round trip of a no-op script (${Math.round(limit).toLocaleString('en-US')}/s) plus this script's own ${us(t)} inside Redis allows ${Math.round(bound).toLocaleString('en-US')}/s = ${(bound / limit).toFixed(2)}× the limit`
    c.aboveCeiling = bound / limit < 0.85
    c.bound = `bound ${(bound / limit).toFixed(2)}×`
  }
  // many-queues: a missed target is above a ceiling when the same run measured one below 0.85 of the
  // slots' ceiling — the safe mode's minimum (the limit system: the sleeps plus one no-op round trip
  // between a queue's tasks), or the CPU; the lower one is named.
  const manyCeiling = (c: Check, scenario: string): void => {
    const slots = find(scenario, 'fastify-fifo', CEILING)?.value
    if (slots === undefined) return
    const bounds: Array<{ value: number, name: string, text: string }> = []
    const limit = find(scenario, 'limit', 'tasks/s')?.value
    const ofLimit = find(scenario, 'limit', MANY_LIMIT_RATIO)?.value
    const limitShare = find(scenario, 'limit', 'share of that ceiling')?.value
    if (limit !== undefined && ofLimit !== undefined && limitShare !== undefined) {
      // Set against fastify-fifo's own ceiling (the stricter: the limit's lighter load makes its sleeps shorter).
      bounds.push({ value: limit, name: 'safe-mode limit', text: `the safe mode's minimum: the same handler sleeps with one no-op EVALSHA between a queue's tasks ran ${Math.round(limit).toLocaleString('en-US')}/s = ${(limit / slots).toFixed(2)} of fastify-fifo's slots' ceiling (${limitShare.toFixed(2)} of its own); the run reached ${ofLimit.toFixed(2)} of that` })
    }
    const cpu = find(scenario, 'fastify-fifo', CPU_CEILING)?.value
    const share = find(scenario, 'fastify-fifo', 'share of the CPU ceiling')?.value
    if (cpu !== undefined && share !== undefined) {
      bounds.push({ value: cpu, name: 'CPU', text: `the CPU: ${cores()} cores at this round's Node + Redis CPU per task allow ${Math.round(cpu).toLocaleString('en-US')}/s = ${(cpu / slots).toFixed(2)} of the slots' ceiling; the run reached ${share.toFixed(2)} of that` })
    }
    const lowest = bounds.sort((a, b) => a.value - b.value)[0]
    if (lowest === undefined) return
    c.bound = `${lowest.name}: ${(lowest.value / slots).toFixed(2)}`
    c.ceiling = lowest.text
    c.aboveCeiling = lowest.value < slots * 0.85
  }
  withScript(add('serial drain ≥ 0.85× sequential EVALSHA', find('serial-drain', 'limit', 'tasks/s ratio (÷ sequential EVALSHA)'), '>=', 0.85), 'serial-drain', 'sequential EVALSHA')
  // The deepest pipelinedAcks row of the run: the limit keeps 100 calls in flight, and so does
  // pipelinedAcks=100 (runs before session 8 only had 16).
  const piped = deepestPipelinedDrain(rows)
  add(`pipelinedAcks drain (opt-in) ≥ 0.5× pipelined EVALSHA${piped === undefined ? '' : ` (${piped.slice('serial-drain:'.length, -' (opt-in)'.length)})`}`, piped === undefined ? undefined : find(piped, 'limit', 'tasks/s ratio (÷ pipelined EVALSHA (100 in flight))'), '>=', 0.5)
  withScript(add('enqueue-seq ≥ 0.85× sequential EVALSHA', find('enqueue-seq', 'limit', 'calls/s ratio (÷ sequential EVALSHA)'), '>=', 0.85), 'enqueue-seq', 'sequential EVALSHA')
  add('pickup p50 ≤ idle PING p50 + 0.25 ms', find('pickup-latency', 'limit', 'p50 over PING after 10–30 ms idle, p50'), '<=', 0.25, ' ms')
  add('pickup p99 ≤ idle PING p99 + 0.5 ms', find('pickup-latency', 'limit', 'p99 over PING after 10–30 ms idle, p99'), '<=', 0.5, ' ms')
  for (const scenario of [...new Set(rows.filter((r) => r.scenario.startsWith('many-queues:')).map((r) => r.scenario))]) {
    const c = add(`${scenario} ≥ 0.85 of the slots' ceiling`, find(scenario, 'fastify-fifo', 'share of that ceiling'), '>=', 0.85)
    if (c?.pass === false) manyCeiling(c, scenario)
    add(`${scenario} 0 order violations`, find(scenario, 'fastify-fifo', 'order violations'), '<=', 0, '')
  }
  add('saturate Redis CPU per task ≤ 0.6× GroupMQ', find('saturate', 'groupmq', 'redis cpu per task ratio'), '<=', 0.6)
  add('saturate Redis CPU per task ≤ 0.5× BullMQ (one unordered queue)', find('saturate', 'bullmq', 'redis cpu per task ratio'), '<=', 0.5)
  add('http enqueue route ≥ 0.7× plain route', find('http', 'fastify-fifo', 'enqueue ÷ plain req/s'), '>=', 0.7)
  add('serial-drain 0 order violations', find('serial-drain', 'fastify-fifo', 'order violations'), '<=', 0, '')
  return checks
}

/** The opt-in pipelined drain row with the most acks in flight (`serial-drain:pipelinedAcks=N (opt-in)`). */
export function deepestPipelinedDrain (rows: Row[]): string | undefined {
  const depth = (scenario: string): number => Number(/^serial-drain:pipelinedAcks=(\d+) /.exec(scenario)?.[1] ?? -1)
  return [...new Set(rows.map((r) => r.scenario))].filter((s) => depth(s) >= 0).sort((a, b) => depth(b) - depth(a))[0]
}

export function targetTable (checks: Check[]): string {
  const out = ['| target | fastify-fifo: median of per-round figures (min–max) | met | what bounds it in this run |', '|---|---|---|---|']
  for (const c of checks) out.push(`| ${c.target} | ${c.measured} | ${c.pass === null ? '–' : c.pass ? 'yes' : '**no**'} | ${c.ceiling ?? ''} |`)
  return out.join('\n')
}

/** The opt-in pipelined-acks drain next to the default mode of the same rounds. Not the default: it gives up order across crashes. */
export function optInLine (rows: Row[]): string | null {
  const ours = rows.filter((r) => r.scenario.startsWith('serial-drain:pipelinedAcks=') && r.system === 'fastify-fifo' && r.metric === 'tasks/s')
  if (ours.length === 0) return null
  return `Opt-in, not the default (a crash can re-run a task after a later one started): ${ours.map((r) => `${r.scenario} runs ${Math.round(r.value).toLocaleString('en-US')} tasks/s`).join('; ')}; the per-round ratios to the limits are in the table above.`
}
