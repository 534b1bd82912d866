import '../helpers/guard'
import t from 'tap'
import type { ChaosEvent, EventBody } from './events'
import { checkHistory, detailLine, percentile, summaryLine, type CheckOptions, type FinalState } from './checker'

/**
 * The checker proven on synthetic histories: one clean history per allowed
 * behaviour (crash re-runs, fenced overlaps, dead letters, phantoms) and one
 * per kind of violation, so a chaos run's "0" means the checker looked.
 * Times are in ms here and stored as µs like the real log.
 */
class Hist {
  events: ChaosEvent[] = []
  final: FinalState = { pending: [], dead: [] }

  at (ms: number, src: string, body: EventBody): this {
    this.events.push({ ...body, hr: ms * 1000, t: 0, src } as ChaosEvent)
    return this
  }

  enq (queue: string, seq: number, at = 0): this {
    return this.at(at, 'producer', { type: 'enqueue', ok: true, id: `${queue}#${seq}`, queue, seq, beganHr: at * 1000 })
  }

  /** A run of `queue#seq`; end null = it never ended. */
  run (inst: string, queue: string, seq: number, attempt: number, start: number, end: number | null, outcome: 'ok' | 'threw' | 'aborted' | 'zombie' = 'ok'): this {
    const ref = { id: `${queue}#${seq}`, queue, seq, attempt }
    this.at(start, inst, { type: 'start', ...ref })
    if (end !== null) this.at(end, inst, { type: 'end', ...ref, outcome })
    return this
  }

  abort (inst: string, queue: string, seq: number, attempt: number, at: number, reason: string): this {
    return this.at(at, inst, { type: 'abort', id: `${queue}#${seq}`, queue, seq, attempt, reason })
  }

  settle (inst: string, queue: string, seq: number, attempt: number, at: number, result: 'ok' | 'fenced', op: 'complete' | 'fail' = 'complete', outcome?: string): this {
    return this.at(at, inst, { type: 'settle', id: `${queue}#${seq}`, queue, seq, attempt, op, result, outcome })
  }

  claimed (inst: string, queue: string, seq: number, attempt: number, at: number): this {
    return this.at(at, inst, { type: 'claimed', id: `${queue}#${seq}`, queue, seq, attempt })
  }

  renewed (inst: string, queues: string[], at: number): this {
    return this.at(at, inst, { type: 'renewed', queues })
  }

  proc (inst: string, action: 'kill' | 'stop' | 'cont' | 'term' | 'crash' | 'exit', at: number): this {
    return this.at(at, 'runner', { type: 'proc', inst, action })
  }

  check (options: Partial<CheckOptions> = {}) {
    return checkHistory(this.events, this.final, { leaseMs: 1000, ...options })
  }
}

/** n tasks of `queue`, each run once on `inst`, 10 ms apart. */
function sequential (h: Hist, queue: string, n: number, inst = 'A', from = 0): Hist {
  for (let seq = 1; seq <= n; seq++) {
    h.enq(queue, seq, from)
    h.run(inst, queue, seq, 1, from + seq * 10, from + seq * 10 + 5)
  }
  return h
}

t.test('a clean history passes', async (t) => {
  const h = sequential(sequential(new Hist(), 'q1', 3, 'A'), 'q2', 3, 'B')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { accepted: 6, settled: 6, succeeded: 6, lost: 0, orderViolations: 0, unfencedOverlaps: 0, maxRuns: 1 })
  t.equal(summaryLine(r), 'chaos: accepted=6 settled=6 lost=0 order_violations=0 unfenced_overlaps=0 max_runs=1 p99_takeover_ms=0')
  t.match(detailLine(r), /^chaos-detail: succeeded=6 dead=0 pending=0 /)
})

