/**
 * Run permits: `concurrency` handlers run at once, no more. A hold (a queue
 * this instance holds) takes a permit right before its head starts and gives
 * it back as soon as the handler settles, so the completion's round trip
 * (which hands back the queue's next head) does not keep a permit idle: a
 * head of another held queue runs meanwhile. That is why an instance may hold
 * more queues than `concurrency` (up to MAX_HOLDS_FACTOR ×) — but a head that
 * finds every permit taken waits at most PERMIT_WAIT_MS, then its queue is
 * given back (head not started, attempt un-counted) so an idle instance takes
 * it. Per-queue order is untouched: a hold still runs its heads one after
 * another, each only after its predecessor's completion is stored.
 *
 * Measured in bench/README.md ("many-queues: run permits, session 6").
 */

/** Holds an instance may keep, as a multiple of `concurrency`. */
export const MAX_HOLDS_FACTOR = 2
/**
 * The longest a ready head waits for a permit before its queue is given back.
 * About a few completion round trips: a wait this long means every permit is
 * busy with handlers, not with round trips, and the head is better run by an
 * instance that has a free one.
 */
export const PERMIT_WAIT_MS = 5

/**
 * After a claim found no runnable queue, or a head was given back for want of
 * a permit, the instance claims no queue beyond `concurrency` holds for this
 * long. Extra holds pay only while runnable queues outnumber the permits
 * (then no instance is idle); with few runnable queues an extra hold takes a
 * queue that an instance with a free permit would run at once, and makes this
 * instance's own queues share its permits.
 */
export const EXTRA_CLAIM_PAUSE_MS = 50

/** How a wait for a permit ended: 'run' (the permit is the caller's), 'give-back' (waited too long, or closing), 'lost' (the lease). */
export type PermitWait = 'run' | 'give-back' | 'lost'

interface Waiter {
  resolve: (how: PermitWait) => void
  timer: NodeJS.Timeout
}

export class Permits {
  /** Handlers running (or about to, holding a permit). */
  running = 0
  readonly #limit: number
  readonly #waiters: Waiter[] = []
  /** Called when a permit is free and nobody waits for it (the claim loop may claim). */
  readonly #onFree: () => void

  constructor (limit: number, onFree: () => void) {
    this.#limit = limit
    this.#onFree = onFree
  }

  /** True when a head may start now without waiting (a free permit and nobody ahead of it). */
  get free (): boolean {
    return this.running < this.#limit
  }

  get waiting (): number {
    return this.#waiters.length
  }

  /** Takes a permit at once if one is free (the common case costs no promise). */
  tryTake (): boolean {
    if (this.running >= this.#limit) return false
    this.running++
    return true
  }

  /**
   * Waits for a permit, at most PERMIT_WAIT_MS. `onLost` receives a function
   * that ends the wait with 'lost' (the hold's lease was fenced meanwhile).
   */
  async wait (onLost: (end: () => void) => void): Promise<PermitWait> {
    return await new Promise<PermitWait>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => { this.#drop(waiter, 'give-back') }, PERMIT_WAIT_MS),
      }
      this.#waiters.push(waiter)
      onLost(() => { this.#drop(waiter, 'lost') })
    })
  }

  /** A handler settled: its permit goes to the head that waited longest, or back to the pool. */
  give (): void {
    const next = this.#waiters.shift()
    if (next !== undefined) {
      clearTimeout(next.timer)
      next.resolve('run')
      return
    }
    this.running--
    this.#onFree()
  }

  /** Closing: every waiting head gives its queue back now. */
  giveBackAll (): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer)
      w.resolve('give-back')
    }
  }

  #drop (waiter: Waiter, how: PermitWait): void {
    const at = this.#waiters.indexOf(waiter)
    if (at === -1) return
    this.#waiters.splice(at, 1)
    clearTimeout(waiter.timer)
    waiter.resolve(how)
  }
}
