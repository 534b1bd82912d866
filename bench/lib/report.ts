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

function cell (row: Row | undefined): string {
  if (row === undefined) return '–'
  const v = fmt(row.value, row.unit)
  if (row.runs < 2 || row.min === row.max) return v
  return `${v} (${fmt(row.min, row.unit)}–${fmt(row.max, row.unit)})`
}

function ratio (ours: Row | undefined, theirs: Row | undefined): string {
  if (ours === undefined || theirs === undefined || theirs.value === 0 || ours.unit === 'count' || ours.unit === 'x') return ''
  return `${(ours.value / theirs.value).toFixed(2)}×`
}

/** A Markdown table: median (min–max) per system, and fastify-fifo ÷ each peer on the medians. */
export function table (rows: Row[]): string {
  const out: string[] = []
  out.push('| scenario | metric | fastify-fifo | bullmq | groupmq | ÷ bullmq | ÷ groupmq |')
  out.push('|---|---|---|---|---|---|---|')
  const keys: string[] = []
  const bySystem = new Map<string, Row>()
  for (const r of rows) {
    if (r.system === 'limit') continue
    const k = `${r.scenario}\u0000${r.metric}`
    if (!keys.includes(k)) keys.push(k)
    bySystem.set(`${k}\u0000${r.system}`, r)
  }
  for (const k of keys) {
    const [scenario, metric] = k.split('\u0000')
    const get = (s: RowSystem): Row | undefined => bySystem.get(`${k}\u0000${s}`)
    const ours = get('fastify-fifo')
    const unit = (ours ?? get('bullmq') ?? get('groupmq'))?.unit ?? ''
    out.push(`| ${scenario} | ${metric}${unit === '' || unit === 'count' || unit === 'x' || unit === 'calls' ? '' : ` (${unit})`} | ${cell(ours)} | ${cell(get('bullmq'))} | ${cell(get('groupmq'))} | ${PEERS.map((p) => ratio(ours, get(p))).join(' | ')} |`)
  }
  const limits = rows.filter((r) => r.system === 'limit')
  if (limits.length > 0) {
    out.push('')
    out.push('| limit (one ioredis connection, same run) | value |')
    out.push('|---|---|')
    for (const r of limits) out.push(`| ${r.metric} (${r.unit}) | ${cell(r)} |`)
  }
  return out.join('\n')
}

interface Check {
  target: string
  measured: string
  pass: boolean | null
  /** Set when the target asks for more than a ceiling measured in the same run allows any system. */
  ceiling?: string
}

/** many-queues metric: slots that can be busy ÷ the mean measured handler time — no system can go faster. */
export const CEILING = 'ceiling: slots ÷ mean handler time'

