import { FST_FIFO_LEASE_LOST } from '../errors'
import type { Logger } from '../log'
import type { LimiterGrant, TaskContext } from '../registry'
import type { ClaimedTask } from '../../store/store'
import type { Hold } from './state'

/**
 * The context a handler sees. Its logger and AbortSignal are made on first use:
 * most handlers never touch them, and making both costs more than the rest of
 * a task's bookkeeping.
 */
export class RunContext implements TaskContext {
  readonly id: string
  readonly queue: string
  readonly name: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly enqueuedAt: number
  readonly requestId: string | null
  readonly limiter: LimiterGrant | null
  readonly #hold: Hold
  readonly #parentLog: Logger
  #log: Logger | null = null

  constructor (hold: Hold, task: ClaimedTask, maxAttempts: number, log: Logger, limiter: LimiterGrant | null) {
    this.id = task.id
    this.queue = task.queue
    this.name = task.name
    this.attempt = task.attempt
    this.maxAttempts = maxAttempts
    this.enqueuedAt = task.enqueuedAt
    this.requestId = task.requestId ?? null
    this.limiter = limiter
    this.#hold = hold
    this.#parentLog = log
  }

  get signal (): AbortSignal {
    const hold = this.#hold
    if (hold.task.id !== this.id) {
      // A context kept past its run: that run is over, so its signal has fired.
      return AbortSignal.abort(new FST_FIFO_LEASE_LOST(this.queue, 'this run has ended'))
    }
    if (hold.controller === null) {
      hold.controller = new AbortController()
      if (hold.abortReason !== undefined) hold.controller.abort(hold.abortReason)
    }
    return hold.controller.signal
  }

  get log (): Logger {
    this.#log ??= this.#parentLog.child({ taskId: this.id, queue: this.queue, task: this.name, attempt: this.attempt, ...(this.requestId === null ? {} : { reqId: this.requestId }) })
    return this.#log
  }
}