t.test('an accepted task that never settled and is not pending is lost', async (t) => {
  const h = sequential(new Hist(), 'q', 2).enq('q', 3)
  const r = h.check()
  t.equal(r.lost, 1)
  t.notOk(r.ok)
  t.equal(r.violations[0].kind, 'lost')
  t.equal(r.violations[0].id, 'q#3')
})

t.test('a task whose only run was killed mid-way and never re-ran is lost', async (t) => {
  const h = new Hist().enq('q', 1).run('A', 'q', 1, 1, 10, null).proc('A', 'kill', 20)
  const r = h.check()
  t.equal(r.lost, 1)
  t.notOk(r.ok)
})

t.test('pending tasks are not lost, but are stuck when the run was drained', async (t) => {
  const h = sequential(new Hist(), 'q', 2).enq('q', 3)
  h.final.pending.push({ id: 'q#3', queue: 'q' })
  const r = h.check()
  t.match(r, { lost: 0, pending: 1, settled: 2, ok: true })
  const drained = h.check({ expectDrained: true })
  t.notOk(drained.ok)
  t.equal(drained.violations[0].kind, 'stuck')
})

t.test('dead letters count as settled; the queue may move on after them', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, 20, 'threw').run('A', 'q', 1, 2, 30, 40, 'threw')
    .run('A', 'q', 2, 1, 50, 60)
  h.final.dead.push({ id: 'q#1', queue: 'q', reason: 'boom' })
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { settled: 2, deadLettered: 1, succeeded: 1, maxRuns: 2 })
})

t.test('task n+1 starting before task n ended is an order violation', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, 30).run('B', 'q', 2, 1, 20, 40)
  const r = h.check()
  t.equal(r.orderViolations, 1)
  t.notOk(r.ok)
  t.match(r.violations.find((v) => v.kind === 'order')?.detail, /seq 2 started on B .* before seq 1/)
})

t.test('task n+1 starting while task n failed and waits for its retry is an order violation', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, 20, 'threw')
    .run('A', 'q', 2, 1, 25, 30)
    .run('A', 'q', 1, 2, 40, 50)
  const r = h.check()
  t.ok(r.orderViolations >= 1)
  t.match(r.violations.find((v) => v.kind === 'order')?.detail, /seq 1 .* started again on A \(attempt 2\)/)
})

t.test('task n+1 running while task n never settled is an order violation', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, null).proc('A', 'kill', 15)
    .run('B', 'q', 2, 1, 2000, 2010)
  const r = h.check()
  t.equal(r.orderViolations, 1)
  t.equal(r.lost, 1)
})

t.test('task n+1 running while task n is still pending is an order violation', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2).run('B', 'q', 2, 1, 20, 30)
  h.final.pending.push({ id: 'q#1', queue: 'q' })
  const r = h.check()
  t.equal(r.orderViolations, 1)
  t.match(r.violations[0].detail, /still pending and had never run/)
})

t.test('a re-run after a crash is allowed; its takeover time is measured', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, null).proc('A', 'kill', 100)
    .run('B', 'q', 1, 2, 1300, 1310).run('B', 'q', 2, 1, 1320, 1330)
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { settled: 2, maxRuns: 2, runsHistogram: { 1: 1, 2: 1 }, takeoversMs: [1200], p99TakeoverMs: 1200 })
})

t.test('a run that starts just after the kill was logged (signal latency) ends with its process', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .claimed('A', 'q', 1, 1, 9).proc('A', 'kill', 10).run('A', 'q', 1, 1, 10.4, null).proc('A', 'exit', 30)
    .claimed('B', 'q', 1, 2, 1400).run('B', 'q', 1, 2, 1401, 1410).run('B', 'q', 2, 1, 1411, 1420)
  const r = h.check({ leaseMs: 100_000 })
  t.ok(r.ok, JSON.stringify(r.violations))
  t.equal(r.fencedOverlaps + r.unfencedOverlaps, 0, 'a dead process runs nothing')
})

