import { FST_FIFO_NOT_FOUND, FST_FIFO_NOT_WAITED } from '../core/errors'
import { OUTCOME_TTL_MS } from './store'

/**
 * What a store found when it looked for a task's outcome (waitOutcome):
 * a kept outcome; else where the task is and whether it carries the wait
 * flag; else nothing.
 */
export type OutcomeLook =
  | { kind: 'kept', text: string }
  | { kind: 'queued' | 'dead', queue: string, waited: boolean }
  | { kind: 'none' }

const KEPT = `${OUTCOME_TTL_MS / 60_000} minutes`

/**
 * Turns a look into what the wait does: the outcome text, null to go on
 * waiting (a waited task still queued), or a refusal naming `shownId` (the
 * id as the caller knows it) when no outcome is kept and none can come.
 */
export function lookResult (shownId: string, look: OutcomeLook): string | null {
  switch (look.kind) {
    case 'kept': return look.text
    case 'queued':
      if (look.waited) return null
      throw new FST_FIFO_NOT_WAITED(shownId, look.queue, 'is queued')
    case 'dead':
      if (!look.waited) throw new FST_FIFO_NOT_WAITED(shownId, look.queue, 'is in the dead letters')
      throw new FST_FIFO_NOT_FOUND(`task ${shownId} on queue "${look.queue}" is in the dead letters, and its outcome is no longer kept (outcomes are kept ${KEPT} after a task settles)`)
    default:
      throw new FST_FIFO_NOT_FOUND(`task ${shownId}: no outcome is kept for it and it is neither queued nor dead-lettered (an unknown id, a task that settled without the wait call option, or one whose outcome expired ${KEPT} after it settled)`)
  }
}

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
  /** Notices delivered so far (a clock for the expectations below). */
  #heard = 0
  /** Open expectations (waited tasks sent, their ids not known yet): ticket → notices heard when it opened. */
  readonly #open = new Map<number, number>()
  #tickets = 0
  /** Notices for ids nobody waited on yet, heard while an expectation was open, in the order heard. */
  readonly #early = new Map<string, { text: string, at: number }>()

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
      const leave = (): void => {
        clearTimeout(waiter.timer)
        const set = this.#waiters.get(taskId)
        if (set !== undefined) {
          set.delete(waiter)
          if (set.size === 0) this.#waiters.delete(taskId)
        }
      }
      const waiter: Waiter = {
        resolve: (text) => {
          leave()
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
        leave()
        reject(err)
      })
    })
  }

  /**
   * Hands `text` to every waiter of `taskId`. With none, the notice is kept
   * while an expectation opened before it is open (its task may be this one);
   * otherwise nothing happens.
   */
  deliver (taskId: string, text: string): void {
    this.#heard++
    const set = this.#waiters.get(taskId)
    if (set === undefined) {
      if (this.#open.size > 0) {
        this.#early.delete(taskId)
        this.#early.set(taskId, { text, at: this.#heard })
      }
      return
    }
    for (const waiter of [...set]) waiter.resolve(text)
  }

  /**
   * Opens an expectation right before a waited task is sent, while the
   * subscription is up: its outcome may be published (and heard) before the
   * store's reply tells its id. Returns a ticket for `unexpect`.
   */
  expect (): number {
    const ticket = ++this.#tickets
    this.#open.set(ticket, this.#heard)
    return ticket
  }

  /**
   * Closes an expectation: its task was stored as `taskId` (or, with none, was
   * not stored). Returns the notice for `taskId` heard while it was open, if
   * one came; notices no open expectation can still claim are dropped.
   */
  unexpect (ticket: number, taskId?: string): string | undefined {
    this.#open.delete(ticket)
    let text: string | undefined
    if (taskId !== undefined) {
      text = this.#early.get(taskId)?.text
      this.#early.delete(taskId)
    }
    if (this.#open.size === 0) {
      this.#early.clear()
    } else if (this.#early.size > 0) {
      let oldest = Infinity
      for (const since of this.#open.values()) oldest = Math.min(oldest, since)
      for (const [id, notice] of this.#early) {
        if (notice.at > oldest) break
        this.#early.delete(id)
      }
    }
    return text
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
    this.#open.clear()
    this.#early.clear()
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.resolve(null)
  }
}

/** A notification message `<taskId>\n<outcome>`, split; null when malformed. */
export function splitNotice (message: string): { taskId: string, text: string } | null {
  const nl = message.indexOf('\n')
  return nl <= 0 ? null : { taskId: message.slice(0, nl), text: message.slice(nl + 1) }
}
