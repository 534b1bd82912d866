import { extrasOf, requestIdOf } from '../extras'
import type { ClaimedTask, DeadLetter, HeadInfo, QueueRow, QueueState, TaskFields, TaskRow } from '../store'
import type { TaskList } from './task-list'
import { pendingRow } from '../rows'

/** A task still in its queue. */
export interface TaskRecord extends TaskFields {
  /** Attempts started: claims of this task as head, minus un-counted ones (release without keepAttempt, park). */
  attempts: number
  lastError: string | null
  /** Its number within the queue (consecutive), so its position is `seq - head.seq`. */
  seq: number
}

export interface Lease {
  owner: string
  token: string
  expiresAt: number
}

/** One queue. Its head's retry, halt and missing-handler marks live here; they are cleared when the head leaves. */
export interface QueueRecord {
  name: string
  ids: TaskList
  nextSeq: number
  lease: Lease | null
  paused: boolean
  retryAt: number | null
  haltedAt: number | null
  missingHandler: string | null
  /** Throttled: when its head may try for a token again, and the limiter it waits for ('' for none). */
  throttledUntil: number | null
  limiter: string | null
}

export interface DeadRecord extends DeadLetter {
  lastError: string | null
}

/**
 * A queue's state. `paused` wins over everything but `running` (a paused
 * queue's head may still be finishing); the retry/halt/park marks survive a
 * pause and show again on resume.
 */
export function queueState (q: QueueRecord): QueueState {
  if (q.lease !== null) return 'running'
  if (q.paused) return 'paused'
  if (q.haltedAt !== null) return 'halted'
  if (q.retryAt !== null) return 'retrying'
  if (q.throttledUntil !== null) return 'throttled'
  if (q.missingHandler !== null) return 'missing-handler'
  return 'waiting'
}

export function claimedTask (task: TaskRecord, lease: Lease): ClaimedTask {
  const claimed: ClaimedTask = {
    id: task.id,
    queue: task.queue,
    name: task.name,
    payload: task.payload,
    attempt: task.attempts,
    enqueuedAt: task.enqueuedAt,
    token: lease.token,
    leaseExpiresAt: lease.expiresAt,
  }
  const requestId = requestIdOf(task.requestId)
  if (requestId !== null) claimed.requestId = requestId
  const extras = extrasOf(task.requestId)
  if (extras !== undefined) claimed.extras = extras
  if (task.lastError !== null) claimed.lastError = task.lastError
  return claimed
}

export function headInfo (task: TaskRecord): HeadInfo {
  return {
    id: task.id,
    name: task.name,
    attempts: task.attempts,
    enqueuedAt: task.enqueuedAt,
    lastError: task.lastError,
    payload: task.payload,
    requestId: requestIdOf(task.requestId),
  }
}

export function queueRow (q: QueueRecord, head: TaskRecord | undefined): QueueRow {
  return {
    name: q.name,
    state: queueState(q),
    depth: q.ids.length,
    paused: q.paused,
    head: head === undefined ? null : headInfo(head),
    holder: q.lease?.owner ?? null,
    leaseExpiresAt: q.lease?.expiresAt ?? null,
    retryAt: q.retryAt,
    missingHandler: q.missingHandler,
    haltedAt: q.haltedAt,
    throttledUntil: q.throttledUntil,
    limiter: q.throttledUntil === null ? null : q.limiter,
  }
}

export function pendingTaskRow (task: TaskRecord, position: number): TaskRow {
  return pendingRow(task, position, task.attempts, task.lastError)
}

export { deadTaskRow, publicDead as deadLetter } from '../rows'

/** Orders queues by urgency: halted first (oldest halt first), then oldest head, then name (by code unit, as Redis compares bytes). */
export function compareUrgency (a: QueueRow, b: QueueRow): number {
  const aHalted = a.state === 'halted'
  const bHalted = b.state === 'halted'
  if (aHalted !== bHalted) return aHalted ? -1 : 1
  if (aHalted && bHalted && a.haltedAt !== b.haltedAt) return (a.haltedAt ?? 0) - (b.haltedAt ?? 0)
  const aHead = a.head?.enqueuedAt ?? Infinity
  const bHead = b.head?.enqueuedAt ?? Infinity
  if (aHead !== bHead) return aHead < bHead ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}