t.test('a run killed after its handler returned (before it was acknowledged) may run again', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 10, 20).proc('A', 'kill', 21)
    .run('B', 'q', 1, 2, 1300, 1310).run('B', 'q', 2, 1, 1320, 1330)
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.equal(r.maxRuns, 2)
})

t.test('a completion that ended the lease, its holder killed before logging the reply: settled, not lost', async (t) => {
  // The heartbeat after the completion no longer finds the lease (the completion emptied the
  // queue and ended it): lease-lost after the end is no evidence against the completion.
  const h = new Hist().enq('q', 1).enq('q', 2, 40)
    .run('A', 'q', 1, 1, 10, 20)
    .at(30, 'A', { type: 'lease-lost', queue: 'q' })
    .proc('A', 'kill', 31)
    .run('B', 'q', 2, 1, 50, 60).settle('B', 'q', 2, 1, 61, 'ok')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.equal(r.lost, 0)
})

t.test('a lease lost while the handler ran rules out its settlement: the task is lost if it is gone', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 10, 30)
    .at(20, 'A', { type: 'lease-lost', queue: 'q' })
    .proc('A', 'kill', 31)
  const r = h.check()
  t.equal(r.lost, 1, JSON.stringify(r.violations))
})

t.test('a holder frozen past its lease, then fenced when it wakes, is a fenced overlap and allowed', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 3010).proc('A', 'stop', 10).proc('A', 'cont', 3000)
    .run('B', 'q', 1, 2, 1500, 1600).run('B', 'q', 2, 1, 1600, 4000)
    .settle('A', 'q', 1, 1, 3011, 'fenced').abort('A', 'q', 1, 1, 3011, 'FST_FIFO_LEASE_LOST')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { unfencedOverlaps: 0, fencedOverlaps: 1, orderViolations: 0, maxRuns: 2, takeoversMs: [1490] })
})

t.test('the same freeze without any fencing evidence is an unfenced overlap', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 3010).proc('A', 'stop', 10).proc('A', 'cont', 3000)
    .run('B', 'q', 1, 2, 1500, 1600).run('B', 'q', 2, 1, 1600, 4000)
  const r = h.check()
  t.equal(r.unfencedOverlaps, 1)
  t.notOk(r.ok)
  t.match(r.violations.find((v) => v.kind === 'unfenced-overlap')?.detail, /B ran seq 2 attempt 1 while A was still running seq 1/)
})

t.test('a freeze is not executing: runs that only coincide with a frozen holder do not overlap', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 3010).proc('A', 'stop', 10).proc('A', 'cont', 3000)
    .run('B', 'q', 1, 2, 1500, 1600).run('B', 'q', 2, 1, 1600, 1700)
    .settle('A', 'q', 1, 1, 3011, 'fenced').abort('A', 'q', 1, 1, 3011, 'FST_FIFO_LEASE_LOST')
  const r = h.check()
  t.ok(r.ok)
  t.equal(r.fencedOverlaps, 0)
})

