import '../helpers/guard'
import t from 'tap'
import { MultiCluster, sleep } from './cluster'

t.test('closing an instance (app.close()) while it holds queues lets another continue them within 1 s', async (t) => {
  const cluster = await MultiCluster.start(2, { leaseMs: 5000, sweepMs: 100, concurrency: 8 })
  t.teardown(() => cluster.close())
  const [a, b] = cluster.procs
  const queues = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6']
  // Task 1 of each queue works 700 ms, so the closing instance is mid-task when close() begins.
  for (const q of queues) await cluster.enqueue(b, q, 1, { ms: 700 })
  for (const q of queues) for (let seq = 2; seq <= 4; seq++) await cluster.enqueue(seq % 2 === 0 ? a : b, q, seq, { ms: 20 })
  // The lease (5 s) is long: anything faster than that is a hand-over, not a crash takeover.
  const starts = (q: string, seq: number) => cluster.seen.find((e) => e.event.type === 'start' && (e.event as { queue: string }).queue === q && (e.event as { seq: number }).seq === seq)
  await cluster.waitFor('task 1 of every queue to start', () => queues.every((q) => starts(q, 1) !== undefined))
  const held = queues.filter((q) => starts(q, 1)?.inst === a.inst)
  if (held.length === 0) {
    t.comment(`${a.inst} took none of the queues; closing ${b.inst} instead`)
  }
  const closing = held.length > 0 ? a : b
  const handed = queues.filter((q) => starts(q, 1)?.inst === closing.inst)
  const other = closing === a ? b : a
  t.ok(handed.length > 0, `${closing.inst} holds ${handed.join(', ')}`)
  await sleep(100)
  cluster.fault(closing.inst, 'term')
  await closing.term()

  for (const q of handed) {
    const end = cluster.seen.find((e) => e.inst === closing.inst && e.event.type === 'end' && (e.event as { queue: string }).queue === q)
    const next = await cluster.waitFor(`${q} to go on on ${other.inst}`, (e) => e.inst === other.inst && e.event.type === 'start' && (e.event as { queue: string }).queue === q, 10_000)
    t.ok(end !== undefined, `${closing.inst} finished its running head of ${q} before closing`)
    const gap = next.at - (end?.at ?? next.at)
    t.ok(gap < 1000, `${q} continued on ${other.inst} ${gap} ms after ${closing.inst} let go of it`)
  }

  const deadline = Date.now() + 15_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
  const report = await cluster.check(5000)
  t.same(report.violations, [])
  t.match(report, { accepted: 24, settled: 24, lost: 0, orderViolations: 0, unfencedOverlaps: 0, maxRuns: 1 })
})
