interface Waiter {
  resolve: (woken: boolean) => void
  timer: NodeJS.Timeout
}

/**
 * Wake-up signals for idle workers, the in-process counterpart of the Redis
 * wake list: a signal goes to the oldest waiter, or is kept (up to a small cap)
 * for the next wait, so a signal sent just before a worker starts waiting is
 * not lost. Every wait's timer is cleared however the wait ends.
 */
export class WakeSignal {
  /** Signals kept while nobody waited. A few suffice: a woken worker claims until nothing is left. */
  static readonly maxPending = 16
  #waiters: Waiter[] = []
  #pending = 0
  #closed = false

  /** Wakes one waiter, or remembers the signal for the next wait. */
  signal (count = 1): void {
    for (let i = 0; i < count; i++) {
      const waiter = this.#waiters.shift()
      if (waiter === undefined) {
        this.#pending = Math.min(WakeSignal.maxPending, this.#pending + count - i)
        return
      }
      clearTimeout(waiter.timer)
      waiter.resolve(true)
    }
  }

  async wait (timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false
    if (this.#pending > 0) {
      this.#pending--
      return true
    }
    return await new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          resolve(false)
        }, Math.max(0, timeoutMs)),
      }
      this.#waiters.push(waiter)
    })
  }

  /** Resolves every pending wait with false. */
  interrupt (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) {
      clearTimeout(waiter.timer)
      waiter.resolve(false)
    }
  }

  /** Interrupts, and makes every later wait return false at once. */
  close (): void {
    this.#closed = true
    this.#pending = 0
    this.interrupt()
  }
}