t.test('a process frozen between its claim and its handler\'s start began before the freeze: a fenced holder, not a late start', async (t) => {
  // A claims task 1 at 10 and freezes at 20 before the handler's first line; B takes over and runs
  // tasks 1 and 2; A wakes at 3000, its handler starts, its timeout has passed, its failure is fenced.
  const frozen = () => new Hist().enq('q', 1).enq('q', 2)
    .claimed('A', 'q', 1, 1, 10).proc('A', 'stop', 20).proc('A', 'cont', 3000)
    .claimed('B', 'q', 1, 2, 1590).run('B', 'q', 1, 2, 1600, 1700).settle('B', 'q', 1, 2, 1701, 'ok')
    .claimed('B', 'q', 2, 1, 1701).run('B', 'q', 2, 1, 1702, 3500).settle('B', 'q', 2, 1, 3501, 'ok')
  const h = frozen().run('A', 'q', 1, 1, 3001, 3003, 'aborted').abort('A', 'q', 1, 1, 3002, 'FST_FIFO_TIMEOUT').settle('A', 'q', 1, 1, 3004, 'fenced', 'fail')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.equal(r.attemptAnomalies, 0, 'attempts grow in the order the runs began')
  // The stop is logged just before the signal lands, so the claim can be logged a moment after it.
  const signalLag = frozen().claimed('A', 'q', 1, 1, 20.2).run('A', 'q', 1, 1, 3001, 3003, 'aborted').abort('A', 'q', 1, 1, 3002, 'FST_FIFO_TIMEOUT').settle('A', 'q', 1, 1, 3004, 'fenced', 'fail')
  t.ok(signalLag.check().ok, JSON.stringify(signalLag.check().violations))
  // The same start without the freeze: the worker claimed after B's takeover and started anyway.
  const late = new Hist().enq('q', 1).enq('q', 2)
    .claimed('B', 'q', 1, 2, 1590).run('B', 'q', 1, 2, 1600, 1700).settle('B', 'q', 1, 2, 1701, 'ok')
    .claimed('B', 'q', 2, 1, 1701).run('B', 'q', 2, 1, 1702, 3500).settle('B', 'q', 2, 1, 3501, 'ok')
    .renewed('B', ['q'], 2100).renewed('B', ['q'], 2500).renewed('B', ['q'], 2900).renewed('B', ['q'], 3300)
    .claimed('A', 'q', 1, 1, 2990).run('A', 'q', 1, 1, 3001, 3003)
  const r2 = late.check()
  t.notOk(r2.ok)
  t.ok(r2.orderViolations >= 1, 'task 1 started after task 2 began')
  t.ok(r2.unfencedOverlaps >= 1, 'and ran beside it')
})

t.test('a holder whose lease had surely run out when the next holder began is fenced, evidence or not', async (t) => {
  // A's last renewal reached it at 300; it froze at 400 and woke at 3000. With a 1000 ms lease its
  // lease ended by 1300, so B (from 1400) held the queue; A's brief wake-up overlaps B's run.
  const h = (bStart: number) => new Hist().enq('q', 1).enq('q', 2)
    .claimed('A', 'q', 1, 1, 0).run('A', 'q', 1, 1, 1, 3002, 'aborted').renewed('A', ['q'], 300)
    .proc('A', 'stop', 400).proc('A', 'cont', 3000).abort('A', 'q', 1, 1, 3001, 'FST_FIFO_TIMEOUT')
    .at(3003, 'A', { type: 'settle', id: 'q#1', queue: 'q', seq: 1, attempt: 1, op: 'fail', result: 'error', error: 'FST_FIFO_REDIS_UNAVAILABLE' })
    .claimed('B', 'q', 1, 2, bStart - 5).run('B', 'q', 1, 2, bStart, 3500).settle('B', 'q', 1, 2, 3501, 'ok')
    .run('B', 'q', 2, 1, 3502, 3510)
  const expired = h(1400).check()
  t.ok(expired.ok, JSON.stringify(expired.violations))
  t.equal(expired.fencedOverlaps, 1)
  const valid = h(1200).check()
  t.equal(valid.unfencedOverlaps, 1, 'B began while A\'s lease could still be valid')
})

