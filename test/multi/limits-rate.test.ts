import '../helpers/guard'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import t from 'tap'
import { readEvents, type ChaosEvent, type StartEvent } from '../chaos/events'
import { MultiCluster, sleep } from './cluster'

// G9 under load, across processes: 3 server processes, 200 queues sharing one
// limiter of 50 per second, 20 s. The limit is a promise about the store's
// grants, so starts are timed where they are granted: ctx.limiter.grantedAt,
// the Redis TIME at which limit-acquire.lua counted the start (a handler's own
// clock runs a variable time behind it under load). Queues of a task without
// a limiter run meanwhile; their pace is set against a baseline taken in the
// same run, before the limited load. About 45 s in all.
//
// What the share of allowed starts (≥ 95 %) depends on: a freed token is taken
// by the queue promised it only after a wake-up timer, the wake script, a
// claim and the token script (three round trips, two process wake-ups), and a
// token nobody takes meanwhile is not made up later (that would burst the
// API). With the machine at load 8–12 on 2 cores (a benchmark beside it, these
// processes at nice 19), a token sat free for up to 270–530 ms at a time (this
// process's own event loop stalled up to 100–520 ms meanwhile) and the share
// was 0.96–1.00 over 35 runs, 1.00 in most. The comments this test prints say
// what a run saw.

const MAX = 50
const PER_MS = 1000
const SECONDS = 20
const QUEUES = 200
/** 6 × 200 = 1,200 tasks: more than 20 s of tokens, so the limiter is saturated all along. */
const PER_QUEUE = 6
/** Free queues: a first task that holds the queue until all of the round is enqueued behind it, then `tasks` of ms each. */
const FREE = { queues: 10, tasks: 10, ms: 50 }

type Start = StartEvent & ChaosEvent

/** The most grants in any half-open window [g, g + perMs) (the window limit-acquire.lua keeps). */
function worstWindow (grants: number[], perMs: number): number {
  let worst = 0
  let j = 0
  for (let i = 0; i < grants.length; i++) {
    if (j < i) j = i
    while (j < grants.length && grants[j] < grants[i] + perMs) j++
    worst = Math.max(worst, j - i)
  }
  return worst
}

/** Tokens free (max − grants in (t − perMs, t]) over [from, to): their time average, and the longest stretch with one free. */
function idleTokens (grants: number[], from: number, to: number): { mean: number, longest: number } {
  const edges: Array<[number, number]> = []
  for (const g of grants) { edges.push([g, -1]); edges.push([g + PER_MS, 1]) }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let free = MAX
  let area = 0
  let longest = 0
  let since: number | null = null
  let prev = from
  for (const [at, d] of edges) {
    const x = Math.min(Math.max(at, from), to)
    if (x > prev) area += free * (x - prev)
    prev = Math.max(prev, x)
    free += d
    if (at < from || at >= to) continue
    if (free > 0 && since === null) since = at
    if (free === 0 && since !== null) { longest = Math.max(longest, at - since); since = null }
  }
  if (since !== null) longest = Math.max(longest, to - since)
  return { mean: area / (to - from), longest }
}

/** Enqueues FREE.queues queues of `free-step` tasks (no limiter), one producer per queue; they run once all are in. */
async function freeRound (cluster: MultiCluster, tag: string): Promise<void> {
  const gate = `go-${tag}`
  await Promise.all(Array.from({ length: FREE.queues }, async (_, q) => {
    await cluster.enqueue(cluster.procs[q % 3], `${tag}${q}`, 0, { ms: 0, free: true, holdUntil: gate })
    for (let seq = 1; seq <= FREE.tasks; seq++) {
      await cluster.enqueue(cluster.procs[(q + seq) % 3], `${tag}${q}`, seq, { ms: FREE.ms, free: true })
    }
  }))
  writeFileSync(join(cluster.dir, gate), '')
}

