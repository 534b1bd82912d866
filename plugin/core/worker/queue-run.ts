import type { ClaimedTask, CompleteResult } from '../../store/store'
import { runHead } from './head-run'
import { isWaited } from './outcome'
import { fenced, settle, sweep } from './leases'
import { endSpan, type Hold, type PendingAck, type WorkerState } from './state'

/**
 * Runs one held queue: its heads one after another (the store hands the next
 * head back with each completion) until the queue is empty, the fairness
 * burst is spent, the lease is lost or the instance closes. With the opt-in
 * pipelinedAcks, a head's completion may still be in flight while the next
 * head runs.
 */
export async function runQueue (s: WorkerState, hold: Hold): Promise<void> {
  try {
    await runHeads(s, hold)
  } finally {
    // A run whose outcome was not recorded below (the hold ended first).
    endSpan(hold, hold.lost ? 'lease-lost' : 'released')
  }
}

async function runHeads (s: WorkerState, hold: Hold): Promise<void> {
  const { store, instance, leaseMs, burst } = s.o
  const ahead = s.o.pipelinedAcks
  let ran = 0
  // Pipelined acks only: the tasks known to be queued behind the current one (a claim hands
  // them out with the head, as each completion does), and the completions in flight.
  let following: ClaimedTask[] = hold.task.following ?? []
  const acks: PendingAck[] = []
  while (true) {
    const task = hold.task
    const step = await runHead(s, hold, task)
    ran++
    if (step === 'released' || hold.lost) {
      await flushAcks(s, hold, acks)
      return
    }
    const keep = ran < burst && s.claiming && !s.closing
    if (step === 'succeeded' && keep && acks.length < ahead && following.length > 0 && canRunAhead(s, following[0])) {
      // Pipelined acks (opt-in): send this completion and start the next task without waiting for it.
      hold.settling = true
      acks.push({ taskId: task.id, reply: store.complete(hold.lease, task.id, instance.id, leaseMs, true, undefined, takeOutcome(hold)) })
      endSpan(hold, 'succeeded')
      hold.task = following.shift() as ClaimedTask
      hold.controller = null
      hold.abortReason = undefined
      continue
    }
    let next: ClaimedTask | null | 'fenced' | 'stop'
    // Another queue the store claimed for this instance with the completion (claimNext), run once this hold ends.
    let claimed: ClaimedTask | undefined
    const sentAt = Date.now()
    hold.settling = true
    if (step === 'succeeded') {
      // Sent before the pipelined acks are awaited, so it costs no extra round trip.
      const outcome = takeOutcome(hold)
      // When this completion releases the queue, the hold it ends is replaced by the next waiting
      // queue, claimed in the same call — when the claim loop would claim one now.
      const claimNext = s.claiming && !s.closing && s.roomToClaim(1)
      let first: Promise<CompleteResult> | null = store.complete(hold.lease, task.id, instance.id, leaseMs, keep, ahead, outcome, claimNext)
      if (acks.length > 0) {
        // Handled below, after the acks (marked handled now so a quick rejection is not reported as unhandled).
        first.catch(() => {})
        if (!await flushAcks(s, hold, acks)) return
      }
      next = await settle(s, hold, async () => {
        const reply = first ?? store.complete(hold.lease, task.id, instance.id, leaseMs, keep, ahead, outcome, claimNext)
        first = null
        const r = await reply
        if (r.ok && r.claimed !== undefined) claimed = r.claimed
        return r.ok ? r.next : 'fenced'
      })
      if (next !== 'fenced' && next !== 'stop') {
        s.o.metrics.completed++
        endSpan(hold, 'succeeded')
      }
    } else {
      // The failed task is the head only once the completions before it are stored.
      if (acks.length > 0 && !await flushAcks(s, hold, acks)) return
      next = await settle(s, hold, async () => {
        const r = await store.fail(hold.lease, isWaited(task) ? { ...step, waitedId: task.id } : step)
        if (!r.ok) return 'fenced'
        afterFail(s, task, r.outcome, step.delayMs)
        endSpan(hold, r.outcome === 'dead' ? 'dead-lettered' : r.outcome)
        return null
      })
    }
    if (next === 'fenced') {
      endSpan(hold, 'lease-lost')
      fenced(s, hold, task)
      return
    }
    if (next === null || next === 'stop') {
      if (claimed !== undefined) s.adopt(claimed, sentAt)
      return
    }
    following = next.following ?? []
    hold.settling = acks.length > 0
    hold.task = next
    hold.controller = null
    hold.abortReason = undefined
    hold.confirmedUntil = sentAt + leaseMs
  }
}

/** The succeeded head's outcome for a waiter (waited tasks only), cleared for the next head. */
function takeOutcome (hold: Hold): string | undefined {
  const outcome = hold.outcome
  hold.outcome = undefined
  return outcome
}

/** A task may run ahead of its predecessor's stored completion only when nothing but its own run can stop it. */
function canRunAhead (s: WorkerState, task: ClaimedTask): boolean {
  // A head that needs a limiter token takes it right before it starts, not ahead of its predecessor's completion.
  // And a run permit must be free now: a head that waited for one could be given back (permits.ts)
  // while completions before it are still on the wire.
  const def = s.o.registry.get(task.name)
  return task.corrupt === undefined && def !== undefined && def.limiter === undefined && s.permits.free
}

/**
 * Waits for the pipelined completions, in order. All stored: true. Otherwise
 * the hold ends: a refused token means the lease was lost; a failed call
 * leaves unknown which completions were stored, so the queue is given back
 * and its next holder starts from the first task whose completion is not
 * stored (a task may run again after a later one started: the documented
 * limit of pipelined acks).
 */
async function flushAcks (s: WorkerState, hold: Hold, acks: PendingAck[]): Promise<boolean> {
  if (acks.length === 0) return true
  let lost = false
  let failed = false
  for (const ack of acks) {
    try {
      const r = await ack.reply
      if (r.ok) s.o.metrics.completed++
      else lost = true
    } catch (err) {
      s.storeFailed(err)
      failed = true
    }
  }
  acks.length = 0
  if (lost) {
    fenced(s, hold, hold.task)
  } else if (failed) {
    hold.lost = true
    s.o.log.warn({ queue: hold.lease.queue }, 'fastify-fifo: a pipelined completion failed; giving the queue back so its next holder resumes from the first unstored completion')
    await s.o.store.release(hold.lease, true).catch(() => {})
  }
  return !lost && !failed
}

/** Counts a stored failure, logs a halt or dead letter, and schedules the sweep that promotes a retry when it is due. */
function afterFail (s: WorkerState, task: ClaimedTask, outcome: 'retrying' | 'halted' | 'dead', delayMs: number): void {
  const m = s.o.metrics
  m.failed++
  if (outcome === 'retrying') {
    m.retried++
    // Promote the retry as soon as it is due rather than at the next sweep.
    const timer = setTimeout(() => {
      s.retryTimers.delete(timer)
      s.background(sweep(s))
    }, delayMs + 5)
    s.retryTimers.add(timer)
  } else if (outcome === 'halted') {
    m.halted++
    s.o.log.error({ queue: task.queue, taskId: task.id, task: task.name, attempt: task.attempt }, 'fastify-fifo: task exhausted its attempts; queue halted until an operator retries or skips it')
  } else {
    m.deadLettered++
    s.o.log.warn({ queue: task.queue, taskId: task.id, task: task.name, attempt: task.attempt }, 'fastify-fifo: task moved to the dead letters')
  }
}