t.test('a task dead-lettered without a run (its attempts spent by lost runs) is settled then; its frozen last run is fenced', async (t) => {
  // A runs task 1 (attempt 5 = the last), freezes; B claims attempt 6, which exceeds attempts, so it
  // dead-letters the task without running it and starts task 2. A wakes and is fenced.
  const h = new Hist().enq('q', 1).enq('q', 2)
    .claimed('A', 'q', 1, 5, 0).run('A', 'q', 1, 5, 1, 3010).renewed('A', ['q'], 300).proc('A', 'stop', 400).proc('A', 'cont', 3000)
    .at(3011, 'A', { type: 'settle', id: 'q#1', queue: 'q', seq: 1, attempt: 5, op: 'complete', result: 'error', error: 'FST_FIFO_REDIS_UNAVAILABLE' })
    .abort('A', 'q', 1, 5, 3012, 'FST_FIFO_LEASE_LOST').settle('A', 'q', 1, 5, 3013, 'fenced')
    .claimed('B', 'q', 1, 6, 1950).settle('B', 'q', 1, 6, 1951, 'ok', 'fail', 'dead')
    .claimed('B', 'q', 2, 1, 1952).run('B', 'q', 2, 1, 1953, 3500).renewed('B', ['q'], 2300).renewed('B', ['q'], 2800).renewed('B', ['q'], 3300)
  h.final.dead.push({ id: 'q#1', queue: 'q', reason: 'attempts spent' })
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { settled: 2, deadLettered: 1, orderViolations: 0, unfencedOverlaps: 0 })
  // A run of it that began after that dead-lettering would be a violation.
  const after = new Hist().enq('q', 1)
    .claimed('B', 'q', 1, 6, 1950).settle('B', 'q', 1, 6, 1951, 'ok', 'fail', 'dead')
    .claimed('C', 'q', 1, 7, 2500).run('C', 'q', 1, 7, 2501, 2510)
  after.final.dead.push({ id: 'q#1', queue: 'q', reason: 'attempts spent' })
  t.equal(after.check().orderViolations, 1)
})

t.test('two live holders running one queue at once is an unfenced overlap', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 100).run('B', 'q', 1, 2, 50, 60).run('B', 'q', 2, 1, 110, 120)
  const r = h.check()
  t.equal(r.unfencedOverlaps, 1)
  t.notOk(r.ok)
})

t.test('a fenced holder\'s late end is not a settlement', async (t) => {
  // A freezes; B takes task 1 over and is killed mid-run; A wakes, ends, is fenced.
  // Task 2 then runs, although no unfenced run of task 1 ever finished.
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 3010).proc('A', 'stop', 10).proc('A', 'cont', 3000)
    .run('B', 'q', 1, 2, 1500, null).proc('B', 'kill', 1600)
    .settle('A', 'q', 1, 1, 3011, 'fenced').abort('A', 'q', 1, 1, 3011, 'FST_FIFO_LEASE_LOST')
    .run('C', 'q', 2, 1, 3100, 3110)
  const r = h.check()
  t.notOk(r.ok)
  t.equal(r.lost, 1)
  t.equal(r.orderViolations, 1)
  t.match(r.violations.find((v) => v.kind === 'order')?.detail, /seq 1 .* never settled/)
})

t.test('a timed-out run that ignores its abort overlaps its retry, fenced', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, 5000, 'zombie').abort('A', 'q', 1, 1, 1000, 'FST_FIFO_TIMEOUT')
    .settle('A', 'q', 1, 1, 1001, 'ok', 'fail', 'retrying')
    .run('B', 'q', 1, 2, 1100, 1200).settle('B', 'q', 1, 2, 1201, 'ok')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { fencedOverlaps: 1, settled: 1 })
})

t.test('a completion whose answer was lost may have settled the task; one answered "fenced" did not', async (t) => {
  // The first complete ran in Redis but its reply was lost; the retry was fenced. Task 1 is
  // gone from the queue and task 2 ran after it: nothing was lost.
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 10)
    .at(11, 'A', { type: 'settle', id: 'q#1', queue: 'q', seq: 1, attempt: 1, op: 'complete', result: 'error', error: 'FST_FIFO_REDIS_UNAVAILABLE' })
    .settle('A', 'q', 1, 1, 2000, 'fenced').abort('A', 'q', 1, 1, 2001, 'FST_FIFO_LEASE_LOST')
    .run('B', 'q', 2, 1, 1900, 1910).settle('B', 'q', 2, 1, 1911, 'ok')
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { lost: 0, settled: 2 })
  // Only ever answered "fenced": the store refused it, so the task did not settle.
  const refused = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 10).settle('A', 'q', 1, 1, 11, 'fenced').abort('A', 'q', 1, 1, 12, 'FST_FIFO_LEASE_LOST')
    .run('B', 'q', 2, 1, 1900, 1910).settle('B', 'q', 2, 1, 1911, 'ok')
  const r2 = refused.check()
  t.equal(r2.lost, 1)
  t.equal(r2.orderViolations, 1)
})