/**
 * The free queues' pace: for each task after the gate, the time from its
 * predecessor's end to its own end — its handler's FREE.ms plus what the
 * store and the worker add. The median, in ms.
 */
function freePace (events: ChaosEvent[], tags: string[]): { pace: number, pickup: number, handler: number } {
  const pace: number[] = []
  const pickup: number[] = []
  const handler: number[] = []
  for (const queue of tags.flatMap((tag) => Array.from({ length: FREE.queues }, (_, q) => `${tag}${q}`))) {
    const starts = new Map<number, number>()
    const ends = new Map<number, number>()
    for (const e of events) {
      if (e.type === 'start' && e.queue === queue) starts.set(e.seq, e.hr)
      if (e.type === 'end' && e.queue === queue && e.outcome === 'ok') ends.set(e.seq, e.hr)
    }
    for (let seq = 1; seq <= FREE.tasks; seq++) {
      const [start, end, before] = [starts.get(seq), ends.get(seq), ends.get(seq - 1)]
      if (start === undefined || end === undefined || before === undefined) {
        pace.push(Infinity)
        continue
      }
      pace.push((end - before) / 1000)
      pickup.push((start - before) / 1000)
      handler.push((end - start) / 1000)
    }
  }
  const median = (xs: number[]): number => xs.length === 0 ? Infinity : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  return { pace: median(pace), pickup: median(pickup), handler: median(handler) }
}

