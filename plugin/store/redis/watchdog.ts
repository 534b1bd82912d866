/** A call in flight as the watchdog sees it (an ioredis `Command` has `isSettled` and `reject`). */
export interface Watched {
  /** What it is for, as its errors say. */
  readonly what: string
  /** `performance.now()` by which the call must have settled. */
  deadline: number
  isSettled: boolean
  reject: (err: Error) => void
  /**
   * The watchdog's links: calls in flight form a list through themselves. A
   * Set's add and delete of a fresh object (identity hash, table) cost
   * ~0.1-0.2 µs per call; these are a few field writes.
   */
  watchPrev: Watched | null
  watchNext: Watched | null
}

/** The settling side of a `call()`, watched like a command. */
export class PendingCall<T> implements Watched {
  readonly what: string
  deadline: number
  isSettled = false
  watchPrev: Watched | null = null
  watchNext: Watched | null = null
  readonly promise: Promise<T>
  resolve!: (value: T) => void
  reject!: (err: Error) => void

  constructor (what: string, deadline: number) {
    this.what = what
    this.deadline = deadline
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (value) => { this.isSettled = true; resolve(value) }
      this.reject = (err) => { this.isSettled = true; reject(err) }
    })
  }
}

/**
 * Gives up on calls that outlive their deadline, with one timer for all of
 * them armed for the earliest deadline, instead of a Timeout object, a timer
 * list insert and an unenroll per call (with a wrapping promise, ~2.5% of the
 * drain profile before; the pair alone measured ~1 µs per call, within this
 * machine's noise). A call costs a few field writes (see Watched), and the
 * timer fires about once per commandTimeoutMs while calls keep coming.
 * Deadlines come from the monotonic clock, so a wall-clock jump can neither
 * fire them early nor hold them back.
 *
 * The timer is unref'd: a call in flight always has a ref'd handle of its own
 * (its socket, or ioredis' reconnect timer), and a watchdog with nothing left
 * to watch must not keep a process alive. It is not stopped on close: calls
 * still in flight on a user's client (which close leaves open) keep their
 * deadline; the timer ends by itself once nothing is left.
 */
export class Watchdog {
  #first: Watched | null = null
  #last: Watched | null = null
  readonly #expire: (call: Watched) => void
  #timer: NodeJS.Timeout | null = null
  /** When the armed timer fires (Infinity: none armed). */
  #timerAt = Infinity

  /** `expire` rejects a call whose deadline passed (it is no longer watched by then). */
  constructor (expire: (call: Watched) => void) {
    this.#expire = expire
  }

  watch (call: Watched): void {
    call.watchPrev = this.#last
    call.watchNext = null
    if (this.#last === null) this.#first = call
    else this.#last.watchNext = call
    this.#last = call
    // Calls sent in a row have growing deadlines: the timer armed for an earlier one covers them.
    if (call.deadline < this.#timerAt) this.#arm(call.deadline)
  }

  /** The call settled: forget it (the timer stays armed for whatever comes next). A call not watched is left alone. */
  settled (call: Watched): void {
    if (call.watchPrev === null && this.#first !== call) return
    if (call.watchPrev === null) this.#first = call.watchNext
    else call.watchPrev.watchNext = call.watchNext
    if (call.watchNext === null) this.#last = call.watchPrev
    else call.watchNext.watchPrev = call.watchPrev
    call.watchPrev = null
    call.watchNext = null
  }

  #arm (at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timerAt = at
    // Never early: a call found not yet due is looked at again when it is.
    this.#timer = setTimeout(this.#sweep, Math.max(1, Math.ceil(at - performance.now())))
    this.#timer.unref()
  }

  readonly #sweep = (): void => {
    this.#timer = null
    this.#timerAt = Infinity
    const now = performance.now()
    let next = Infinity
    let call = this.#first
    while (call !== null) {
      const after: Watched | null = call.watchNext
      if (call.isSettled) {
        this.settled(call)
      } else if (call.deadline <= now) {
        this.settled(call)
        this.#expire(call)
      } else if (call.deadline < next) {
        next = call.deadline
      }
      call = after
    }
    if (next !== Infinity) this.#arm(next)
  }
}
