import type { ChaosEvent, EndEvent } from './events'

export type StampedSettle = Extract<ChaosEvent, { type: 'settle' }>
export type FaultEvent = Extract<ChaosEvent, { type: 'proc' | 'redis' }>

/**
 * Turns a raw event list into runs, tasks and instance lifetimes — the facts
 * the checker (checker.ts) reasons about. Pure.
 */

export interface Run {
  inst: string
  id: string
  queue: string
  seq: number
  attempt: number
  start: number
  /** When the store handed this head to the instance (store observer), if recorded. */
  claimedAt: number | null
  /**
   * When the run began: its start, or its claim when the process froze between
   * the claim and the start (the worker had committed to the run before the
   * freeze; the handler's first line only ran after it).
   */
  begin: number
  /** hr of the handler's end event, null when it never ended (its process died, or it is still running). */
  end: number | null
  outcome: EndEvent['outcome'] | null
  aborts: Array<{ hr: number, reason: string }>
  settles: StampedSettle[]
  /** When the run stopped existing: its end, else its process's death, else +Infinity. */
  effectiveEnd: number
}

export interface Task {
  id: string
  queue: string
  seq: number
  accepted: boolean
  /** hr at which the enqueue call resolved, for accepted tasks. */
  acceptedAt: number | null
  runs: Run[]
  /**
   * Store answers about this task that belong to no run: the worker settled a
   * head it never started (attempts already spent by lost runs, a corrupt record).
   */
  runlessSettles: StampedSettle[]
}

export interface Instance {
  inst: string
  /** SIGKILL, crash or exit: the process is gone from here on. */
  deathHr: number | null
  deathBy: 'kill' | 'crash' | 'exit' | null
  /** Closed intervals during which the process was frozen by SIGSTOP. */
  stops: Array<[number, number]>
  /** Graceful shutdown requested (SIGTERM / app.close()). */
  termHr: number | null
  leaseLost: Array<{ hr: number, queue: string }>
  /** Replies that renewed (or granted) this instance's lease on a queue, in time order. */
  renewals: Array<{ hr: number, queue: string }>
  /** Its last event of its own: a SIGKILL lands a moment after the runner logs it. */
  lastEventHr: number
}

export interface History {
  tasks: Map<string, Task>
  /** queue → tasks in producer order (seq, then first start). */
  queues: Map<string, Task[]>
  instances: Map<string, Instance>
  /** Every fault the runner logged, in order. */
  faults: FaultEvent[]
  rejectedEnqueues: number
  /** (queue, seq) pairs that produced more than one task id. */
  duplicateEnqueues: Array<{ queue: string, seq: number, ids: string[] }>
  /** Runs that began with the same (instance, task, attempt) as an earlier run. */
  repeatedRunKeys: number
}

function instance (map: Map<string, Instance>, inst: string): Instance {
  let found = map.get(inst)
  if (found === undefined) {
    found = { inst, deathHr: null, deathBy: null, stops: [], termHr: null, leaseLost: [], renewals: [], lastEventHr: -Infinity }
    map.set(inst, found)
  }
  return found
}

