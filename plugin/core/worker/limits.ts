import { describeError } from '../errors'
import type { LimiterCounters } from '../metrics'
import { backoffDelay, type LimiterGrant, type TaskDefinition } from '../registry'
import type { ClaimedTask, FailInput, LimitHolder, LimitSpec } from '../../store/store'
import { fenced, settle } from './leases'
import type { Hold, WorkerState } from './state'

/**
 * Limiters in the worker (README "Rate limits"). Right before a head of a
 * task with a `limiter` starts — whether the claim, claim on enqueue or a
 * completion handed it over — the holder takes a token from the store
 * (acquireLimit, on the limiter's own key base). No token: the queue is given
 * back throttled (attempt un-counted) and this hold ends; other holds go on.
 * The queue is woken when the token is due by a precise timer here (sweep on
 * any instance also promotes it), or at once by the release of a slot it
 * waited for. A running slot is renewed with the heartbeat and given back as
 * soon as the handler settles.
 */

/** Back-offs per head that do not use an attempt; past it a back-off counts as a failed attempt. */
export const MAX_BACKOFFS = 20
/** The longest a back-off pauses a queue or a limiter (a longer Retry-After is cut to this). */
export const MAX_BACKOFF_MS = 3_600_000

/** A running slot the current head of a hold holds. */
export interface HeldSlot {
  limiter: string
  holder: LimitHolder
}

/** A handler's FST_FIFO_RATE_LIMITED, as runHead hands it on. */
export interface Backoff {
  backoffMs: number
  error: string
}

function counters (s: WorkerState, concrete: string): LimiterCounters {
  return s.o.metrics.limiter(s.o.registry.limiters.resolve(concrete)?.name ?? concrete)
}

/**
 * Takes the head's token. A grant: it may start (its slot, if any, is on the
 * hold), null when the task names no limiter. 'released': the queue was
 * throttled or given back and the hold ends. A failure to record when the
 * limiter function cannot name a limiter now.
 */
export async function takeToken (s: WorkerState, hold: Hold, def: TaskDefinition, task: ClaimedTask, args: unknown[]): Promise<LimiterGrant | null | 'released' | FailInput> {
  let spec: LimitSpec | undefined
  try {
    spec = s.o.registry.limitFor(def, args)
  } catch (err) {
    // Checked at enqueue; this instance's definitions differ from the enqueuer's (a deploy in progress).
    return { error: describeError(err), maxAttempts: def.attempts, delayMs: backoffDelay(def, task.attempt), onExhausted: def.onExhausted }
  }
  if (spec === undefined) return null
  hold.limiter = spec.name
  const holder: LimitHolder = { queue: task.queue, token: hold.lease.token, taskId: task.id }
  const { store, leaseMs } = s.o
  let r
  try {
    r = await store.acquireLimit(spec, holder, leaseMs)
    s.storeUp()
  } catch (err) {
    // Unknown whether a token was taken (a lost reply costs one start of the window); the head does not start here.
    s.storeFailed(err)
    hold.settling = true
    await settle(s, hold, async () => await store.release(hold.lease, false))
    return 'released'
  }
  const c = counters(s, spec.name)
  if (r.ok) {
    c.starts++
    if (spec.concurrency > 0) hold.slot = { limiter: spec.name, holder }
    return { name: spec.name, grantedAt: r.at }
  }
  c.waits++
  c.throttledMs += Math.max(0, r.until - r.now)
  await throttle(s, hold, task, spec.name, r.until - r.now, false)
  return 'released'
}

/** Gives the current head's running slot back (the store wakes the queue that waited longest for it). */
export function releaseSlot (s: WorkerState, hold: Hold): void {
  const slot = hold.slot
  if (slot === null) return
  hold.slot = null
  s.o.store.releaseLimit(slot.limiter, slot.holder).then(() => { s.storeUp() }, (err: unknown) => {
    // The slot expires with the lease it was tied to.
    s.storeFailed(err)
  })
}

/** The slots to renew with a heartbeat. */
export function heldSlots (s: WorkerState): HeldSlot[] {
  const slots: HeldSlot[] = []
  for (const h of s.holds.values()) if (h.slot !== null && !h.lost) slots.push(h.slot)
  return slots
}

/**
 * The handler threw FST_FIFO_RATE_LIMITED: the task stays at its head without
 * using an attempt, its limiter pauses for everyone, and the queue waits. Past
 * MAX_BACKOFFS per head, the back-off is recorded as a failed attempt instead.
 */
export async function backOff (s: WorkerState, hold: Hold, def: TaskDefinition, task: ClaimedTask, b: Backoff): Promise<'released' | FailInput> {
  const ms = Math.min(Math.max(0, b.backoffMs), MAX_BACKOFF_MS)
  const limiter = hold.limiter ?? ''
  if (limiter !== '') {
    counters(s, limiter).backoffs++
    try {
      await s.o.store.pauseLimiter(limiter, ms)
    } catch (err) {
      // The queue itself still waits; only the others under this limiter may try once more.
      s.storeFailed(err)
    }
  }
  const result = await throttle(s, hold, task, limiter, ms, true)
  if (result !== 'over-cap') return 'released'
  return { error: `${b.error} (more than ${MAX_BACKOFFS} back-offs of this task: counted as a failed attempt)`, maxAttempts: def.attempts, delayMs: ms, onExhausted: def.onExhausted }
}

async function throttle (s: WorkerState, hold: Hold, task: ClaimedTask, limiter: string, afterMs: number, backoff: boolean): Promise<'done' | 'over-cap'> {
  hold.settling = true
  const r = await settle(s, hold, async () => await s.o.store.throttle(hold.lease, { afterMs, limiter, backoff, maxBackoffs: MAX_BACKOFFS, taskId: task.id }))
  if (r === 'stop') return 'done'
  if (!r.ok) {
    if ('overCap' in r) return 'over-cap'
    fenced(s, hold, task)
    return 'done'
  }
  if (!r.woken) wakeWhenDue(s, task.queue, r.until - r.now)
  return 'done'
}

/** A precise wake-up for one throttled queue (the sweep on any instance is the fallback). */
function wakeWhenDue (s: WorkerState, queue: string, inMs: number): void {
  const timer = setTimeout(() => {
    s.retryTimers.delete(timer)
    if (s.closing) return
    s.o.store.wakeThrottled([queue], true).then(() => { s.storeUp() }, (err: unknown) => { s.storeFailed(err) })
  }, Math.max(0, inMs) + 2)
  s.retryTimers.add(timer)
}
