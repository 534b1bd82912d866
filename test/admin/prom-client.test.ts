import '../helpers/guard'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyMetrics from 'fastify-metrics'
import { Registry, register } from 'prom-client'
import t, { type Test } from 'tap'
import fifo, { type FifoOptions } from '../../plugin'
import { renderMetrics } from '../../plugin/core/admin/prometheus'
import type { MetricsSource } from '../../plugin/core/metric-families'
import { Metrics } from '../../plugin/core/metrics'
import { attachMetrics, type PromRegistry } from '../../plugin/core/prom'
import { until } from '../helpers/app'
import { parsePrometheusText, sampleValue, type Family } from './prometheus-parser'

const quiet = { warn () {}, info () {}, error () {}, debug () {}, trace () {}, fatal () {}, child () { return quiet } } as never

async function fifoApp (t: Test, opts: Partial<FifoOptions>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(async () => await app.close())
  await app.register(fifo, { leaseMs: 600, sweepMs: 50, ...opts })
  return app
}

/** Defines a task on `app` that succeeds `ok` times and fails the rest; runs `count` of them. */
async function runTasks (app: FastifyInstance, count: number, failing = 0): Promise<void> {
  let runs = 0
  const work = app.fifo.define('work', { queue: (n: number) => `q${n % 2}`, attempts: 1, onExhausted: 'dead-letter' }, async (n: number) => {
    runs++
    if (n < failing) throw new Error(`task ${n} fails`)
  })
  await app.ready()
  for (let i = 0; i < count; i++) await work(i)
  await until(`${count} runs`, () => runs === count && app.fifo.store.overview().then((o) => o.pendingTasks === 0))
}

t.test('an app with fastify-metrics on prom-client\'s default registry shows both instances\' fifo metrics on its own /metrics, apart', async (t) => {
  const a = Fastify({ logger: false })
  t.teardown(async () => await a.close())
  await a.register(fastifyMetrics, { endpoint: '/metrics' })
  await a.register(fifo, { instanceId: 'a', metrics: true, leaseMs: 600, sweepMs: 50 })
  const b = await fifoApp(t, { instanceId: 'b', metrics: true })
  await runTasks(a, 3)
  await runTasks(b, 5, 2)

  const res = await a.inject('/metrics')
  t.equal(res.statusCode, 200)
  const families = parsePrometheusText(res.body)
  t.ok([...families.keys()].some((name) => name.startsWith('http_request')), 'fastify-metrics\' own families are there')
  t.ok(families.has('process_cpu_user_seconds_total'), 'and prom-client\'s default metrics')
  t.equal(families.get('fifo_tasks_completed_total')?.type, 'counter')
  t.equal(families.get('fifo_task_duration_seconds')?.type, 'histogram')
  t.equal(sampleValue(families, 'fifo_tasks_completed_total', { instance_id: 'a' }), 3)
  t.equal(sampleValue(families, 'fifo_tasks_completed_total', { instance_id: 'b' }), 3)
  t.equal(sampleValue(families, 'fifo_tasks_dead_lettered_total', { instance_id: 'a' }), 0)
  t.equal(sampleValue(families, 'fifo_tasks_dead_lettered_total', { instance_id: 'b' }), 2)
  t.equal(sampleValue(families, 'fifo_tasks_enqueued_total', { instance_id: 'b' }), 5)
  t.equal(sampleValue(families, 'fifo_task_duration_seconds_count', { instance_id: 'a' }), 3)
  t.equal(sampleValue(families, 'fifo_task_duration_seconds_count', { instance_id: 'b' }), 5)
  t.equal(sampleValue(families, 'fifo_task_duration_seconds_bucket', { instance_id: 'b', le: '+Inf' }), 5)
  t.equal(sampleValue(families, 'fifo_dead_letters', { instance_id: 'a' }), 0, 'store gauges are each instance\'s own store')
  t.equal(sampleValue(families, 'fifo_dead_letters', { instance_id: 'b' }), 2)
  t.equal(sampleValue(families, 'fifo_info', { instance_id: 'b', store: 'memory' }), 1)

  // <path>/metrics serves the same families from the registry, and only fastify-fifo's.
  const own = await a.inject('/fifo/metrics')
  t.equal(own.statusCode, 200)
  t.equal(own.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const ownFamilies = parsePrometheusText(own.body)
  t.same([...ownFamilies.keys()].filter((name) => !name.startsWith('fifo_')), [], 'no other families on <path>/metrics')
  t.equal(sampleValue(ownFamilies, 'fifo_tasks_completed_total', { instance_id: 'a' }), 3)

  // A closed instance's series go; the last one takes the families with it.
  await b.close()
  const after = parsePrometheusText((await a.inject('/metrics')).body)
  t.equal(sampleValue(after, 'fifo_tasks_completed_total', { instance_id: 'a' }), 3)
  t.notOk(after.get('fifo_tasks_completed_total')?.samples.some((s) => s.labels.instance_id === 'b'), 'b\'s counters are gone')
  t.notOk(after.get('fifo_task_duration_seconds')?.samples.some((s) => s.labels.instance_id === 'b'), 'b\'s histogram is gone')
  await a.close()
  t.equal(register.getSingleMetric('fifo_tasks_completed_total'), undefined, 'nothing left in the default registry')
})

t.test('a registry of the user\'s own; a store that cannot answer leaves its gauges out instead of failing the scrape', async (t) => {
  const registry = new Registry()
  const app = await fifoApp(t, { instanceId: 'solo', metrics: { registry } })
  await runTasks(app, 2)
  app.fifo.store.overview = async () => { throw new Error('store down') }
  const families = parsePrometheusText(await registry.metrics())
  t.equal(sampleValue(families, 'fifo_tasks_completed_total', { instance_id: 'solo' }), 2)
  t.same(families.get('fifo_pending_tasks')?.samples, [], 'no stale store gauge')
  t.equal(register.getSingleMetric('fifo_info'), undefined, 'the default registry is untouched')
})

function openMetrics (): Registry {
  const registry = new Registry()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never)
  return registry
}

