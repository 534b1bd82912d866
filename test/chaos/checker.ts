import type { ChaosEvent } from './events'
import { activeIntervals, buildHistory, firstOverlap, leaseValidUntil, type History, type Instance, type Run, type Task } from './history'

/**
 * The history checker: a pure function of the event log and the store's final
 * state that says whether a run kept the contract (DESIGN.md G1–G4).
 *
 * Under at-least-once delivery a task may run more than once: when its holder
 * was killed, frozen past its lease, or lost its lease. That is allowed and
 * counted (runs per task). What is not allowed:
 *
 * - lost: an accepted task (its enqueue call resolved) that never settled and
 *   is not pending in the store. Settled = a run of it succeeded, or it is in
 *   the dead letters.
 * - order violation (G1): in one queue, task n+1 started before task n
 *   settled. Task n settled at the end of its settling run: the run whose
 *   completion the store accepted (when the store observer recorded it), else
 *   its latest run that may have settled (see maySettle). A fenced holder's
 *   late end is never a settlement. A run of task n that starts after task n+1 started,
 *   or after task n's accepted completion, is a violation too.
 * - unfenced overlap (G2): two runs of one queue executing at the same time
 *   (process-frozen stretches do not count as executing) where the earlier
 *   run's holder was not fenced: it shows no lease-lost evidence (its
 *   completion rejected, its signal aborted for a lost lease, its heartbeat
 *   reporting the lease gone), no abort of any kind before the later run
 *   began (a timed-out run is aborted and failed before the retry starts),
 *   and its lease cannot be shown to have run out: its last recorded renewal
 *   came more than leaseMs before the later run began.
 *
 * A run begins at its start event, or at its claim when its process froze
 * between the claim and the start: the worker committed to it while the lease
 * was valid and the handler's first line ran only after the freeze, which is
 * the frozen-holder case, not a late start.
 * - duplicate settlement: the store accepted two completions (or a completion
 *   and a dead-lettering) of one task.
 * - unsignalled fence (G2): the store rejected a run's completion but the
 *   handler's AbortSignal never fired, while its process stayed alive.
 * - crash: an instance process exited without being told to.
 *
 * Takeover time: after a SIGKILL (or a SIGSTOP that outlasted the lease) of an
 * instance that was running a task, the time until another instance started
 * a task of that queue.
 */

export interface FinalState {
  /** Tasks still in the store's queues. */
  pending: Array<{ id: string, queue: string }>
  /** The store's dead letters. */
  dead: Array<{ id: string, queue: string, reason: string }>
}

export interface CheckOptions {
  /** Lease length of the run; a SIGSTOP shorter than this is not a takeover fault. */
  leaseMs: number
  /**
   * How long a process must stay alive after a fact for its consequence to be
   * expected in the log (e.g. the abort after a rejected completion). Facts
   * whose process died sooner are not judged.
   * @default 2000
   */
  graceMs?: number
  /** signal.reason codes that mean "your lease is gone". @default ['FST_FIFO_LEASE_LOST'] */
  leaseLostReasons?: string[]
  /** The run drained before the final state was read: an accepted task still pending is a failure (stuck). */
  expectDrained?: boolean
}

export interface Violation {
  kind: 'lost' | 'order' | 'rerun-after-settle' | 'unfenced-overlap' | 'duplicate-settlement' | 'unsignalled-fence' | 'crash' | 'stuck'
  queue?: string
  id?: string
  detail: string
}

export interface Report {
  accepted: number
  rejectedEnqueues: number
  /** Tasks that ran although their enqueue call did not resolve (it failed after Redis stored it). */
  phantoms: number
  settled: number
  succeeded: number
  deadLettered: number
  /** Accepted tasks still in the store at the end. */
  pending: number
  lost: number
  orderViolations: number
  unfencedOverlaps: number
  fencedOverlaps: number
  duplicateSettlements: number
  unsignalledFences: number
  crashes: number
  duplicateEnqueues: number
  /** Order "violations" between a phantom and its neighbours, whose true place in the queue is unknown. Not failures. */
  phantomOrderAnomalies: number
  runs: number
  maxRuns: number
  /** runs per task → number of tasks */
  runsHistogram: Record<number, number>
  /** Tasks whose successive runs did not see strictly growing attempt numbers. */
  attemptAnomalies: number
  takeoversMs: number[]
  /** Takeovers after a fault with no other fault (any instance, Redis) from 3 × leaseMs before to 2 × leaseMs after it: the G6 bound's own case. */
  isolatedTakeoversMs: number[]
  /** Kill/stop faults whose interrupted queue never started again on another instance. */
  takeoversMissing: number
  p99TakeoverMs: number
  maxTakeoverMs: number
  /** After a graceful shutdown began: time until another instance started a task of a queue it was running. */
  handoversMs: number[]
  faults: Record<string, number>
  violations: Violation[]
  ok: boolean
}

