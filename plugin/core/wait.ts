import { FST_FIFO_INVALID_CALL_OPTION, FST_FIFO_RESULT_REFUSED, FST_FIFO_WAIT_TIMEOUT } from './errors'
import type { EnqueuedTask } from './registry'
import { OUTCOME_TTL_MS, type Store } from '../store/store'

/**
 * Waiting for a task's outcome (the `wait` call option and `fifo.wait`). The
 * settling instance stores the outcome of a waited task for OUTCOME_TTL_MS and
 * notifies (store.ts waitOutcome); this turns it into what the caller gets.
 */

export type TaskOutcome =
  | { id: string, queue: string, status: 'succeeded', result: unknown }
  | { id: string, queue: string, status: 'halted' | 'dead-lettered', error: string }

/** What a call with `wait` resolves with: the enqueue's fields and the outcome. */
export type WaitedTask = EnqueuedTask & TaskOutcome

export interface WaitOptions {
  /** How long to wait (ms), 1 to 300000. */
  timeoutMs: number
}

/** The longest wait: outcomes are kept no longer. */
export const MAX_WAIT_MS = OUTCOME_TTL_MS

/** Checks a wait duration (option `name`); throws FST_FIFO_INVALID_CALL_OPTION. */
export function checkWaitMs (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_WAIT_MS) {
    throw new FST_FIFO_INVALID_CALL_OPTION(name, `must be a whole number of milliseconds from 1 to ${MAX_WAIT_MS}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
  }
  return value
}

/** Checks a task id given to `fifo.wait`. */
export function checkTaskId (value: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new FST_FIFO_INVALID_CALL_OPTION('taskId', `must be a task id (1-256 characters without control characters), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
  }
  return value
}

/**
 * Waits up to `timeoutMs` for `taskId`'s outcome: `pending` when the enqueue
 * gave one (EnqueueResult.outcome), else store.waitOutcome, which refuses a task
 * that was not enqueued with `wait` (FST_FIFO_NOT_WAITED) or is unknown
 * (FST_FIFO_NOT_FOUND). Rejects with FST_FIFO_WAIT_TIMEOUT (the task itself is
 * untouched and still runs) or, for a success whose result could not be kept,
 * FST_FIFO_RESULT_REFUSED.
 */
export async function awaitOutcome (store: Store, taskId: string, queue: string | null, timeoutMs: number, pending?: Promise<string | null>): Promise<TaskOutcome> {
  const text = await (pending ?? store.waitOutcome(taskId, timeoutMs))
  if (text === null) {
    // The id rides on the error, so the caller can wait again later (fifo.wait).
    throw Object.assign(new FST_FIFO_WAIT_TIMEOUT(taskId, queue ?? '?', timeoutMs), { taskId })
  }
  const first = text.indexOf('\n')
  const second = text.indexOf('\n', first + 1)
  const kind = text.slice(0, first)
  const at = second < 0 ? (queue ?? '') : text.slice(first + 1, second)
  const rest = second < 0 ? '' : text.slice(second + 1)
  switch (kind) {
    case 's': return { id: taskId, queue: at, status: 'succeeded', result: JSON.parse(rest) }
    case 'h': return { id: taskId, queue: at, status: 'halted', error: rest }
    case 'd': return { id: taskId, queue: at, status: 'dead-lettered', error: rest }
    default: throw new FST_FIFO_RESULT_REFUSED(taskId, at, rest)
  }
}
