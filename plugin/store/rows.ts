import type { DeadLetter, TaskRow } from './store'

/** A dead letter as both stores keep it: the public fields plus the head's last error. */
export type StoredDeadLetter = DeadLetter & { lastError: string | null }

/** The task-read view of a dead letter (GET tasks/:id). Shared by both stores so they answer alike. */
export function deadTaskRow (dead: StoredDeadLetter): TaskRow {
  const { reason, deadAt, ...task } = publicDead(dead)
  return { ...task, where: 'dead', position: null, lastError: dead.lastError, deadReason: reason, deadAt }
}

/** The public dead letter: a copy without the stored-only fields. */
export function publicDead (dead: StoredDeadLetter): DeadLetter {
  return {
    id: dead.id,
    queue: dead.queue,
    name: dead.name,
    payload: dead.payload,
    enqueuedAt: dead.enqueuedAt,
    requestId: dead.requestId,
    attempts: dead.attempts,
    reason: dead.reason,
    deadAt: dead.deadAt,
  }
}
