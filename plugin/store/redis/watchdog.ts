/** A call in flight as the watchdog sees it (an ioredis `Command` has all but `deadline`). */
export interface Deadlined {
  /** `performance.now()` by which the call must have settled. */
  deadline: number
  isSettled: boolean
  reject: (err: Error) => void
}

/** A call the watchdog gives up on after commandTimeoutMs. */
export interface Watched extends Deadlined {
  /** What it is for, as its errors say. */
  readonly what: string
}

/** The settling side of a `call()`, watched like a command. */
export class PendingCall<T> implements Watched {
  readonly what: string
  deadline: number
  isSettled = false
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
 * machine's noise). A call costs a Set add and delete, and the timer fires
 * about once per commandTimeoutMs while calls keep coming. Deadlines come
 * from the monotonic clock, so a wall-clock jump can neither fire them early
 * nor hold them back.
 *
 * The timer is unref'd: a call in flight always has a ref'd handle of its own
 * (its socket, or ioredis' reconnect timer), and a watchdog with nothing left
 * to watch must not keep a process alive. It is not stopped on close: calls
 * still in flight on a user's client (which close leaves open) keep their
 * deadline; the timer ends by itself once nothing is left.
 */
export class Watchdog<T extends Deadlined> {
  readonly #inFlight = new Set<T>()
  readonly #expire: (call: T) => void
  #timer: NodeJS.Timeout | null = null
  /** When the armed timer fires (Infinity: none armed). */
  #timerAt = Infinity

  /** `expire` rejects a call whose deadline passed (it is no longer watched by then). */
  constructor (expire: (call: T) => void) {
    this.#expire = expire
  }

  watch (call: T): void {
    this.#inFlight.add(call)
    // Calls sent in a row have growing deadlines: the timer armed for an earlier one covers them.
    if (call.deadline < this.#timerAt) this.#arm(call.deadline)
  }

  /** The call settled: forget it (the timer stays armed for whatever comes next). */
  settled (call: T): void {
    this.#inFlight.delete(call)
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
    for (const call of this.#inFlight) {
      if (call.isSettled) {
        this.#inFlight.delete(call)
      } else if (call.deadline <= now) {
        this.#inFlight.delete(call)
        this.#expire(call)
      } else if (call.deadline < next) {
        next = call.deadline
      }
    }
    if (next !== Infinity) this.#arm(next)
  }
}
