import * as limits from './limits'
import type { MemoryState } from './state'

/**
 * MemoryStore's housekeeping (Store.sweep): expired leases, retry and throttle
 * times that came, parked queues whose handler is back, and old stats,
 * instances and dedupe entries.
 */
export function sweep (s: MemoryState, handlers: string[]): { recovered: number, promoted: number, unparked: number, nextRetryAt: number | null } {
  const now = s.now()
  let recovered = 0
  let promoted = 0
  let unparked = 0
  for (const name of [...s.held]) {
    const q = s.queue(name)
    if (q.lease !== null && q.lease.expiresAt <= now) {
      recovered++
      s.unlease(q)
      s.reschedule(q, 'back')
    }
  }
  let nextRetryAt: number | null = null
  for (const name of [...s.retrying]) {
    const q = s.queue(name)
    const retryAt = q.retryAt ?? now
    if (retryAt <= now) {
      promoted++
      q.retryAt = null
      s.retrying.delete(name)
      s.reschedule(q, 'back')
    } else if (nextRetryAt === null || retryAt < nextRetryAt) {
      nextRetryAt = retryAt
    }
  }
  for (const name of [...s.throttled]) {
    const q = s.queue(name)
    const until = q.throttledUntil ?? now
    if (until <= now) {
      promoted++
      limits.unthrottle(s, name)
      s.reschedule(q, 'back')
    } else if (nextRetryAt === null || until < nextRetryAt) {
      nextRetryAt = until
    }
  }
  for (const name of s.nudged) if (s.queues.get(name)?.lease == null) s.nudged.delete(name)
  for (const [name, seen] of s.backoffs) {
    const q = s.queues.get(name)
    if (q === undefined || q.ids.length === 0 || s.head(q).id !== seen.taskId) s.backoffs.delete(name)
  }
  const available = new Set(handlers)
  for (const name of [...s.parked]) {
    const q = s.queue(name)
    if (q.missingHandler !== null && available.has(q.missingHandler)) {
      unparked++
      q.missingHandler = null
      s.parked.delete(name)
      s.reschedule(q, 'back')
    }
  }
  s.stats.prune(now)
  for (const [id, record] of s.instances) {
    if (record.lastHeartbeatAt + record.ttlMs <= now) s.instances.delete(id)
  }
  for (const [dedupeId, entry] of s.dedupe) {
    if (entry.expiresAt > now) break
    s.dedupe.delete(dedupeId)
  }
  return { recovered, promoted, unparked, nextRetryAt }
}