export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

const ms = (us: number): number => Math.round(us / 100) / 10

/** The store took this answer as the task's settlement: a completion, or a failure that dead-lettered it. */
function isAcceptedSettlement (s: { result: string, op: string, outcome?: string }): boolean {
  return s.result === 'ok' && (s.op === 'complete' || s.outcome === 'dead')
}

function acceptedSettle (run: Run): boolean {
  return run.settles.some(isAcceptedSettlement)
}

function isFenced (run: Run, inst: Instance | undefined, leaseLost: Set<string>, graceUs: number): boolean {
  if (run.settles.some((s) => s.result === 'fenced')) return true
  if (run.aborts.some((a) => leaseLost.has(a.reason))) return true
  const until = run.effectiveEnd + graceUs
  return (inst?.leaseLost ?? []).some((l) => l.queue === run.queue && l.hr >= run.start && l.hr <= until)
}

/**
 * Whether the store may have accepted this run's settlement. A run whose
 * settling call failed to get an answer (the connection dropped) may have
 * settled even if a retry was then fenced: the first call can have run in
 * Redis. A run is known not to have settled when every answer was "fenced",
 * or when it was fenced or aborted before the worker could settle it.
 */
function maySettle (run: Run, lostBeforeEnd: (r: Run) => boolean): boolean {
  if (run.end === null) return false
  if (run.settles.length > 0) return run.settles.some((s) => s.result === 'error' || (s.result === 'ok' && (s.op === 'complete' || s.outcome === 'dead')))
  if (run.aborts.some((a) => a.hr <= (run.end ?? 0))) return false
  // A heartbeat that reports the lease lost after the handler ended proves nothing here: the
  // completion goes out at the end, and a completion that empties the queue ends the lease itself
  // (the 10-minute cluster chaos run counted two such completed tasks as lost when their holder
  // was killed before it could log the reply). Only a fence before the end rules a settlement out.
  return !lostBeforeEnd(run)
}

/** The run whose end settled the task, or null when no run settled it. */
function settlingRun (task: Task, dead: boolean, lostBeforeEnd: (r: Run) => boolean): Run | null {
  const accepted = task.runs.filter(acceptedSettle)
  if (accepted.length > 0) return accepted[0]
  let best: Run | null = null
  for (const run of task.runs) {
    if (!maySettle(run, lostBeforeEnd)) continue
    if (!dead && run.outcome !== 'ok') continue
    if (best === null || run.begin > best.begin) best = run
  }
  return best
}

