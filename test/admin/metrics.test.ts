import '../helpers/guard'
import t from 'tap'
import { until } from '../helpers/app'
import { forEachAdapter } from './adapters'
import { call } from './helpers'
import { parsePrometheusText, sampleValue } from './prometheus-parser'

/** The shape parse-prometheus-text-format's README documents (the package ships no types). */
interface ParsedFamily {
  name: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Array<{ labels?: Record<string, string>, value?: string, count?: string, sum?: string, buckets?: Record<string, string> }>
}
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[]

t.test('the strict parser refuses what Prometheus would refuse', async (t) => {
  const good = '# HELP a_total A counter.\n# TYPE a_total counter\na_total{x="1\\"q\\\\\\n"} 3\n'
  const families = parsePrometheusText(good)
  t.same(families.get('a_total')?.samples, [{ name: 'a_total', labels: { x: '1"q\\\n' }, value: 3 }])
  const bad: Array<[string, string]> = [
    ['no final newline', '# TYPE a gauge\na 1'],
    ['unterminated label', '# TYPE a gauge\na{x="1} 1\n'],
    ['bad escape', '# TYPE a gauge\na{x="\\t"} 1\n'],
    ['bad value', '# TYPE a gauge\na 1,5\n'],
    ['duplicate series', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['split family', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n'],
    ['negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['non-cumulative histogram', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf bucket differs from _count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['bad metric name', '# TYPE 1a gauge\n1a 1\n'],
  ]
  for (const [label, text] of bad) t.throws(() => parsePrometheusText(text), label)
})

forEachAdapter(t, async (t, adapter) => {
  t.test('/fifo/metrics: valid Prometheus text with queue gauges, task counters and the duration histogram', async (t) => {
    // Quotes, a backslash and a space in a label value exercise the escaping.
    const instanceId = 'web "1" \\ blue'
    const app = await adapter.app(t, { instanceId, dashboard: { auth: async () => {} } })
    let calls = 0
    const ok = app.fifo.define('ok', { queue: (n: number) => `ok:${n % 3}` }, async (n: number) => { t.type(n, 'number') })
    const flaky = app.fifo.define('flaky', { queue: 'stuck', attempts: 2, backoff: 1 }, async () => {
      calls++
      throw new Error('always')
    })
    await app.ready()
    for (let i = 0; i < 6; i++) await ok(i)
    await flaky()
    await flaky()
    await until('six tasks ran and the flaky queue halted', async () => {
      const o = await app.fifo.store.overview()
      return o.halted === 1 && o.pendingTasks === 2 && calls === 2 && o.completedLastMinute === 6
    })

    const res = await call(app, 'GET', '/fifo/metrics')
    t.equal(res.status, 200)
    t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
    const families = parsePrometheusText(res.raw)

    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))
    t.match(types, {
      fifo_info: 'gauge',
      fifo_queues: 'gauge',
      fifo_halted_queues: 'gauge',
      fifo_pending_tasks: 'gauge',
      fifo_dead_letters: 'gauge',
      fifo_head_age_max_seconds: 'gauge',
      fifo_live_instances: 'gauge',
      fifo_held_leases: 'gauge',
      fifo_tasks_enqueued_total: 'counter',
      fifo_tasks_completed_total: 'counter',
      fifo_tasks_failed_total: 'counter',
      fifo_tasks_retried_total: 'counter',
      fifo_tasks_dead_lettered_total: 'counter',
      fifo_queue_halts_total: 'counter',
      fifo_task_duration_seconds: 'histogram',
    })
    for (const f of families.values()) t.ok(f.help !== null && f.help.length > 0, `${f.name} has HELP`)

    t.equal(sampleValue(families, 'fifo_info', { instance_id: instanceId, store: 'memory' }), 1, 'label values are escaped and read back intact')
    t.equal(sampleValue(families, 'fifo_halted_queues'), 1)
    t.equal(sampleValue(families, 'fifo_queues', { state: 'halted' }), 1)
    t.equal(sampleValue(families, 'fifo_queues', { state: 'running' }), 0)
    t.equal(sampleValue(families, 'fifo_pending_tasks'), 2, 'queue depth total')
    t.equal(sampleValue(families, 'fifo_live_instances'), 1)
    t.ok(sampleValue(families, 'fifo_head_age_max_seconds') > 0, 'the halted head has an age')
    t.equal(sampleValue(families, 'fifo_held_leases'), 0)
    t.equal(sampleValue(families, 'fifo_tasks_enqueued_total'), 8)
    t.equal(sampleValue(families, 'fifo_tasks_completed_total'), 6)
    t.equal(sampleValue(families, 'fifo_tasks_failed_total'), 2)
    t.equal(sampleValue(families, 'fifo_tasks_retried_total'), 1)
    t.equal(sampleValue(families, 'fifo_queue_halts_total'), 1)
    t.equal(sampleValue(families, 'fifo_task_duration_seconds_count'), 8, 'every run is observed')
    t.equal(sampleValue(families, 'fifo_task_duration_seconds_bucket', { le: '+Inf' }), 8)
    t.ok(sampleValue(families, 'fifo_task_duration_seconds_sum') >= 0)
    t.equal(sampleValue(families, 'fifo_task_duration_seconds_bucket', { le: '60' }), 8, 'bucket bounds are in seconds')

    // A second, independent parser agrees.
    const other = parsePrometheusTextFormat(res.raw)
    t.equal(other.length, families.size)
    const histogram = other.find((f) => f.name === 'fifo_task_duration_seconds')
    t.equal(histogram?.type, 'HISTOGRAM')
    // (this parser drops _count and _sum of a labelled histogram; its +Inf bucket is the count)
    t.equal(histogram?.metrics[0].buckets?.['+Inf'], '8')
    t.equal(other.find((f) => f.name === 'fifo_info')?.metrics[0].labels?.instance_id, instanceId)
  })

  t.test('/fifo/metrics is behind the auth hook like everything else', async (t) => {
    const app = await adapter.app(t, { worker: false, dashboard: { auth: async () => { throw Object.assign(new Error('scraper token missing'), { statusCode: 401 }) } } })
    await app.ready()
    const res = await call(app, 'GET', '/fifo/metrics')
    t.equal(res.status, 401)
    t.equal(res.body.code, 'FST_FIFO_UNAUTHORIZED')
  })
})
