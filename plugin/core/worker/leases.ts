import { FST_FIFO_LEASE_LOST } from '../errors'
import type { ClaimedTask } from '../../store/store'
import { heldSlots } from './limits'
import { abortRun, sleep, type Hold, type WorkerState } from './state'

/**
 * Lease keeping: the heartbeat that renews every held lease, fencing when the
 * store says a lease is gone (or it has not confirmed one in time), the
 * retries of a settling call while the store is unreachable, and the sweep.
 */

/** Renews the leases; a lease the store no longer has, or has not confirmed in time, is lost. */
export async function heartbeat (s: WorkerState): Promise<void> {
  const holds = [...s.holds.values()].filter((h) => !h.lost)
  const sentAt = Date.now()
  // Limiter slots live as long as the leases of the heads holding them (another key base: a call of its own).
  const slots = heldSlots(s)
  if (slots.length > 0) s.o.store.renewLimits(slots, s.o.leaseMs).catch((err: unknown) => { s.storeFailed(err) })
  try {
    const lost = await s.o.store.heartbeat(
      { ...s.o.instance, handlers: s.o.registry.names },
      holds.map((h) => h.lease),
      s.o.leaseMs
    )
    s.storeUp()
    const lostSet = new Set(lost)
    for (const h of holds) {
      if (lostSet.has(h.lease.queue) && h.lease.token === s.holds.get(h.lease.queue)?.lease.token) {
        // A completion that emptied the queue also ends the lease: not a loss. Its reply decides.
        if (!h.settling) fenced(s, h, h.task)
      } else {
        h.confirmedUntil = sentAt + s.o.leaseMs
      }
    }
  } catch (err) {
    s.storeFailed(err)
  }
  // A lease the store has not confirmed in time may belong to someone else now: its running
  // handler is aborted. A hold whose handler has ended and whose settling call is out is left to
  // that call's reply, which says whether the store still had the lease (fencing it here would
  // report a loss the store may not have seen, and drop the next head the reply hands over).
  const now = Date.now()
  for (const h of s.holds.values()) {
    if (!h.lost && now > h.confirmedUntil && !(h.settling && h.endRun === null)) fenced(s, h, h.task)
  }
}

/** Promotes due retries and takes back the leases of instances that died. */
export async function sweep (s: WorkerState): Promise<void> {
  if (s.closing) return
  try {
    await s.o.store.sweep(s.o.registry.names)
    s.storeUp()
  } catch (err) {
    s.storeFailed(err)
  }
}

/** The lease is gone: the run is aborted and its result will not be stored. */
export function fenced (s: WorkerState, hold: Hold, task: ClaimedTask): void {
  s.o.metrics.fenced++
  hold.lost = true
  if (hold.abortReason === undefined) abortRun(hold, new FST_FIFO_LEASE_LOST(task.queue, 'the store rejected this holder\'s token'))
  s.o.log.warn({ queue: task.queue, taskId: task.id, attempt: task.attempt }, 'fastify-fifo: lease lost; the store rejected this run\'s result and another instance runs the task')
}

/**
 * True while the lease is surely still valid: its confirmed end is more than
 * a safety margin away, so the handler does not start in the last moments of
 * a lease that could lapse before the first heartbeat renews it.
 */
export function leaseStillOurs (s: WorkerState, hold: Hold): boolean {
  const margin = Math.min(1000, Math.floor(s.o.leaseMs / 10))
  return !hold.lost && Date.now() < hold.confirmedUntil - margin
}

/**
 * Retries a settling call while the store is unreachable: the result of a run
 * must not be dropped on a blip. Gives up when the lease is known lost (the
 * next holder runs the task again) or shutdown has aborted the hold.
 */
export async function settle<T> (s: WorkerState, hold: Hold, call: () => Promise<T>): Promise<T | 'stop'> {
  let failures = 0
  while (true) {
    try {
      const result = await call()
      s.storeUp()
      return result
    } catch (err) {
      s.storeFailed(err)
      failures++
      if (hold.lost || (s.closing && !s.holds.has(hold.lease.queue))) return 'stop'
      if (Date.now() > hold.confirmedUntil + s.o.leaseMs) {
        // Long past the lease: another instance owns the queue by now.
        hold.lost = true
        return 'stop'
      }
      await sleep(Math.min(1000, 25 * 2 ** Math.min(failures, 6)))
    }
  }
}
