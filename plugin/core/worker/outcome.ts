import { serializeArgs } from '../task'
import { WAIT_FLAG, type ClaimedTask } from '../../store/store'

/** True when someone waits on this task's outcome (enqueued with the `wait` call option). */
export function isWaited (task: ClaimedTask): boolean {
  return task.extras?.[WAIT_FLAG] === '1'
}

/**
 * The outcome text of a waited task that succeeded (see store.ts waitOutcome):
 * `s\n<queue>\n<result JSON>` — the result checked like arguments, undefined as null —
 * or `r\n<queue>\n<why>` when it is not JSON or over `maxResultBytes`. A refused result
 * never fails the task: it ran, only its waiter cannot have the value.
 */
export function successOutcome (task: ClaimedTask, result: unknown, maxResultBytes: number): string {
  let json: string
  try {
    // As one argument: the same checks (plain JSON values, no cycles, depth) and the same byte bound.
    json = serializeArgs(task.name, [result], maxResultBytes + 2).slice(1, -1)
  } catch (err) {
    const message = (err as Error).message
    if ((err as { code?: unknown }).code === 'FST_FIFO_PAYLOAD_TOO_LARGE') return `r\n${task.queue}\nthe result is over the ${maxResultBytes} byte limit (option maxResultBytes)`
    return `r\n${task.queue}\nthe result is not plain JSON (${message.replace(/^task "[^"]*": argument 0 ?/, 'value ')})`
  }
  return 's\n' + task.queue + '\n' + (json === '' ? 'null' : json)
}
