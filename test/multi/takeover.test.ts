import '../helpers/guard'
import t from 'tap'
import type { EventBody } from '../chaos/events'
import { MultiCluster, sleep, type SeenEvent } from './cluster'

const is = (type: EventBody['type'], queue: string, seq: number, attempt?: number) => (e: SeenEvent): boolean => {
  const ev = e.event as { type: string, queue?: string, seq?: number, attempt?: number }
  return ev.type === type && ev.queue === queue && ev.seq === seq && (attempt === undefined || ev.attempt === attempt)
}

async function drain (cluster: MultiCluster, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
}

t.test('kill -9 of the holder mid-task: another instance takes the queue within leaseMs + one sweep, re-runs the task as attempt 2, then goes on in order', async (t) => {
  const leaseMs = 1500
  const sweepMs = 100
  const cluster = await MultiCluster.start(3, { leaseMs, sweepMs })
  t.teardown(() => cluster.close())
  const [a, b, c] = cluster.procs
  await cluster.enqueue(a, 'crash', 1, { ms: 5, firstMs: 30_000 })
  for (let seq = 2; seq <= 6; seq++) await cluster.enqueue([a, b, c][seq % 3], 'crash', seq, { ms: 5 })

  const started = await cluster.waitFor('task 1 to start', is('start', 'crash', 1, 1))
  const holder = cluster.proc(started.inst)
  await sleep(100)
  const killedAt = Date.now()
  cluster.fault(holder.inst, 'kill')
  holder.kill9()
  await holder.exited

  const again = await cluster.waitFor('task 1 to run again', (e) => e.inst !== holder.inst && is('start', 'crash', 1)(e), 15_000)
  const takeoverMs = again.at - killedAt
  t.not(again.inst, holder.inst, `taken over by ${again.inst}`)
  t.equal((again.event as { attempt: number }).attempt, 2, 'the interrupted task runs again with attempt 2')
  // The contract bound, with room for a loaded 2-core machine to schedule the processes.
  t.ok(takeoverMs <= leaseMs + sweepMs + 750, `takeover in ${takeoverMs} ms (leaseMs ${leaseMs} + sweepMs ${sweepMs})`)

  await drain(cluster)
  const report = await cluster.check()
  t.same(report.violations, [])
  t.match(report, { accepted: 6, settled: 6, lost: 0, orderViolations: 0, unfencedOverlaps: 0, maxRuns: 2 })
  t.equal(report.takeoversMs.length, 1)
})

t.test('SIGSTOP past the lease: another instance takes over; on SIGCONT the stale run is fenced, its signal fires, and the task is acknowledged once', async (t) => {
  const leaseMs = 1000
  const cluster = await MultiCluster.start(2, { leaseMs, sweepMs: 100 })
  t.teardown(() => cluster.close())
  const [a, b] = cluster.procs
  // Attempt 1 works 600 ms: it is due while its process is frozen, so it finishes the moment it wakes.
  await cluster.enqueue(a, 'frozen', 1, { ms: 5, firstMs: 600 })
  for (let seq = 2; seq <= 5; seq++) await cluster.enqueue([a, b][seq % 2], 'frozen', seq, { ms: 5 })

  const started = await cluster.waitFor('task 1 to start', is('start', 'frozen', 1, 1))
  const stale = cluster.proc(started.inst)
  await sleep(50)
  cluster.fault(stale.inst, 'stop')
  stale.stop()
  const taken = await cluster.waitFor('another instance to run task 1', (e) => e.inst !== stale.inst && is('start', 'frozen', 1)(e), 10_000)
  t.equal((taken.event as { attempt: number }).attempt, 2)
  await cluster.waitFor('the queue to move on', (e) => e.inst !== stale.inst && is('end', 'frozen', 3)(e), 10_000)
  await sleep(leaseMs)
  cluster.fault(stale.inst, 'cont')
  stale.cont()

  const aborted = await cluster.waitFor('the stale run\'s signal to fire', (e) => e.inst === stale.inst && is('abort', 'frozen', 1, 1)(e), 10_000)
  t.equal((aborted.event as { reason: string }).reason, 'FST_FIFO_LEASE_LOST', 'aborted because the lease was lost')
  await drain(cluster)
  await sleep(200)
  const staleSettles = cluster.seen.filter((e) => e.inst === stale.inst && is('settle', 'frozen', 1, 1)(e)).map((e) => (e.event as { result: string }).result)
  t.notOk(staleSettles.includes('ok'), `the store never accepted the stale completion (answers: ${JSON.stringify(staleSettles)})`)
  if (staleSettles.includes('fenced')) t.pass('the stale holder tried to complete and the store rejected its token')
  else t.comment('the stale holder learned of the lost lease from its heartbeat before it tried to complete')
  const accepted = cluster.seen.filter((e) => is('settle', 'frozen', 1)(e) && (e.event as { result: string, op: string }).result === 'ok')
  t.equal(accepted.length, 1, 'task 1 acknowledged exactly once')

  const report = await cluster.check(leaseMs)
  t.same(report.violations, [])
  t.match(report, { accepted: 5, settled: 5, lost: 0, orderViolations: 0, unfencedOverlaps: 0, duplicateSettlements: 0 })
})
