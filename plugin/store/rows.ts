import { requestIdOf } from './extras'
import type { DeadLetter, TaskFields, TaskRow } from './store'

/** A dead letter as both stores keep it: the public fields plus the head's last error. */
export type StoredDeadLetter = DeadLetter & { lastError: string | null }

/** The task-read view of a dead letter (GET tasks/:id). Shared by both stores so they answer alike. */
export function deadTaskRow (dead: StoredDeadLetter): TaskRow {
  const { reason, deadAt, ...task } = publicDead(dead)
  return { ...task, where: 'dead', position: null, lastError: dead.lastError, deadReason: reason, deadAt }
}

/** A copy of just the shared fields (so no caller holds a stored object); the request-id field as stored. */
export function taskFields (t: TaskFields): TaskFields {
  return { id: t.id, queue: t.queue, name: t.name, payload: t.payload, enqueuedAt: t.enqueuedAt, requestId: t.requestId }
}

/** The task-read view of a task still in its queue (position 0 is the head). */
export function pendingRow (t: TaskFields, position: number, attempts: number, lastError: string | null): TaskRow {
  return { ...viewFields(t), where: position === 0 ? 'head' : 'pending', position, attempts, lastError, deadReason: null, deadAt: null }
}

/** The public dead letter: a copy without the stored-only fields. */
export function publicDead (dead: StoredDeadLetter): DeadLetter {
  return { ...viewFields(dead), attempts: dead.attempts, reason: dead.reason, deadAt: dead.deadAt }
}

/** The shared fields as readers see them: the request id without the stored extras. */
function viewFields (t: TaskFields): TaskFields {
  return { ...taskFields(t), requestId: requestIdOf(t.requestId) }
}
