import '../helpers/guard'
import t from 'tap'
import { hrNow, readEvents, type ChaosEvent, type EndEvent, type LimiterPausedEvent, type StartEvent } from '../chaos/events'
import { MultiCluster, sleep } from './cluster'

// G9 across processes: a limiter's concurrency holds across three server
// processes, including a kill -9 of a holder; a handler's back-off pauses the
// limiter for every process. (The rate under load: limits-rate.test.ts.)

/**
 * The most runs open at once within [from, to) (µs, the machine-wide clock of
 * the event logs), from the handlers' start and end events; a killed process's
 * open runs end when it was killed.
 */
function peak (events: ChaosEvent[], killed: { inst: string, hr: number }, from = -Infinity, to = Infinity): number {
  const edges: Array<[number, number]> = []
  const open = new Set<string>()
  for (const e of events) {
    if (e.type !== 'start' && e.type !== 'end') continue
    const key = `${e.src}|${e.id}|${e.attempt}`
    if (e.type === 'start') { open.add(key); edges.push([e.hr, 1]) } else if (open.delete(key)) edges.push([e.hr, -1])
  }
  for (const key of open) if (key.startsWith(killed.inst + '|')) edges.push([killed.hr, -1])
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let max = 0
  let entered = false
  for (const [at, d] of edges) {
    if (at >= to) break
    if (at >= from && !entered) { entered = true; max = now }
    now += d
    if (at >= from) max = Math.max(max, now)
  }
  return entered ? max : now
}

t.test('concurrency 2 across three processes: never three running, and a killed holder\'s slot comes back after the lease', async (t) => {
  const leaseMs = 1500
  const cluster = await MultiCluster.start(3, { leaseMs, sweepMs: 100, concurrency: 4, limiter: { concurrency: 2 } })
  t.teardown(() => cluster.close())
  const [a, b, c] = cluster.procs
  await cluster.enqueue(a, 'victim', 1, { ms: 20, firstMs: 30_000 })
  const started = await cluster.waitFor('the victim to start', (e) => (e.event as { type: string, queue?: string }).type === 'start' && (e.event as { queue?: string }).queue === 'victim')
  // Enough work that the one slot left cannot finish it before the dead holder's slot expires.
  for (let seq = 1; seq <= 10; seq++) for (let q = 0; q < 8; q++) await cluster.enqueue([a, b, c][(q + seq) % 3], `q${q}`, seq, { ms: 30 })
  const holder = cluster.proc(started.inst)
  const killedHr = hrNow()
  holder.kill9()
  await holder.exited
  const deadline = Date.now() + 30_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
  t.equal(await cluster.pending(), 0, 'every task ran')
  const { events } = readEvents(cluster.dir)
  const killed = { inst: holder.inst, hr: killedHr }
  const max = peak(events, killed)
  t.ok(max <= 2, `at most 2 running at once across the processes (peak ${max})`)
  // The dead holder's slot was renewed at most a heartbeat (leaseMs / 3) before the kill, so it counts for ≥ 2/3 of a lease after it.
  const during = peak(events, killed, killedHr + 50_000, killedHr + (leaseMs * 2 / 3 - 100) * 1000)
  const after = peak(events, killed, killedHr + (leaseMs + 200) * 1000)
  t.ok(during <= 1, `while the killed holder's slot lives, it still counts: at most one other head runs at a time (${during})`)
  t.equal(after, 2, 'once its lease is over, the slot is back: two run at once again')
  // Read from the processes' own logs, written before the run settled: no IPC event can trail the pending count.
  const rerun = events.find((e) => e.type === 'start' && e.queue === 'victim' && e.hr > killedHr)
  t.ok(rerun !== undefined && rerun.src !== holder.inst, 'the killed holder\'s task ran again elsewhere')
})

