/**
 * The waiters of task outcomes inside one store object (see Store.waitOutcome):
 * both stores register a waiter, then look for an outcome already stored, and
 * deliver notifications here. A wait ends with the first outcome, at its
 * timeout (null) or at close (null); every timer is cleared however it ends.
 */
interface Waiter {
  resolve: (text: string | null) => void
  timer: NodeJS.Timeout
}

export class OutcomeWaiters {
  readonly #waiters = new Map<string, Set<Waiter>>()
  #closed = false

  get size (): number {
    return this.#waiters.size
  }

  /**
   * Waits for `taskId`'s outcome: registers first, then calls `look` (a read
   * of the stored outcome, or null), so an outcome stored in between is seen
   * either way. A failing `look` rejects the wait.
   */
  async wait (taskId: string, timeoutMs: number, look: () => Promise<string | null>): Promise<string | null> {
    if (this.#closed) return null
    return await new Promise<string | null>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (text) => {
          clearTimeout(waiter.timer)
          const set = this.#waiters.get(taskId)
          if (set !== undefined) {
            set.delete(waiter)
            if (set.size === 0) this.#waiters.delete(taskId)
          }
          resolve(text)
        },
        timer: setTimeout(() => { waiter.resolve(null) }, Math.max(0, timeoutMs)),
      }
      let set = this.#waiters.get(taskId)
      if (set === undefined) {
        set = new Set()
        this.#waiters.set(taskId, set)
      }
      set.add(waiter)
      look().then((text) => { if (text !== null) waiter.resolve(text) }, (err: unknown) => {
        waiter.resolve(null)
        reject(err)
      })
    })
  }

  /** Hands `text` to every waiter of `taskId` (none: nothing happens). */
  deliver (taskId: string, text: string): void {
    const set = this.#waiters.get(taskId)
    if (set === undefined) return
    for (const waiter of [...set]) waiter.resolve(text)
  }

  /** Every waiter's outcome may have been missed (a dropped subscriber): look again for each. */
  recheck (look: (taskId: string) => Promise<string | null>): void {
    for (const taskId of [...this.#waiters.keys()]) {
      look(taskId).then((text) => { if (text !== null) this.deliver(taskId, text) }, () => {})
    }
  }

  /** Ends every wait with null. */
  close (): void {
    this.#closed = true
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.resolve(null)
  }
}

/** A notification message `<taskId>\n<outcome>`, split; null when malformed. */
export function splitNotice (message: string): { taskId: string, text: string } | null {
  const nl = message.indexOf('\n')
  return nl <= 0 ? null : { taskId: message.slice(0, nl), text: message.slice(nl + 1) }
}