/** The issue's targets, checked against this run's medians. */
export function targets (rows: Row[]): Check[] {
  const get = (scenario: string, system: RowSystem, metric: string): number | undefined =>
    rows.find((r) => r.scenario === scenario && r.system === system && r.metric === metric)?.value
  const checks: Check[] = []
  const add = (target: string, ours: number | undefined, bound: number | undefined, op: '>=' | '<=', show: (a: number, b: number) => string): void => {
    if (ours === undefined || bound === undefined) {
      checks.push({ target, measured: 'not measured', pass: null })
      return
    }
    checks.push({ target, measured: show(ours, bound), pass: op === '>=' ? ours >= bound : ours <= bound })
  }
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}×`
  const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`
  /** Marks the last check as beyond `ceiling` when its bound is above it. */
  const beyond = (bound: number | undefined, ceiling: number | undefined, what: string): void => {
    const last = checks[checks.length - 1]
    if (bound !== undefined && ceiling !== undefined && bound > ceiling) last.ceiling = `needs ${rate(bound)}; ${what} allow ${rate(ceiling)}`
  }
  const drain = get('serial-drain', 'fastify-fifo', 'tasks/s')
  const seqEval = get('limit', 'limit', 'sequential EVALSHA')
  const pipeEval = get('limit', 'limit', 'pipelined EVALSHA (100 in flight)')
  const bullDrain = get('serial-drain', 'bullmq', 'tasks/s')
  const groupDrain = get('serial-drain', 'groupmq', 'tasks/s')
  // Run n+1 may start only once n's completion is stored: one round trip per task at least.
  const oneTrip = 'sequential EVALSHA round trips (one per task)'
  add('serial-drain ≥ 4× BullMQ', drain, bullDrain === undefined ? undefined : 4 * bullDrain, '>=', (a, b) => x(a, b / 4))
  beyond(bullDrain === undefined ? undefined : 4 * bullDrain, seqEval, oneTrip)
  add('serial-drain ≥ 2× GroupMQ', drain, groupDrain === undefined ? undefined : 2 * groupDrain, '>=', (a, b) => x(a, b / 2))
  beyond(groupDrain === undefined ? undefined : 2 * groupDrain, seqEval, oneTrip)
  add('serial-drain ≥ 0.7× sequential EVALSHA', drain, seqEval === undefined ? undefined : 0.7 * seqEval, '>=', (a, b) => x(a, b / 0.7))
  const enqSeq = get('enqueue-seq', 'fastify-fifo', 'calls/s')
  add('enqueue-seq ≥ 0.8× sequential EVALSHA', enqSeq, seqEval === undefined ? undefined : 0.8 * seqEval, '>=', (a, b) => x(a, b / 0.8))
  const enqCon = get('enqueue-concurrent', 'fastify-fifo', 'calls/s')
  const conBound = pipeEval === undefined ? 50_000 : Math.min(50_000, 0.7 * pipeEval)
  add('enqueue-concurrent ≥ 50,000/s or ≥ 0.7× pipelined EVALSHA', enqCon, conBound, '>=', (a) => `${Math.round(a).toLocaleString('en-US')}/s = ${pipeEval === undefined ? '?' : x(a, pipeEval)} pipelined`)
  const p50 = get('pickup-latency', 'fastify-fifo', 'p50')
  const p99 = get('pickup-latency', 'fastify-fifo', 'p99')
  add('pickup p50 ≤ 0.5 ms', p50, 0.5, '<=', (a) => `${a.toFixed(2)} ms`)
  add('pickup p99 ≤ 2 ms', p99, 2, '<=', (a) => `${a.toFixed(2)} ms`)
  const bp50 = get('pickup-latency', 'bullmq', 'p50')
  const bp99 = get('pickup-latency', 'bullmq', 'p99')
  // The task cannot start before its enqueue is stored: one round trip from an idle process at least.
  const idleTrip = (p: string): number | undefined => rows.find((r) => r.scenario === 'limit' && r.metric === `PING after 10–30 ms idle, ${p}`)?.value
  const below = (bound: number | undefined, floor: number | undefined): void => {
    const last = checks[checks.length - 1]
    if (bound !== undefined && floor !== undefined && bound < floor * 1.25) last.ceiling = `needs ≤ ${bound.toFixed(2)} ms; one idle PING round trip alone takes ${floor.toFixed(2)} ms`
  }
  add('pickup p50 ≤ ⅓ BullMQ', p50, bp50 === undefined ? undefined : bp50 / 3, '<=', (a, b) => x(a, b * 3))
  below(bp50 === undefined ? undefined : bp50 / 3, idleTrip('p50'))
  add('pickup p99 ≤ ⅓ BullMQ', p99, bp99 === undefined ? undefined : bp99 / 3, '<=', (a, b) => x(a, b * 3))
  below(bp99 === undefined ? undefined : bp99 / 3, idleTrip('p99'))
  for (const scenario of [...new Set(rows.filter((r) => r.scenario.startsWith('many-queues:')).map((r) => r.scenario))]) {
    const v = get(scenario, 'fastify-fifo', 'order violations')
    add(`${scenario} 0 order violations`, v, 0, '<=', (a) => `${a}`)
    const g = get(scenario, 'groupmq', 'tasks/s')
    add(`${scenario} ≥ 1.5× GroupMQ`, get(scenario, 'fastify-fifo', 'tasks/s'), g === undefined ? undefined : 1.5 * g, '>=', (a, b) => x(a, b / 1.5))
    beyond(g === undefined ? undefined : 1.5 * g, get(scenario, 'fastify-fifo', CEILING), 'the slots and the handlers\' own sleep time')
  }
  const wide = rows.find((r) => r.scenario === 'wide' && r.system === 'fastify-fifo')
  add(`wide: ${wide?.metric ?? 'many ÷ few queues'} ≥ 0.8`, wide?.value, 0.8, '>=', (a) => `${a.toFixed(2)}×`)
  const mem = get('memory', 'fastify-fifo', 'bytes per pending task')
  const bmem = get('memory', 'bullmq', 'bytes per pending task')
  add('memory ≤ ⅓ BullMQ', mem, bmem === undefined ? undefined : bmem / 3, '<=', (a, b) => `${Math.round(a)} B = ${x(a, b * 3)}`)
  add('http enqueue route ≥ 0.6× plain route', get('http', 'fastify-fifo', 'enqueue ÷ plain req/s'), 0.6, '>=', (a) => `${a.toFixed(2)}×`)
  return checks
}

export function targetTable (checks: Check[]): string {
  const out = ['| target | fastify-fifo | met | above a ceiling of this run? |', '|---|---|---|---|']
  for (const c of checks) out.push(`| ${c.target} | ${c.measured} | ${c.pass === null ? '–' : c.pass ? 'yes' : '**no**'} | ${c.ceiling ?? ''} |`)
  return out.join('\n')
}

/** The opt-in pipelined-acks drain next to the peers' (safe-by-design) drains of the same run. Not a target: it gives up order across crashes. */
export function optInLine (rows: Row[], scenario: string): string | null {
  const get = (sc: string, system: RowSystem): number | undefined =>
    rows.find((r) => r.scenario === sc && r.system === system && r.metric === 'tasks/s')?.value
  const ours = get(scenario, 'fastify-fifo')
  if (ours === undefined) return null
  const parts = [`${scenario}: ${Math.round(ours).toLocaleString('en-US')} tasks/s`]
  const safe = get('serial-drain', 'fastify-fifo')
  if (safe !== undefined) parts.push(`${(ours / safe).toFixed(2)}× the default mode`)
  for (const [system, label] of [['bullmq', 'BullMQ'], ['groupmq', 'GroupMQ'], ['limit', 'sequential EVALSHA']] as const) {
    const peer = system === 'limit' ? rows.find((r) => r.scenario === 'limit' && r.metric === 'sequential EVALSHA')?.value : get('serial-drain', system)
    if (peer !== undefined) parts.push(`${(ours / peer).toFixed(2)}× ${label}`)
  }
  return `Opt-in, not the default (a crash can re-run a task after a later one started): ${parts.join(', ')}.`
}
