import type { AcquireResult, LeaseRef, LimiterState, LimitHolder, LimitSpec, ThrottleInput, ThrottleResult } from '../store'
import type { MemoryState } from './state'

/** One limiter's state, the in-process counterpart of the Redis `lim*` keys (see redis/lua/limit-acquire.lua). */
export interface LimiterRecord {
  spec: LimitSpec
  /** Start times in the window, oldest first. */
  starts: number[]
  /** Running slots: holder → expiry. */
  slots: Map<string, number>
  /** Queues waiting for a slot or a resume, longest first. */
  waiting: Set<string>
  /** until −1: until resumed. */
  pause: { until: number, by: 'operator' | 'backoff' } | null
  /** The last time promised to a rate refusal (refusals are spaced perMs/max apart). */
  next: number
  backoffs: number
  lastUsed: number
}

const RECHECK_MS = 30_000
const LIMITER_TTL_MS = 86_400_000

const holderId = (h: LimitHolder): string => `${h.queue}\n${h.token}\n${h.taskId}`

function record (s: MemoryState, name: string, now: number): LimiterRecord {
  let r = s.limiters.get(name)
  if (r === undefined || (r.lastUsed < now - LIMITER_TTL_MS && r.pause?.until !== -1)) {
    r = { spec: { name, max: 0, perMs: 0, concurrency: 0 }, starts: [], slots: new Map(), waiting: new Set(), pause: null, next: 0, backoffs: 0, lastUsed: now }
    s.limiters.set(name, r)
  }
  return r
}

function dropExpiredSlots (r: LimiterRecord, now: number): void {
  for (const [holder, expiresAt] of r.slots) if (expiresAt <= now) r.slots.delete(holder)
}

function trimWindow (r: LimiterRecord, now: number): void {
  let drop = 0
  while (drop < r.starts.length && r.starts[drop] <= now - r.spec.perMs) drop++
  if (drop > 0) r.starts.splice(0, drop)
}

export function acquire (s: MemoryState, limit: LimitSpec, holder: LimitHolder, slotMs: number): AcquireResult {
  const now = s.now()
  const r = record(s, limit.name, now)
  r.spec = { ...limit }
  r.lastUsed = now
  if (r.pause !== null) {
    if (r.pause.until < 0) {
      r.waiting.add(holder.queue)
      return { ok: false, reason: 'paused', until: now + RECHECK_MS, now }
    }
    if (r.pause.until > now) return { ok: false, reason: 'backoff', until: r.pause.until, now }
    r.pause = null
  }
  const id = holderId(holder)
  if (limit.concurrency > 0) {
    dropExpiredSlots(r, now)
    if (r.slots.size >= limit.concurrency && !r.slots.has(id)) {
      r.waiting.add(holder.queue)
      const freeAt = Math.min(...r.slots.values())
      return { ok: false, reason: 'concurrency', until: Math.min(freeAt, now + RECHECK_MS), now }
    }
  }
  if (limit.max > 0) {
    trimWindow(r, now)
    if (r.starts.length >= limit.max) {
      const due = Math.max(r.starts[0] + limit.perMs, r.next + Math.ceil(limit.perMs / limit.max))
      r.next = due
      return { ok: false, reason: 'rate', until: due, now }
    }
    r.starts.push(now)
  }
  if (limit.concurrency > 0) {
    r.slots.set(id, now + slotMs)
    r.waiting.delete(holder.queue)
  }
  return { ok: true, at: now }
}

/** Gives a slot back; returns the queue to wake, if one waited. */
export function release (s: MemoryState, limiter: string, holder: LimitHolder): string[] {
  const r = s.limiters.get(limiter)
  if (r === undefined) return []
  r.slots.delete(holderId(holder))
  const first = r.waiting.values().next()
  if (first.done === true) return []
  r.waiting.delete(first.value)
  return [first.value]
}

export function renew (s: MemoryState, slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): void {
  const expiresAt = s.now() + slotMs
  for (const slot of slots) {
    const slotsOf = s.limiters.get(slot.limiter)?.slots
    const id = holderId(slot.holder)
    if (slotsOf?.has(id) === true) slotsOf.set(id, expiresAt)
  }
}