t.test('the metrics option and registry clashes are refused with typed errors', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['a string', 'yes', /"metrics" option must be true/],
    ['no registry', {}, /"metrics" option must be true/],
    ['an unknown key', { registry: new Registry(), labels: {} }, /knows only "registry"/],
    ['an OpenMetrics registry', { registry: openMetrics() }, /must use the Prometheus text format/],
  ]
  for (const [label, metrics, message] of cases) {
    const app = Fastify({ logger: false })
    await t.rejects(async () => { await app.register(fifo, { metrics } as FifoOptions) }, { code: 'FST_FIFO_INVALID_OPTION', message }, label)
    await app.close()
  }
  const taken = new Registry()
  taken.registerMetric(new (require('prom-client').Gauge)({ name: 'fifo_pending_tasks', help: 'mine', registers: [] }))
  const app = Fastify({ logger: false })
  await t.rejects(async () => { await app.register(fifo, { metrics: { registry: taken } }) }, { code: 'FST_FIFO_INVALID_OPTION', message: /already has a metric named fifo_pending_tasks/ })
  await app.close()
  t.equal(taken.getSingleMetric('fifo_info'), undefined, 'a refused registration leaves nothing behind')

  const shared = new Registry()
  await fifoApp(t, { instanceId: 'same', metrics: { registry: shared } })
  const twin = Fastify({ logger: false })
  await t.rejects(async () => { await twin.register(fifo, { instanceId: 'same', metrics: { registry: shared } }) }, { code: 'FST_FIFO_INVALID_OPTION', message: /"same" is already used/ })
  await twin.close()
})

t.test('the hand-written exposition (used without prom-client) and prom-client\'s show the same families, labels and values', async (t) => {
  const metrics = new Metrics()
  const source: MetricsSource = {
    instanceId: 'i "1"',
    storeKind: 'redis',
    version: '9.9.9',
    metrics,
    heldLeases: () => 4,
    overview: async () => ({
      now: 0,
      queues: 9,
      waiting: 3,
      running: 2,
      retrying: 1,
      halted: 1,
      paused: 1,
      missingHandler: 1,
      throttled: 0,
      pendingTasks: 40,
      deadLetters: 7,
      liveInstances: 2,
      completedLastMinute: 0,
      failedLastMinute: 0,
      series: [],
      oldestHeadAgeMs: 1500,
    }),
  }
  const registry = new Registry()
  const attached = attachMetrics(registry as unknown as PromRegistry, source, quiet)
  t.teardown(attached.detach)
  Object.assign(metrics, { completed: 11, failed: 3, retried: 2, deadLettered: 1, halted: 1, fenced: 1, enqueued: 15 })
  for (const ms of [0.5, 3, 40, 700, 70_000]) metrics.observeDuration(ms)

  const byHand = parsePrometheusText(await renderMetrics(source))
  const byProm = parsePrometheusText(await attached.render())
  const shape = (families: Map<string, Family>) => [...families.values()]
    .map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, value: Math.round(s.value * 1e6) / 1e6 })).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))) }))
    .sort((x, y) => x.name.localeCompare(y.name))
  t.same(shape(byProm), shape(byHand))
  t.equal(sampleValue(byProm, 'fifo_task_duration_seconds_bucket', { le: '0.001' }), 1)
  t.equal(sampleValue(byProm, 'fifo_task_duration_seconds_bucket', { le: '60' }), 4)
  t.equal(sampleValue(byProm, 'fifo_queues', { state: 'missing-handler' }), 1)
  t.equal(sampleValue(byProm, 'fifo_head_age_max_seconds'), 1.5)
})
