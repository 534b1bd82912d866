import '../helpers/guard'
import t from 'tap'
import { MultiCluster, sleep } from './cluster'

// G1/G2 across processes, no faults: 3 server processes share one Redis;
// 100 queues × 30 tasks are enqueued interleaved through all three (task n of
// queue q through process (q + n) % 3), each queue's tasks one after another.
t.test('3 processes, 100 queues × 30 tasks: each task runs once, in enqueue order, never overlapping', async (t) => {
  const cluster = await MultiCluster.start(3, { concurrency: 8, burst: 10, ipcEvents: false })
  t.teardown(() => cluster.close())
  const queues = 100
  const perQueue = 30
  // 50 queues' producers at a time, each sending its queue's tasks in order.
  const lanes = 50
  for (let first = 0; first < queues; first += lanes) {
    await Promise.all(Array.from({ length: Math.min(lanes, queues - first) }, async (_, i) => {
      const q = first + i
      for (let seq = 1; seq <= perQueue; seq++) {
        await cluster.enqueue(cluster.procs[(q + seq) % 3], `q${q}`, seq, { ms: (q * 7 + seq) % 4 })
      }
    }))
  }
  const deadline = Date.now() + 60_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(200)

  const report = await cluster.check()
  t.equal(report.accepted, queues * perQueue, 'every enqueue was accepted')
  t.equal(report.settled, queues * perQueue, 'every task settled')
  t.equal(report.runs, queues * perQueue, 'one run per task')
  t.equal(report.maxRuns, 1, 'no task ran twice')
  t.equal(report.lost, 0)
  t.equal(report.orderViolations, 0, 'per-queue start order equals enqueue order')
  t.equal(report.unfencedOverlaps + report.fencedOverlaps, 0, 'no two tasks of one queue overlapped')
  t.equal(report.crashes, 0)
  t.same(report.violations, [])
  const ran = new Set(cluster.procs.map((p) => p.inst))
  t.equal(ran.size, 3)
})