export function checkHistory (events: readonly ChaosEvent[], final: FinalState, options: CheckOptions): Report {
  const graceUs = (options.graceMs ?? 2000) * 1000
  const leaseUs = options.leaseMs * 1000
  const leaseLostReasons = new Set(options.leaseLostReasons ?? ['FST_FIFO_LEASE_LOST'])
  const history: History = buildHistory(events)
  const violations: Violation[] = []
  const pendingIds = new Set(final.pending.map((p) => p.id))
  const deadIds = new Set(final.dead.map((d) => d.id))
  const fencedCache = new Map<Run, boolean>()
  const fenced = (run: Run): boolean => {
    let v = fencedCache.get(run)
    if (v === undefined) fencedCache.set(run, v = isFenced(run, history.instances.get(run.inst), leaseLostReasons, graceUs))
    return v
  }
  // The holder learned it lost the lease while the handler ran (so it never sent a completion).
  const lostBeforeEnd = (run: Run): boolean =>
    (history.instances.get(run.inst)?.leaseLost ?? []).some((l) => l.queue === run.queue && l.hr >= run.start && l.hr <= (run.end ?? Infinity))
  const aliveFor = (inst: string, from: number): boolean => {
    const death = history.instances.get(inst)?.deathHr ?? null
    return death === null || death - from >= graceUs
  }

  // Outcome of every task.
  let accepted = 0; let phantoms = 0; let succeeded = 0; let deadLettered = 0; let pending = 0; let lost = 0
  let duplicateSettlements = 0; let unsignalledFences = 0; let attemptAnomalies = 0; let runs = 0; let maxRuns = 0
  const runsHistogram: Record<number, number> = {}
  const settling = new Map<Task, Run | null>()
  for (const task of history.tasks.values()) {
    const isDead = deadIds.has(task.id)
    const settle = settlingRun(task, isDead, lostBeforeEnd)
    settling.set(task, settle)
    runs += task.runs.length
    maxRuns = Math.max(maxRuns, task.runs.length)
    runsHistogram[task.runs.length] = (runsHistogram[task.runs.length] ?? 0) + 1
    if (!task.accepted) {
      if (task.runs.length > 0) phantoms++
    } else {
      accepted++
      if (pendingIds.has(task.id)) pending++
      else if (isDead) deadLettered++
      else if (settle !== null && settle.outcome === 'ok') succeeded++
      else {
        lost++
        violations.push({ kind: 'lost', queue: task.queue, id: task.id, detail: `seq ${task.seq}: accepted, not pending, not dead, and no run of it succeeded (${task.runs.length} runs)` })
      }
    }
    const storeSettles = [...task.runs.flatMap((r) => r.settles), ...task.runlessSettles].filter(isAcceptedSettlement)
    if (storeSettles.length > 1) {
      duplicateSettlements++
      violations.push({ kind: 'duplicate-settlement', queue: task.queue, id: task.id, detail: `the store accepted ${storeSettles.length} settlements: ${storeSettles.map((s) => `${s.src}/${s.op}/attempt ${s.attempt}`).join(', ')}` })
    }
    for (const run of task.runs) {
      const rejected = run.settles.find((s) => s.result === 'fenced')
      if (rejected !== undefined && run.aborts.length === 0 && aliveFor(run.inst, rejected.hr)) {
        unsignalledFences++
        violations.push({ kind: 'unsignalled-fence', queue: task.queue, id: task.id, detail: `${run.inst} attempt ${run.attempt}: completion rejected as fenced but the AbortSignal never fired` })
      }
    }
    const byStart = [...task.runs].sort((a, b) => a.begin - b.begin)
    for (let i = 1; i < byStart.length; i++) {
      if (byStart[i].attempt <= byStart[i - 1].attempt) {
        attemptAnomalies++
        break
      }
    }
  }

  // G1: order within each queue. The chain is the accepted tasks in producer
  // order; a phantom (its enqueue call failed, yet Redis stored it) has no
  // defined place, so pairs involving one are only reported as anomalies.
  let orderViolations = 0
  const pairViolations = (queue: string, task: Task, next: Task): Violation | null => {
    if (next.runs.length === 0) return null
    const nextStart = Math.min(...next.runs.map((r) => r.begin))
    const nextFirst = next.runs.find((r) => r.begin === nextStart) as Run
    if (task.runs.length === 0) {
      return pendingIds.has(task.id)
        ? { kind: 'order', queue, id: next.id, detail: `seq ${next.seq} started on ${nextFirst.inst} while seq ${task.seq} (${task.id}) was still pending and had never run` }
        : null
    }
    const settle = settling.get(task) ?? null
    const late = task.runs.find((r) => r.begin > nextStart)
    // Settled without a run (dead-lettered by a worker that never started it): no run of it may
    // begin after task n+1 did; runs still frozen then are the overlap check's business.
    const settledWithoutRun = task.runlessSettles.some(isAcceptedSettlement) && !task.runs.some(acceptedSettle)
    if (late !== undefined) {
      return { kind: 'order', queue, id: next.id, detail: `seq ${task.seq} (${task.id}) started again on ${late.inst} (attempt ${late.attempt}) ${ms(late.begin - nextStart)} ms after seq ${next.seq} started on ${nextFirst.inst}` }
    }
    if (settledWithoutRun) return null
    if (settle === null) {
      return deadIds.has(task.id) ? null : { kind: 'order', queue, id: next.id, detail: `seq ${next.seq} started on ${nextFirst.inst} but seq ${task.seq} (${task.id}) never settled` }
    }
    if (settle.end !== null && nextStart < settle.end) {
      return { kind: 'order', queue, id: next.id, detail: `seq ${next.seq} started on ${nextFirst.inst} ${ms(settle.end - nextStart)} ms before seq ${task.seq} (${task.id}) settled on ${settle.inst}` }
    }
    return null
  }
  let phantomOrderAnomalies = 0
  for (const [queue, tasks] of history.queues) {
    for (const task of tasks) {
      const acceptedAt = [...task.runs.flatMap((r) => r.settles), ...task.runlessSettles].filter(isAcceptedSettlement).map((s) => s.hr)
      if (acceptedAt.length === 0) continue
      const after = task.runs.find((r) => r.begin > Math.min(...acceptedAt))
      if (after !== undefined) {
        orderViolations++
        violations.push({ kind: 'rerun-after-settle', queue, id: task.id, detail: `seq ${task.seq} ran again on ${after.inst} (attempt ${after.attempt}) after the store accepted its settlement` })
      }
    }
    const chain = tasks.filter((t) => t.accepted)
    for (let i = 0; i + 1 < chain.length; i++) {
      const v = pairViolations(queue, chain[i], chain[i + 1])
      if (v !== null) {
        orderViolations++
        violations.push(v)
      }
    }
    for (let i = 0; i + 1 < tasks.length; i++) {
      if (tasks[i].accepted && tasks[i + 1].accepted) continue
      if (pairViolations(queue, tasks[i], tasks[i + 1]) !== null) phantomOrderAnomalies++
    }
  }

  // G2: no two runs of one queue execute at once unless the earlier holder was fenced.
  let unfencedOverlaps = 0; let fencedOverlaps = 0
  for (const [queue, tasks] of history.queues) {
    const queueRuns = tasks.flatMap((t) => t.runs).sort((a, b) => a.begin - b.begin)
    const active: Array<{ run: Run, pieces: Array<[number, number]> }> = []
    for (const run of queueRuns) {
      const pieces = activeIntervals(run, history.instances.get(run.inst))
      for (let j = active.length - 1; j >= 0; j--) {
        if (active[j].run.effectiveEnd <= run.begin) active.splice(j, 1)
      }
      for (const earlier of active) {
        const at = firstOverlap(earlier.pieces, pieces)
        if (at === null) continue
        const a = earlier.run
        // The earlier holder is fenced when it shows lease-lost evidence, was aborted (timeout,
        // shutdown) before the later run began, or its lease had necessarily run out by then:
        // only its own replies renew it, and the last one came more than leaseMs earlier.
        const validUntil = leaseValidUntil(history.instances.get(a.inst), a.queue, run.begin, leaseUs)
        // 1 ms of slack: the lease expiry is Redis TIME (realtime) and these stamps are monotonic.
        if (fenced(a) || a.aborts.some((x) => x.hr <= run.begin) || (validUntil !== null && run.begin > validUntil + 1000)) {
          fencedOverlaps++
        } else {
          unfencedOverlaps++
          violations.push({ kind: 'unfenced-overlap', queue, id: run.id, detail: `${run.inst} ran seq ${run.seq} attempt ${run.attempt} while ${a.inst} was still running seq ${a.seq} attempt ${a.attempt} unfenced (overlap from ${ms(at - run.begin)} ms after it began)` })
        }
      }
      active.push({ run, pieces })
    }
  }

  // Takeover after kill -9 / a freeze past the lease; handover after a graceful shutdown.
  const takeoversMs: number[] = []; const handoversMs: number[] = []; const isolatedTakeoversMs: number[] = []; let takeoversMissing = 0
  // Isolated: no other fault from 3 × leaseMs before (a freeze lasts up to about that long) to 2 × leaseMs after.
  const faultTimes = history.faults.filter((f) => f.type === 'redis' || f.action === 'kill' || f.action === 'stop' || f.action === 'term').map((f) => f.hr)
  const isolated = (hr: number): boolean => !faultTimes.some((t) => t !== hr && t >= hr - 3 * leaseUs && t <= hr + 2 * leaseUs)
  const faultCounts: Record<string, number> = {}
  const runsByInst = new Map<string, Run[]>()
  for (const task of history.tasks.values()) {
    for (const run of task.runs) {
      let list = runsByInst.get(run.inst)
      if (list === undefined) runsByInst.set(run.inst, list = [])
      list.push(run)
    }
  }
  for (const f of history.faults) {
    const label = f.type === 'proc' ? f.action : `redis-${f.action}`
    faultCounts[label] = (faultCounts[label] ?? 0) + 1
    if (f.type !== 'proc') continue
    if (f.action === 'crash') {
      violations.push({ kind: 'crash', detail: `${f.inst} exited on its own${f.detail !== undefined ? `: ${f.detail}` : ''}` })
      continue
    }
    const inst = history.instances.get(f.inst)
    let kind: 'takeover' | 'handover'
    if (f.action === 'kill') {
      if (inst?.stops.some(([a, b]) => a < f.hr && b >= f.hr) === true) continue
      kind = 'takeover'
    } else if (f.action === 'stop') {
      const stop = inst?.stops.find(([a]) => a === f.hr)
      if (stop === undefined || stop[1] - stop[0] < options.leaseMs * 1000) continue
      kind = 'takeover'
    } else if (f.action === 'term') {
      kind = 'handover'
    } else {
      continue
    }
    // A takeover is timed from the fault; a hand-over from when the closing instance let go
    // of the queue (its running head finished or was aborted), since close() waits for it.
    const interrupted = new Map<string, number>()
    for (const r of runsByInst.get(f.inst) ?? []) {
      if (r.begin <= f.hr && (r.end === null || r.end > f.hr)) {
        interrupted.set(r.queue, kind === 'takeover' ? f.hr : Math.max(f.hr, Math.min(r.effectiveEnd, ...r.aborts.map((a) => a.hr))))
      }
    }
    for (const [queue, from] of interrupted) {
      if (!Number.isFinite(from)) continue
      const tasks = history.queues.get(queue) ?? []
      let first = Infinity
      for (const t of tasks) for (const r of t.runs) if (r.inst !== f.inst && r.start > from && r.start < first) first = r.start
      if (first === Infinity) {
        if (kind === 'takeover') takeoversMissing++
        continue
      }
      ;(kind === 'takeover' ? takeoversMs : handoversMs).push(ms(first - from))
      if (kind === 'takeover' && isolated(f.hr)) isolatedTakeoversMs.push(ms(first - from))
    }
  }
  const crashes = violations.filter((v) => v.kind === 'crash').length
  if (options.expectDrained === true && pending > 0) {
    violations.push({ kind: 'stuck', detail: `${pending} accepted tasks still pending after the drain` })
  }

  const ok = lost === 0 && orderViolations === 0 && unfencedOverlaps === 0 && duplicateSettlements === 0 &&
    unsignalledFences === 0 && crashes === 0 && !(options.expectDrained === true && pending > 0)
  return {
    accepted,
    rejectedEnqueues: history.rejectedEnqueues,
    phantoms,
    settled: succeeded + deadLettered,
    succeeded,
    deadLettered,
    pending,
    lost,
    orderViolations,
    unfencedOverlaps,
    fencedOverlaps,
    duplicateSettlements,
    unsignalledFences,
    crashes,
    duplicateEnqueues: history.duplicateEnqueues.length,
    phantomOrderAnomalies,
    runs,
    maxRuns,
    runsHistogram,
    attemptAnomalies,
    takeoversMs,
    isolatedTakeoversMs,
    takeoversMissing,
    p99TakeoverMs: percentile(takeoversMs, 0.99),
    maxTakeoverMs: takeoversMs.length === 0 ? 0 : Math.max(...takeoversMs),
    handoversMs,
    faults: faultCounts,
    violations,
    ok,
  }
}