t.test('two accepted settlements of one task are a duplicate settlement', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, 10).settle('A', 'q', 1, 1, 11, 'ok')
    .run('B', 'q', 1, 1, 5, 20).settle('B', 'q', 1, 1, 21, 'ok')
  const r = h.check()
  t.equal(r.duplicateSettlements, 1)
  t.notOk(r.ok)
})

t.test('a run that starts after its task\'s settlement was accepted is a violation', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, 10).settle('A', 'q', 1, 1, 11, 'ok')
    .run('B', 'q', 1, 2, 2000, 2010)
  const r = h.check()
  t.equal(r.orderViolations, 1)
  t.equal(r.violations[0].kind, 'rerun-after-settle')
})

t.test('a rejected completion whose AbortSignal never fired is an unsignalled fence', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, 10).settle('A', 'q', 1, 1, 11, 'fenced')
    .run('B', 'q', 1, 2, 20, 30).settle('B', 'q', 1, 2, 31, 'ok')
  const r = h.check()
  t.equal(r.unsignalledFences, 1)
  t.notOk(r.ok)
  const killed = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, 10).settle('A', 'q', 1, 1, 11, 'fenced').proc('A', 'kill', 12)
    .run('B', 'q', 1, 2, 20, 30).settle('B', 'q', 1, 2, 31, 'ok')
  t.ok(killed.check().ok, 'not judged when the process died before it could log the abort')
})

t.test('an instance exiting on its own is a crash', async (t) => {
  const h = sequential(new Hist(), 'q', 1).proc('A', 'crash', 100)
  const r = h.check()
  t.equal(r.crashes, 1)
  t.notOk(r.ok)
})

t.test('a task that ran although its enqueue call failed is a phantom, not a violation', async (t) => {
  const h = new Hist().enq('q', 1)
    .at(0, 'producer', { type: 'enqueue', ok: false, queue: 'q', seq: 2, beganHr: 0, error: 'FST_FIFO_REDIS_UNAVAILABLE' })
    .enq('q', 3)
    .run('A', 'q', 1, 1, 10, 20).run('A', 'q', 3, 1, 30, 40).run('A', 'q', 2, 1, 50, 60)
  const r = h.check()
  t.ok(r.ok, JSON.stringify(r.violations))
  t.match(r, { accepted: 2, phantoms: 1, rejectedEnqueues: 1, phantomOrderAnomalies: 1 })
})

t.test('graceful shutdown hand-over is measured separately', async (t) => {
  const h = new Hist().enq('q', 1).enq('q', 2)
    .run('A', 'q', 1, 1, 0, 100).proc('A', 'term', 50).proc('A', 'exit', 120)
    .run('B', 'q', 2, 1, 150, 160)
  const r = h.check()
  t.ok(r.ok)
  t.same(r.handoversMs, [50], 'timed from when A let go of the queue (its head ended at 100)')
  t.same(r.takeoversMs, [])
})

t.test('attempt numbers that do not grow are counted', async (t) => {
  const h = new Hist().enq('q', 1)
    .run('A', 'q', 1, 1, 0, null).proc('A', 'kill', 5)
    .run('B', 'q', 1, 1, 1200, 1210)
  t.equal(h.check().attemptAnomalies, 1)
})

t.test('percentile', async (t) => {
  t.equal(percentile([], 0.99), 0)
  t.equal(percentile([5], 0.99), 5)
  t.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99), 99)
  t.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 0.99), 990)
})
