/** Width of one throughput bucket. */
export const BUCKET_MS = 10_000
/** Buckets shown by overview(): ten minutes. */
export const SERIES_BUCKETS = 60
/** Buckets summed for the "last minute" counts: the current one and the five before it. */
const MINUTE_BUCKETS = 6

interface Counts {
  completed: number
  failed: number
}

/** Settled-task counters in 10 s buckets of store time. */
export class ThroughputStats {
  #buckets = new Map<number, Counts>()

  #bucket (at: number): Counts {
    const start = Math.floor(at / BUCKET_MS) * BUCKET_MS
    let counts = this.#buckets.get(start)
    if (counts === undefined) {
      counts = { completed: 0, failed: 0 }
      this.#buckets.set(start, counts)
    }
    return counts
  }

  completed (at: number): void {
    this.#bucket(at).completed++
  }

  failed (at: number): void {
    this.#bucket(at).failed++
  }

  /** The last SERIES_BUCKETS buckets, oldest first, the last one holding `now`. */
  series (now: number): Array<{ at: number, completed: number, failed: number }> {
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS
    const series = []
    for (let i = SERIES_BUCKETS - 1; i >= 0; i--) {
      const at = current - i * BUCKET_MS
      const counts = this.#buckets.get(at)
      series.push({ at, completed: counts?.completed ?? 0, failed: counts?.failed ?? 0 })
    }
    return series
  }

  lastMinute (now: number): Counts {
    const total = { completed: 0, failed: 0 }
    const series = this.series(now)
    for (const bucket of series.slice(-MINUTE_BUCKETS)) {
      total.completed += bucket.completed
      total.failed += bucket.failed
    }
    return total
  }

  /** Drops buckets that no longer show in the series. */
  prune (now: number): void {
    const oldest = Math.floor(now / BUCKET_MS) * BUCKET_MS - (SERIES_BUCKETS - 1) * BUCKET_MS
    for (const at of this.#buckets.keys()) {
      if (at < oldest) this.#buckets.delete(at)
    }
  }
}
