/** The Store contract (store.ts): limiters (README "Rate limits"). */

/** A concrete limiter and its limits, as the store enforces them (0 = no such limit). */
export interface LimitSpec {
  name: string
  max: number
  perMs: number
  concurrency: number
}

/** Who holds a limiter slot: one head of one queue under one lease. */
export interface LimitHolder {
  queue: string
  token: string
  taskId: string
}

export type AcquireResult =
  /** `at`: when the token was granted, store clock (ms): the time the limiter's window counts this start at. */
  | { ok: true, at: number }
  /** `until` and `now` on the store clock. */
  | { ok: false, reason: 'rate' | 'concurrency' | 'paused' | 'backoff', until: number, now: number }

export interface ThrottleInput {
  /** How long from now (store clock) until the head may try again, ms. */
  afterMs: number
  /** The limiter it waits for, '' for none. */
  limiter: string
  /** A handler's back-off (counted against maxBackoffs) rather than a refused token. */
  backoff: boolean
  maxBackoffs: number
  /** The head, so back-offs are counted per task. */
  taskId: string
}

export type ThrottleResult =
  | { ok: true, until: number, now: number, woken: boolean }
  | { ok: false, fenced: true }
  | { ok: false, overCap: true }

/** One limiter as the admin API shows it. */
export interface LimiterState {
  name: string
  max: number
  perMs: number
  concurrency: number
  /** Starts in the current window (now − perMs, now]. */
  usedInWindow: number
  /** Running slots held now. */
  running: number
  /** Queues throttled waiting for it. */
  queuesWaiting: number
  paused: boolean
  /** Until when a back-off pauses it; null when not paused or paused by an operator until resumed. */
  pausedUntil: number | null
  pausedBy: 'operator' | 'backoff' | null
  /** Back-offs (FST_FIFO_RATE_LIMITED from a handler) recorded since it was first used (kept a day after its last use). */
  backoffs: number
}
