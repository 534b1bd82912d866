/**
 * Counters one instance's worker keeps for the metrics (metric-families.ts). Gauges (depths,
 * halted queues, held leases, oldest head) come from the store at scrape time.
 */
export const DURATION_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]

/** One limiter definition's counters on this instance (labelled by definition, so per-customer names do not multiply series). */
export interface LimiterCounters {
  /** Tokens this instance took. */
  starts: number
  /** Heads that got no token and waited. */
  waits: number
  /** Time those heads were scheduled to wait, ms. */
  throttledMs: number
  /** FST_FIFO_RATE_LIMITED back-offs thrown by handlers here. */
  backoffs: number
}

export class Metrics {
  readonly limiters = new Map<string, LimiterCounters>()

  limiter (definition: string): LimiterCounters {
    let c = this.limiters.get(definition)
    if (c === undefined) this.limiters.set(definition, c = { starts: 0, waits: 0, throttledMs: 0, backoffs: 0 })
    return c
  }

  completed = 0
  failed = 0
  retried = 0
  deadLettered = 0
  halted = 0
  fenced = 0
  enqueued = 0
  /** Cumulative counts per DURATION_BUCKETS_MS upper bound (ms), plus +Inf as the last entry. */
  readonly durationBuckets: number[] = new Array(DURATION_BUCKETS_MS.length + 1).fill(0)
  durationSumMs = 0
  durationCount = 0
  /** Also called with each run's duration in seconds (prom-client's histogram, when registered). */
  durationSink: ((seconds: number) => void) | null = null

  observeDuration (ms: number): void {
    this.durationSumMs += ms
    this.durationCount++
    for (let i = 0; i < DURATION_BUCKETS_MS.length; i++) {
      if (ms <= DURATION_BUCKETS_MS[i]) this.durationBuckets[i]++
    }
    this.durationBuckets[DURATION_BUCKETS_MS.length]++
    if (this.durationSink !== null) this.durationSink(ms / 1000)
  }
}
