import '../helpers/guard'
import t from 'tap'
import { MultiCluster, sleep } from './cluster'

// One Fastify and one Express process on one namespace, sharing the queues.

const QUEUES = 100
const TASKS = 20

t.test('a Fastify and an Express instance share one namespace: each task once, in order, never overlapping; closing Express hands its queues to Fastify within 1 s', async (t) => {
  const cluster = await MultiCluster.start(0, { leaseMs: 5000, sweepMs: 100, concurrency: 8 })
  t.teardown(() => cluster.close())
  const fastify = await cluster.spawn({ adapter: 'fastify' })
  const express = await cluster.spawn({ adapter: 'express' })

  // 100 queues × 20 tasks, enqueued through both servers' routes (alternating per task);
  // each queue's tasks in sequence, the queues side by side.
  const names = Array.from({ length: QUEUES }, (_, i) => `mixed:${i}`)
  for (let batch = 0; batch < QUEUES; batch += 25) {
    await Promise.all(names.slice(batch, batch + 25).map(async (queue, i) => {
      for (let seq = 1; seq <= TASKS; seq++) await cluster.enqueue((seq + i) % 2 === 0 ? fastify : express, queue, seq, { ms: 1 })
    }))
  }
  const deadline = Date.now() + 60_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
  const ranOn = new Set(cluster.seen.filter((e) => e.event.type === 'start').map((e) => e.inst))
  t.same([...ranOn].sort(), [fastify.inst, express.inst].sort(), 'both instances ran tasks')

  // Hand-over: heads that work 700 ms, so Express is mid-task when it closes.
  const handQueues = ['hand:1', 'hand:2', 'hand:3', 'hand:4', 'hand:5', 'hand:6']
  for (const q of handQueues) await cluster.enqueue(express, q, 1, { ms: 700 })
  for (const q of handQueues) for (let seq = 2; seq <= 3; seq++) await cluster.enqueue(seq % 2 === 0 ? fastify : express, q, seq, { ms: 20 })
  const starts = (q: string, seq: number) => cluster.seen.find((e) => e.event.type === 'start' && (e.event as { queue: string }).queue === q && (e.event as { seq: number }).seq === seq)
  await cluster.waitFor('task 1 of every hand-over queue to start', () => handQueues.every((q) => starts(q, 1) !== undefined))
  const held = handQueues.filter((q) => starts(q, 1)?.inst === express.inst)
  t.ok(held.length > 0, `${express.inst} (Express) holds ${held.join(', ')}`)
  await sleep(100)
  cluster.fault(express.inst, 'term')
  await express.term()
  for (const q of held) {
    const end = cluster.seen.find((e) => e.inst === express.inst && e.event.type === 'end' && (e.event as { queue: string }).queue === q)
    const next = await cluster.waitFor(`${q} to go on on Fastify`, (e) => e.inst === fastify.inst && e.event.type === 'start' && (e.event as { queue: string }).queue === q, 10_000)
    t.ok(end !== undefined, `Express finished its running head of ${q} before closing`)
    const gap = next.at - (end?.at ?? next.at)
    t.ok(gap < 1000, `${q} continued on Fastify ${gap} ms after Express let go of it (lease is 5000 ms)`)
  }

  const drained = Date.now() + 15_000
  while (await cluster.pending() > 0 && Date.now() < drained) await sleep(100)
  const report = await cluster.check(5000)
  const total = QUEUES * TASKS + handQueues.length * 3
  t.same(report.violations, [])
  t.match(report, { accepted: total, settled: total, lost: 0, orderViolations: 0, unfencedOverlaps: 0, maxRuns: 1 })
})
