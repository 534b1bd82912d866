import { lookResult, OutcomeWaiters, type OutcomeLook } from '../outcomes'
import { OUTCOME_TTL_MS } from '../store'

/**
 * The memory store's kept outcomes of waited tasks: the in-process
 * counterpart of RedisStore's `res:<id>` keys (kept OUTCOME_TTL_MS) and their
 * pub/sub notices. Only tasks someone waits on are ever stored here.
 */
export class MemoryOutcomes {
  readonly #kept = new Map<string, { text: string, timer: NodeJS.Timeout }>()
  readonly #waiters = new OutcomeWaiters()

  /** Keeps `text` as `taskId`'s outcome and hands it to its waiters. */
  settle (taskId: string, text: string): void {
    const old = this.#kept.get(taskId)
    if (old !== undefined) clearTimeout(old.timer)
    const timer = setTimeout(() => { this.#kept.delete(taskId) }, OUTCOME_TTL_MS)
    timer.unref()
    this.#kept.set(taskId, { text, timer })
    this.#waiters.deliver(taskId, text)
  }

  /**
   * Waits for `taskId`'s outcome. `where` (when given) tells where the task is
   * if no outcome is kept; see lookResult for what follows from it.
   */
  wait (taskId: string, timeoutMs: number, where?: () => OutcomeLook): Promise<string | null> {
    return this.#waiters.wait(taskId, timeoutMs, async () => {
      const kept = this.#kept.get(taskId)
      if (kept !== undefined) return kept.text
      return where === undefined ? null : lookResult(taskId, where())
    })
  }

  /** Drops `taskId`'s kept outcome (its task runs again: an operator's retry or requeue). */
  forget (taskId: string): void {
    const old = this.#kept.get(taskId)
    if (old === undefined) return
    clearTimeout(old.timer)
    this.#kept.delete(taskId)
  }

  /** How many outcomes are kept (tests: nothing is kept for tasks nobody waits on). */
  get kept (): number {
    return this.#kept.size
  }

  close (): void {
    this.#waiters.close()
    for (const { timer } of this.#kept.values()) clearTimeout(timer)
    this.#kept.clear()
  }
}