/** The one-line summary the chaos command prints (its format is relied on by tests and docs). */
export function summaryLine (r: Report): string {
  return `chaos: accepted=${r.accepted} settled=${r.settled} lost=${r.lost} order_violations=${r.orderViolations} ` +
    `unfenced_overlaps=${r.unfencedOverlaps} max_runs=${r.maxRuns} p99_takeover_ms=${Math.round(r.p99TakeoverMs)}`
}

/** The second line: everything else the checker counted. */
export function detailLine (r: Report): string {
  const hist = Object.entries(r.runsHistogram).map(([k, v]) => `${k}:${v}`).join(',')
  const faults = Object.entries(r.faults).map(([k, v]) => `${k}:${v}`).join(',')
  return `chaos-detail: succeeded=${r.succeeded} dead=${r.deadLettered} pending=${r.pending} rejected=${r.rejectedEnqueues} ` +
    `phantoms=${r.phantoms} phantom_order_anomalies=${r.phantomOrderAnomalies} duplicate_enqueues=${r.duplicateEnqueues} duplicate_settlements=${r.duplicateSettlements} ` +
    `unsignalled_fences=${r.unsignalledFences} fenced_overlaps=${r.fencedOverlaps} crashes=${r.crashes} ` +
    `attempt_anomalies=${r.attemptAnomalies} runs=${r.runs} runs_per_task=${hist} takeovers=${r.takeoversMs.length} ` +
    `takeovers_missing=${r.takeoversMissing} p50_takeover_ms=${Math.round(percentile(r.takeoversMs, 0.5))} ` +
    `p90_takeover_ms=${Math.round(percentile(r.takeoversMs, 0.9))} max_takeover_ms=${Math.round(r.maxTakeoverMs)} ` +
    `isolated_takeovers=${r.isolatedTakeoversMs.length} isolated_p99_takeover_ms=${Math.round(percentile(r.isolatedTakeoversMs, 0.99))} ` +
    `isolated_max_takeover_ms=${Math.round(r.isolatedTakeoversMs.length === 0 ? 0 : Math.max(...r.isolatedTakeoversMs))} ` +
    `p99_handover_ms=${Math.round(percentile(r.handoversMs, 0.99))} faults=${faults}`
}