t.test('a back-off across three processes: 3 runs on attempt 1, its place kept, the limiter paused for every process for the time given', async (t) => {
  const retryAfterMs = 800
  const cluster = await MultiCluster.start(3, { concurrency: 4, ipcEvents: false, limiter: { max: 1000, perMs: 1000 } })
  t.teardown(() => cluster.close())
  const procs = cluster.procs
  // Other queues under the same limiter (not its rate: 1000/s) keep every process busy throughout:
  // all of it is enqueued while an operator holds the limiter, so the work starts at once.
  const others = 9
  const perOther = 150
  await cluster.useStore(async (s) => { await s.pauseLimiter('shared', null) })
  await Promise.all(Array.from({ length: others }, async (_, q) => {
    for (let seq = 1; seq <= perOther; seq++) await cluster.enqueue(procs[(q + seq) % 3], `o${q}`, seq, { ms: 20 })
  }))
  // Each run works 300 ms (the other queues go on meanwhile), then gets its "429".
  await cluster.enqueue(procs[0], 'victim', 1, { ms: 300, rateLimited: { times: 2, retryAfterMs } })
  await cluster.enqueue(procs[1], 'victim', 2, { ms: 5 })
  await cluster.useStore(async (s) => { await s.resumeLimiter('shared') })
  const deadline = Date.now() + 60_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
  const report = await cluster.check()
  t.equal(report.pending, 0, 'every task ran')
  t.equal(report.orderViolations, 0, 'per-queue order kept')
  t.equal(report.lost, 0)

  const { events } = readEvents(cluster.dir)
  const starts = events.filter((e): e is StartEvent & ChaosEvent => e.type === 'start')
  const victim = starts.filter((e) => e.queue === 'victim' && e.seq === 1)
  const backedOff = events.filter((e): e is EndEvent & ChaosEvent => e.type === 'end' && e.queue === 'victim' && e.outcome === 'backed-off')
  const paused = events.filter((e): e is LimiterPausedEvent & ChaosEvent => e.type === 'limiter-paused')
  t.equal(victim.length, 3, 'the task that backed off twice ran three times')
  t.same(victim.map((e) => e.attempt), [1, 1, 1], 'attempt still 1: back-offs use no attempt')
  t.equal(report.attemptAnomalies, 1, 'the only task whose runs did not count up attempts is the one that backed off')
  t.equal(backedOff.length, 2)
  t.same(paused.map((e) => [e.limiter, e.ms]), [['shared', retryAfterMs], ['shared', retryAfterMs]], 'each back-off paused the limiter for the time given')
  const next = starts.find((e) => e.queue === 'victim' && e.seq === 2)
  const lastEnd = events.filter((e) => e.type === 'end' && e.queue === 'victim' && e.seq === 1).at(-1)
  t.ok(next !== undefined && lastEnd !== undefined && next.hr > lastEnd.hr, 'it kept its place: the task behind it started after its third run ended')

  // From the history, on the store clock (grant times) and the wall clock of the same machine (event times):
  // from when each pause was in the store until back-off + retryAfterMs, no process got a token. (A grant
  // in the very ms the pause call returned may have come just before the pause: ms are the clocks' grain.)
  const grants = starts.filter((e) => e.grantedAt !== undefined && e.queue !== 'victim')
  for (const [k, off] of backedOff.entries()) {
    const inStore = paused.find((p) => p.src === off.src && p.hr >= off.hr)
    if (inStore === undefined) { t.fail(`back-off ${k + 1}: no pause recorded`); continue }
    const resumeAt = off.t + retryAfterMs
    const during = grants.filter((g) => g.grantedAt! > inStore.t && g.grantedAt! < resumeAt)
    const after = grants.filter((g) => g.grantedAt! > inStore.t).map((g) => g.grantedAt!)
    const firstAfter = after.length === 0 ? Infinity : Math.min(...after)
    t.comment(`back-off ${k + 1} on ${off.src}: pause in the store ${inStore.t - off.t} ms after the throw; other queues' next token ${firstAfter - off.t} ms after it (retryAfterMs ${retryAfterMs})`)
    t.equal(during.length, 0, `back-off ${k + 1}: no token for any queue on any process while paused`)
    for (const p of procs) {
      const mine = grants.filter((g) => g.src === p.inst).map((g) => g.grantedAt!)
      t.ok(mine.some((g) => g < off.t && g >= off.t - 500) && mine.some((g) => g >= resumeAt && g < resumeAt + 500),
        `back-off ${k + 1}: ${p.inst} took tokens just before and right after the pause (it had queues to stop)`)
    }
    const rerun = victim[k + 1]
    t.ok(rerun.grantedAt! >= resumeAt, `back-off ${k + 1}: the task itself ran again ${rerun.grantedAt! - off.t} ms after it threw (≥ ${retryAfterMs})`)
  }
})