export function buildHistory (events: readonly ChaosEvent[]): History {
  const sorted = [...events].sort((a, b) => a.hr - b.hr)
  const tasks = new Map<string, Task>()
  const instances = new Map<string, Instance>()
  const faults: FaultEvent[] = []
  const openRuns = new Map<string, Run>()
  let rejectedEnqueues = 0
  let repeatedRunKeys = 0

  const task = (id: string, queue: string, seq: number): Task => {
    let found = tasks.get(id)
    if (found === undefined) {
      found = { id, queue, seq, accepted: false, acceptedAt: null, runs: [], runlessSettles: [] }
      tasks.set(id, found)
    }
    return found
  }
  const runKey = (inst: string, id: string, attempt: number): string => `${inst}\u0000${id}\u0000${attempt}`
  const pendingStops = new Map<string, number>()
  const claims = new Map<string, number>()

  for (const e of sorted) {
    if (e.src !== 'runner' && e.src !== 'producer' && e.src !== 'test' && e.type !== 'enqueue') instance(instances, e.src).lastEventHr = e.hr
    switch (e.type) {
      case 'enqueue':
        if (e.ok) {
          const t = task(e.id, e.queue, e.seq)
          t.accepted = true
          t.acceptedAt = e.hr
        } else {
          rejectedEnqueues++
        }
        break
      case 'claimed':
        claims.set(runKey(e.src, e.id, e.attempt), e.hr)
        instance(instances, e.src).renewals.push({ hr: e.hr, queue: e.queue })
        break
      case 'renewed': {
        const inst = instance(instances, e.src)
        for (const queue of e.queues) inst.renewals.push({ hr: e.hr, queue })
        break
      }
      case 'start': {
        const key = runKey(e.src, e.id, e.attempt)
        if (openRuns.has(key)) repeatedRunKeys++
        const claimedAt = claims.get(key) ?? null
        const run: Run = { inst: e.src, id: e.id, queue: e.queue, seq: e.seq, attempt: e.attempt, start: e.hr, claimedAt, begin: e.hr, end: null, outcome: null, aborts: [], settles: [], effectiveEnd: Infinity }
        openRuns.set(key, run)
        task(e.id, e.queue, e.seq).runs.push(run)
        instance(instances, e.src)
        break
      }
      case 'end': {
        const run = openRuns.get(runKey(e.src, e.id, e.attempt))
        if (run !== undefined && run.end === null) {
          run.end = e.hr
          run.outcome = e.outcome
        }
        break
      }
      case 'abort': {
        const run = openRuns.get(runKey(e.src, e.id, e.attempt))
        run?.aborts.push({ hr: e.hr, reason: e.reason })
        break
      }
      case 'settle': {
        const run = openRuns.get(runKey(e.src, e.id, e.attempt))
        if (run !== undefined) run.settles.push(e)
        else if (e.id !== '?') task(e.id, e.queue, e.seq).runlessSettles.push(e)
        break
      }
      case 'lease-lost':
        instance(instances, e.src).leaseLost.push({ hr: e.hr, queue: e.queue })
        break
      case 'proc': {
        const inst = instance(instances, e.inst)
        if (e.action === 'kill' || e.action === 'crash' || e.action === 'exit') {
          if (inst.deathHr === null) {
            inst.deathHr = e.hr
            inst.deathBy = e.action
          }
          const stoppedAt = pendingStops.get(e.inst)
          if (stoppedAt !== undefined) {
            inst.stops.push([stoppedAt, e.hr])
            pendingStops.delete(e.inst)
          }
        } else if (e.action === 'stop') {
          pendingStops.set(e.inst, e.hr)
        } else if (e.action === 'cont') {
          const stoppedAt = pendingStops.get(e.inst)
          if (stoppedAt !== undefined) {
            inst.stops.push([stoppedAt, e.hr])
            pendingStops.delete(e.inst)
          }
        } else if (e.action === 'term' && inst.termHr === null) {
          inst.termHr = e.hr
        }
        if (e.action !== 'ready' && e.action !== 'spawn' && e.action !== 'exit') faults.push(e)
        break
      }
      case 'redis':
        faults.push(e)
        break
    }
  }
  for (const [inst, stoppedAt] of pendingStops) instance(instances, inst).stops.push([stoppedAt, Infinity])

  for (const t of tasks.values()) {
    for (const run of t.runs) {
      const inst = instances.get(run.inst)
      const death = inst?.deathHr ?? null
      run.effectiveEnd = run.end ?? (death !== null ? Math.max(death, inst?.lastEventHr ?? death) : Infinity)
      const claimedAt = run.claimedAt
      // Frozen at some moment between the claim and the start. The runner logs a stop just
      // before it signals, so a freeze can take hold a little after its logged time.
      if (claimedAt !== null && (inst?.stops ?? []).some(([from, to]) => from <= run.start && to >= claimedAt)) run.begin = claimedAt
    }
  }

  const queues = new Map<string, Task[]>()
  const bySeq = new Map<string, string[]>()
  for (const t of tasks.values()) {
    if (!t.accepted && t.runs.length === 0) continue
    let list = queues.get(t.queue)
    if (list === undefined) queues.set(t.queue, list = [])
    list.push(t)
    const k = `${t.queue}\u0000${t.seq}`
    bySeq.set(k, [...(bySeq.get(k) ?? []), t.id])
  }
  const firstStart = (t: Task): number => t.runs.length === 0 ? Infinity : Math.min(...t.runs.map((r) => r.begin))
  for (const list of queues.values()) {
    list.sort((a, b) => a.seq - b.seq || firstStart(a) - firstStart(b) || (a.id < b.id ? -1 : 1))
  }
  const duplicateEnqueues: History['duplicateEnqueues'] = []
  for (const [k, ids] of bySeq) {
    if (ids.length > 1) {
      const [queue, seq] = k.split('\u0000')
      duplicateEnqueues.push({ queue, seq: Number(seq), ids })
    }
  }

  return { tasks, queues, instances, faults, rejectedEnqueues, duplicateEnqueues, repeatedRunKeys }
}

/**
 * The stretches of time a run could actually execute: from its begin to its
 * effective end, minus the times its process was frozen.
 */
export function activeIntervals (run: Run, inst: Instance | undefined): Array<[number, number]> {
  let pieces: Array<[number, number]> = [[run.begin, run.effectiveEnd]]
  for (const [from, to] of inst?.stops ?? []) {
    const next: Array<[number, number]> = []
    for (const [a, b] of pieces) {
      if (to <= a || from >= b) {
        next.push([a, b])
        continue
      }
      if (from > a) next.push([a, from])
      if (to < b) next.push([to, b])
    }
    pieces = next
  }
  return pieces
}

/** The first moment both runs were executing at once, or null. */
export function firstOverlap (a: Array<[number, number]>, b: Array<[number, number]>): number | null {
  let best: number | null = null
  for (const [a0, a1] of a) {
    for (const [b0, b1] of b) {
      const from = Math.max(a0, b0)
      if (from < Math.min(a1, b1) && (best === null || from < best)) best = from
    }
  }
  return best
}

/**
 * The latest moment `inst`'s lease on `queue` can have been valid, judged at
 * time `t`: a lease lasts leaseMs from the store's clock when it was granted
 * or renewed, and every grant or renewal reached the instance no later than
 * the reply it logged. null when no renewal was recorded before t.
 */
export function leaseValidUntil (inst: Instance | undefined, queue: string, t: number, leaseUs: number): number | null {
  let last: number | null = null
  for (const r of inst?.renewals ?? []) {
    if (r.hr > t) break
    if (r.queue === queue) last = r.hr
  }
  return last === null ? null : last + leaseUs
}