export function pause (s: MemoryState, name: string, backoffMs: number | null): void {
  const now = s.now()
  const r = record(s, name, now)
  if (backoffMs === null) {
    r.pause = { until: -1, by: 'operator' }
    return
  }
  r.backoffs++
  r.lastUsed = Math.max(r.lastUsed, now)
  const until = now + Math.max(0, Math.floor(backoffMs))
  if (r.pause !== null && (r.pause.until < 0 || r.pause.until >= until)) return
  r.pause = { until, by: 'backoff' }
}

/** Ends a pause; returns the queues to wake. */
export function resume (s: MemoryState, name: string): string[] {
  const r = s.limiters.get(name)
  if (r === undefined) return []
  r.pause = null
  const waiting = [...r.waiting]
  r.waiting.clear()
  return waiting
}

export function list (s: MemoryState): LimiterState[] {
  const now = s.now()
  const waiting = new Map<string, number>()
  for (const name of s.throttled) {
    const q = s.queues.get(name)
    if (q !== undefined && q.limiter !== null && q.limiter !== '' && !q.paused) waiting.set(q.limiter, (waiting.get(q.limiter) ?? 0) + 1)
  }
  const rows: LimiterState[] = []
  for (const [name, r] of s.limiters) {
    if (r.lastUsed < now - LIMITER_TTL_MS && r.pause?.until !== -1) {
      s.limiters.delete(name)
      continue
    }
    if (r.spec.max > 0) trimWindow(r, now)
    dropExpiredSlots(r, now)
    const paused = r.pause !== null && (r.pause.until < 0 || r.pause.until > now)
    rows.push({
      name,
      max: r.spec.max,
      perMs: r.spec.perMs,
      concurrency: r.spec.concurrency,
      usedInWindow: r.spec.max > 0 ? r.starts.length : 0,
      running: r.slots.size,
      queuesWaiting: waiting.get(name) ?? 0,
      paused,
      pausedUntil: paused && r.pause !== null && r.pause.until >= 0 ? r.pause.until : null,
      pausedBy: paused && r.pause !== null ? r.pause.by : null,
      backoffs: r.backoffs,
    })
  }
  return rows.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0).slice(0, 1000)
}

export function throttle (s: MemoryState, lease: LeaseRef, input: ThrottleInput): ThrottleResult {
  const q = s.leased(lease)
  if (q === null) return { ok: false, fenced: true }
  const now = s.now()
  if (input.backoff) {
    const seen = s.backoffs.get(q.name)
    const count = seen !== undefined && seen.taskId === input.taskId ? seen.count : 0
    if (count >= input.maxBackoffs) return { ok: false, overCap: true }
    s.backoffs.set(q.name, { taskId: input.taskId, count: count + 1 })
  }
  s.uncountAttempt(q)
  s.unlease(q)
  if (s.nudged.delete(q.name) && !input.backoff) {
    s.reschedule(q, 'back')
    return { ok: true, until: now, now, woken: true }
  }
  q.throttledUntil = now + Math.max(0, Math.floor(input.afterMs))
  q.limiter = input.limiter
  s.throttled.add(q.name)
  s.reschedule(q, 'back')
  return { ok: true, until: q.throttledUntil, now, woken: false }
}

export function wake (s: MemoryState, queues: string[], onlyDue: boolean): number {
  const now = s.now()
  let woken = 0
  for (const name of queues) {
    const q = s.queues.get(name)
    if (q === undefined) continue
    if (q.throttledUntil !== null) {
      if (onlyDue && q.throttledUntil > now) continue
      unthrottle(s, q.name)
      if (s.reschedule(q, 'back')) woken++
    } else if (!onlyDue && q.lease !== null) {
      s.nudged.add(q.name)
    }
  }
  return woken
}

/** Clears a queue's throttle mark (the caller reschedules it). */
export function unthrottle (s: MemoryState, name: string): void {
  const q = s.queues.get(name)
  if (q !== undefined) {
    q.throttledUntil = null
    q.limiter = null
  }
  s.throttled.delete(name)
}