t.test(`${QUEUES} queues share one limiter of ${MAX} per ${PER_MS} ms across 3 processes for ${SECONDS} s`, async (t) => {
  // timeoutMs: a free round's first task holds its queue while the round is enqueued, seconds under load.
  const cluster = await MultiCluster.start(3, { leaseMs: 5000, sweepMs: 100, concurrency: 8, burst: 20, timeoutMs: 30_000, ipcEvents: false, limiter: { max: MAX, perMs: PER_MS } })
  t.teardown(() => cluster.close())
  const drained = async (what: string, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
    if (await cluster.pending() > 0) throw new Error(`timed out waiting for ${what}`)
  }

  // The baseline: free queues alone, before and after the limited load (the machine's own pace drifts).
  await freeRound(cluster, 'baseA')
  await drained('the baseline free round', 30_000)

  // Every limited queue is ready and waiting at its head before the limiter opens: all 200 contend from the first ms.
  await cluster.useStore(async (s) => { await s.pauseLimiter('shared', null) })
  const lanes = 50
  for (let first = 0; first < QUEUES; first += lanes) {
    await Promise.all(Array.from({ length: lanes }, async (_, i) => {
      const q = first + i
      for (let seq = 1; seq <= PER_QUEUE; seq++) await cluster.enqueue(cluster.procs[(q + seq) % 3], `q${q}`, seq, { ms: (q + seq) % 4 })
    }))
  }
  const throttled = async (): Promise<number> => await cluster.useStore(async (s) => (await s.overview()).throttled)
  const deadline = Date.now() + 30_000
  while (await throttled() < QUEUES && Date.now() < deadline) await sleep(100)
  t.equal(await throttled(), QUEUES, 'every limited queue waits at its head while the limiter is paused')
  await cluster.useStore(async (s) => { await s.resumeLimiter('shared') })
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()

  // Meanwhile, the same free round again.
  await sleep(5000)
  await freeRound(cluster, 'loadA')
  await sleep(5000)
  await freeRound(cluster, 'loadB')
  await drained('the limited queues', (QUEUES * PER_QUEUE / MAX) * (PER_MS / 1000) * 1000 + 60_000)
  await freeRound(cluster, 'baseB')
  await drained('the second baseline free round', 30_000)

  lag.disable()
  const report = await cluster.check(5000)
  const { events } = readEvents(cluster.dir)
  const starts = events.filter((e): e is Start => e.type === 'start')
  const limited = starts.filter((e) => e.limiter !== undefined)
  const grants = limited.map((e) => e.grantedAt ?? NaN).sort((a, b) => a - b)

  t.equal(limited.length, QUEUES * PER_QUEUE, 'every limited task ran once')
  t.ok(grants.every(Number.isFinite), 'every limited start carries its grant time (ctx.limiter.grantedAt)')
  t.ok(starts.every((e) => e.limiter === undefined || e.limiter === 'shared'), 'ctx.limiter names the limiter')
  t.ok(starts.filter((e) => e.queue.startsWith('base') || e.queue.startsWith('load')).every((e) => e.limiter === undefined), 'the free task has no limiter')

  const worst = worstWindow(grants, PER_MS)
  const t0 = grants[0]
  const inRun = grants.filter((g) => g < t0 + SECONDS * 1000).length
  const allowed = MAX * SECONDS * 1000 / PER_MS
  t.comment(`worst ${PER_MS}-ms window: ${worst} grants (limit ${MAX}); ${inRun} grants in the first ${SECONDS} s = ${(inRun / allowed).toFixed(3)} of ${allowed} allowed; all ${grants.length} in ${((grants.at(-1)! - t0) / 1000).toFixed(1)} s`)
  const perSecond = Array.from({ length: SECONDS }, (_, i) => grants.filter((g) => g >= t0 + i * PER_MS && g < t0 + (i + 1) * PER_MS).length)
  t.comment(`grants per ${PER_MS} ms from the first: ${perSecond.join(' ')}`)
  // Tokens free while every queue had work waiting: a token nobody was awake to take, which a sliding window does not
  // make up later (that would be a burst at the API).
  const idle = idleTokens(grants, t0, t0 + SECONDS * PER_MS)
  t.comment(`free tokens while queues waited: ${idle.mean.toFixed(2)} on average, one free for ${idle.longest} ms at the longest; ` +
    `this process's event-loop delay meanwhile (a machine-wide stall shows here too): p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`)
  t.ok(worst <= MAX, `no window of ${PER_MS} ms (store clock) holds more than ${MAX} grants (worst ${worst})`)
  t.ok(worst === MAX, 'the limit was reached (the test could have failed)')
  t.ok(inRun >= 0.95 * allowed, `≥ 95 % of the allowed starts in ${SECONDS} s: no starvation, no drift (${inRun} of ${allowed})`)

  t.equal(limited.filter((e) => e.attempt !== 1).length, 0, 'no attempt was used while heads waited for tokens')
  let outOfOrder = 0
  for (let q = 0; q < QUEUES; q++) {
    const seqs = limited.filter((e) => e.queue === `q${q}`).map((e) => e.seq)
    if (seqs.join() !== Array.from({ length: PER_QUEUE }, (_, i) => i + 1).join()) outOfOrder++
  }
  t.equal(outOfOrder, 0, 'every queue started its tasks in enqueue order')
  t.equal(report.orderViolations, 0, 'the history checker agrees: per-queue order kept')
  t.equal(report.lost, 0)
  t.equal(report.unfencedOverlaps + report.fencedOverlaps, 0, 'no two tasks of one queue overlapped')
  t.equal(report.crashes, 0)
  t.same(report.violations.slice(0, 5), [], 'the history checker found nothing wrong')

  // The free queues' pace beside the limited load, against the baseline of this same run.
  const base = freePace(events, ['baseA', 'baseB'])
  const loaded = freePace(events, ['loadA', 'loadB'])
  const show = (p: typeof base): string => `${p.pace.toFixed(1)} ms (pickup ${p.pickup.toFixed(1)}, handler ${p.handler.toFixed(1)})`
  t.comment(`free queues, median per task: ${show(base)} alone, ${show(loaded)} beside 200 throttled queues (handler asks ${FREE.ms} ms)`)
  t.ok(loaded.pace <= 2 * base.pace, `queues without a limiter keep their pace beside the throttled ones (${loaded.pace.toFixed(1)} vs ${base.pace.toFixed(1)} ms per task, at most 2×)`)
})
