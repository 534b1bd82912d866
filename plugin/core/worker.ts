import { AsyncResource } from 'node:async_hooks'
import type { Logger } from './log'
import {
  describeError, FST_FIFO_LEASE_LOST, FST_FIFO_SHUTDOWN, FST_FIFO_TIMEOUT,
} from './errors'
import type { Metrics } from './metrics'
import { backoffDelay, runInContext, type Registry, type TaskContext, type TaskDefinition } from './registry'
import type { ClaimedTask, CompleteResult, EnqueueResult, FailInput, InstanceInfo, LeaseRef, NewTask, Store } from '../store/store'
import { parseArgs } from './task'

export interface WorkerOptions {
  store: Store
  registry: Registry
  log: Logger
  metrics: Metrics
  instance: InstanceInfo
  concurrency: number
  leaseMs: number
  sweepMs: number
  burst: number
  /** Completions of one queue that may be in flight while later tasks run (0: none, the safe default). */
  pipelinedAcks: number
  closeTimeoutMs: number
}

/** A completion sent without waiting for it (pipelined acks). */
interface PendingAck {
  taskId: string
  reply: Promise<CompleteResult>
}

/** One queue this instance holds, with the run of its current head. */
interface Hold {
  lease: LeaseRef
  task: ClaimedTask
  /** The current head's AbortController, made only when a handler asks for its signal. */
  controller: AbortController | null
  /** Why the current head's run was aborted, once it was. */
  abortReason: unknown
  /** Ends the current head's run at once (set while a handler runs). */
  endRun: ((reason: unknown) => void) | null
  /** Local time until which the store has confirmed the lease (last successful renewal + leaseMs). */
  confirmedUntil: number
  lost: boolean
  /**
   * True from the moment a head's settling call (complete, fail, park) is sent
   * until the worker has taken in its reply and goes on with the next head
   * (for good when the hold ends). Meanwhile a heartbeat that no longer finds
   * the lease proves nothing — that call may have ended the lease itself —
   * so its own reply decides.
   */
  settling: boolean
  done: Promise<void>
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs the queues inside the server: one claim loop fills up to `concurrency`
 * holds; each hold runs its queue's heads one after another (the store hands
 * the next head back with each completion) until the queue is empty, the
 * fairness burst is spent, or the instance closes.
 */
export class Worker {
  readonly #o: WorkerOptions
  readonly #holds = new Map<string, Hold>()
  #claiming = false
  #closing = false
  /** Slots promised to enqueues in flight that offered to claim their task. */
  #reserved = 0
  /** Starts a hold outside the caller's async context (set by start()). */
  #adopt: (claimed: ClaimedTask, sentAt: number) => void = () => {}
  #loop: Promise<void> | null = null
  #slotFreed: (() => void) | null = null
  #heartbeatTimer: NodeJS.Timeout | null = null
  #sweepTimer: NodeJS.Timeout | null = null
  #retryTimers = new Set<NodeJS.Timeout>()
  #closePromise: Promise<void> | null = null
  #storeDown = false
  readonly #missingLogged = new Set<string>()

  constructor (options: WorkerOptions) {
    this.#o = options
  }

  get heldLeases (): number {
    return this.#holds.size
  }

  start (): void {
    if (this.#claiming || this.#closing) return
    this.#claiming = true
    const beatMs = Math.max(50, Math.floor(this.#o.leaseMs / 3))
    this.#heartbeatTimer = setInterval(() => { this.#background(this.#heartbeat()) }, beatMs)
    this.#sweepTimer = setInterval(() => { this.#background(this.#sweep()) }, this.#o.sweepMs)
    this.#background(this.#heartbeat())
    this.#background(this.#sweep())
    // A task claimed on enqueue runs in the worker's context, not in the request (or
    // handler) that enqueued it: nothing the caller keeps in AsyncLocalStorage leaks into it.
    this.#adopt = AsyncResource.bind((claimed: ClaimedTask, sentAt: number) => {
      if (this.#claiming) {
        this.#hold(claimed, sentAt)
      } else {
        // Closing began while the enqueue was in flight: hand the queue to another instance.
        this.#background(this.#o.store.release({ queue: claimed.queue, token: claimed.token }, false).then(() => {}, () => {}))
      }
    })
    this.#loop = this.#claimLoop()
  }

  /**
   * Stores a task. When this instance has a free slot and the handler, it
   * offers to run the task itself: if the task made its queue runnable, the
   * store leases the queue to this instance in the same call (claim on
   * enqueue), and the task starts without a wake-up and a claim round trip.
   * Any other instance would have had to do the same work; none waits for it.
   */
  enqueue (task: NewTask): Promise<EnqueueResult> {
    const store = this.#o.store
    if (!this.#claiming || this.#holds.size + this.#reserved >= this.#o.concurrency || this.#o.registry.get(task.name) === undefined) {
      return store.enqueue(task)
    }
    this.#reserved++
    const sentAt = Date.now()
    return store.enqueue(task, { owner: this.#o.instance.id, leaseMs: this.#o.leaseMs }).then((result) => {
      this.#reserved--
      if (result.claimed === undefined) this.#wakeLoop()
      else this.#adopt(result.claimed, sentAt)
      return result
    }, (err: unknown) => {
      this.#reserved--
      this.#wakeLoop()
      throw err
    })
  }

  /** preClose: take no new queues. Running heads go on. */
  stopClaiming (): void {
    this.#claiming = false
    this.#o.store.interruptWait()
    this.#wakeLoop()
  }

  /** onClose: wait for running heads up to closeTimeoutMs, abort the rest, hand every queue back. */
  async close (): Promise<void> {
    this.#closePromise ??= this.#close()
    return await this.#closePromise
  }

  async #close (): Promise<void> {
    this.stopClaiming()
    this.#closing = true
    await this.#loop
    const running = [...this.#holds.values()]
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), this.#o.closeTimeoutMs) })
      const result = await Promise.race([Promise.allSettled(running.map((h) => h.done)), timedOut])
      clearTimeout(timer)
      if (result === 'timeout') {
        const left = [...this.#holds.values()]
        this.#o.log.warn({ queues: left.map((h) => h.lease.queue) }, 'fastify-fifo: closeTimeoutMs passed; aborting running tasks and handing their queues over')
        await Promise.allSettled(left.map(async (h) => {
          h.lost = true
          abortRun(h, new FST_FIFO_SHUTDOWN(h.task.name, h.task.id, this.#o.closeTimeoutMs))
          this.#holds.delete(h.lease.queue)
          // The head started, so its attempt stays counted.
          await this.#o.store.release(h.lease, true)
        }))
      }
    }
    if (this.#heartbeatTimer !== null) clearInterval(this.#heartbeatTimer)
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer)
    for (const t of this.#retryTimers) clearTimeout(t)
    this.#retryTimers.clear()
    try {
      await this.#o.store.removeInstance(this.#o.instance.id)
    } catch (err) {
      this.#o.log.warn({ err: describeError(err) }, 'fastify-fifo: could not remove the instance record')
    }
  }

  #background (work: Promise<void>): void {
    work.catch((err) => this.#o.log.error({ err: describeError(err) }, 'fastify-fifo: unexpected error in a background task'))
  }

  #wakeLoop (): void {
    const wake = this.#slotFreed
    this.#slotFreed = null
    wake?.()
  }

  async #claimLoop (): Promise<void> {
    const idleWaitMs = Math.min(5000, Math.max(100, this.#o.sweepMs))
    let failures = 0
    while (this.#claiming) {
      if (this.#holds.size + this.#reserved >= this.#o.concurrency) {
        await new Promise<void>((resolve) => { this.#slotFreed = resolve })
        continue
      }
      let claimed: ClaimedTask | null
      const sentAt = Date.now()
      try {
        claimed = await this.#o.store.claim(this.#o.instance.id, this.#o.leaseMs)
        failures = 0
        this.#storeUp()
      } catch (err) {
        this.#storeFailed(err)
        failures++
        await sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)))
        continue
      }
      if (claimed !== null) {
        if (!this.#claiming) {
          // Closing began while the claim was in flight: give it straight back.
          await this.#o.store.release({ queue: claimed.queue, token: claimed.token }, false).catch(() => {})
          break
        }
        this.#hold(claimed, sentAt)
        continue
      }
      try {
        await this.#o.store.waitForWork(idleWaitMs)
      } catch (err) {
        this.#storeFailed(err)
        await sleep(250)
      }
    }
  }

  #storeFailed (err: unknown): void {
    if (!this.#storeDown) {
      this.#storeDown = true
      this.#o.log.error({ err: describeError(err) }, 'fastify-fifo: store unavailable; workers wait and retry')
    }
  }

  #storeUp (): void {
    if (this.#storeDown) {
      this.#storeDown = false
      this.#o.log.info('fastify-fifo: store reachable again; workers resumed')
    }
  }

  #hold (first: ClaimedTask, sentAt: number): void {
    const hold: Hold = {
      lease: { queue: first.queue, token: first.token },
      task: first,
      controller: null,
      abortReason: undefined,
      endRun: null,
      // The store granted the lease after we sent the request, so it lasts at least until here.
      confirmedUntil: sentAt + this.#o.leaseMs,
      lost: false,
      settling: false,
      done: Promise.resolve(),
    }
    this.#holds.set(first.queue, hold)
    hold.done = this.#runQueue(hold).catch((err) => {
      this.#o.log.error({ err: describeError(err), queue: first.queue }, 'fastify-fifo: queue run ended with an unexpected error')
    }).finally(() => {
      if (this.#holds.get(first.queue) === hold) this.#holds.delete(first.queue)
      this.#wakeLoop()
    })
  }

  async #runQueue (hold: Hold): Promise<void> {
    const { store, instance, leaseMs, burst } = this.#o
    const ahead = this.#o.pipelinedAcks
    let ran = 0
    // Pipelined acks only: the tasks known to be queued behind the current one, and the completions in flight.
    let following: ClaimedTask[] = []
    const acks: PendingAck[] = []
    while (true) {
      const task = hold.task
      const step = await this.#runHead(hold, task)
      ran++
      if (step === 'released' || hold.lost) {
        await this.#flushAcks(hold, acks)
        return
      }
      const keep = ran < burst && this.#claiming && !this.#closing
      if (step === 'succeeded' && keep && acks.length < ahead && following.length > 0 && this.#canRunAhead(following[0])) {
        // Pipelined acks (opt-in): send this completion and start the next task without waiting for it.
        hold.settling = true
        acks.push({ taskId: task.id, reply: store.complete(hold.lease, task.id, instance.id, leaseMs, true) })
        hold.task = following.shift() as ClaimedTask
        hold.controller = null
        hold.abortReason = undefined
        continue
      }
      let next: ClaimedTask | null | 'fenced' | 'stop'
      const sentAt = Date.now()
      hold.settling = true
      if (step === 'succeeded') {
        // Sent before the pipelined acks are awaited, so it costs no extra round trip.
        let first: Promise<CompleteResult> | null = store.complete(hold.lease, task.id, instance.id, leaseMs, keep, ahead)
        if (acks.length > 0) {
          // Handled below, after the acks (marked handled now so a quick rejection is not reported as unhandled).
          first.catch(() => {})
          if (!await this.#flushAcks(hold, acks)) return
        }
        next = await this.#settle(hold, async () => {
          const reply = first ?? store.complete(hold.lease, task.id, instance.id, leaseMs, keep, ahead)
          first = null
          const r = await reply
          return r.ok ? r.next : 'fenced'
        })
        if (next !== 'fenced' && next !== 'stop') this.#o.metrics.completed++
      } else {
        // The failed task is the head only once the completions before it are stored.
        if (acks.length > 0 && !await this.#flushAcks(hold, acks)) return
        next = await this.#settle(hold, async () => {
          const r = await store.fail(hold.lease, step)
          if (!r.ok) return 'fenced'
          this.#afterFail(task, r.outcome, step.delayMs)
          return null
        })
      }
      if (next === 'fenced') {
        this.#fenced(hold, task)
        return
      }
      if (next === null || next === 'stop') return
      following = next.following ?? []
      hold.settling = acks.length > 0
      hold.task = next
      hold.controller = null
      hold.abortReason = undefined
      hold.confirmedUntil = sentAt + leaseMs
    }
  }

  /** A task may run ahead of its predecessor's stored completion only when nothing but its own run can stop it. */
  #canRunAhead (task: ClaimedTask): boolean {
    return task.corrupt === undefined && this.#o.registry.get(task.name) !== undefined
  }

  /**
   * Waits for the pipelined completions, in order. All stored: true. Otherwise
   * the hold ends: a refused token means the lease was lost; a failed call
   * leaves unknown which completions were stored, so the queue is given back
   * and its next holder starts from the first task whose completion is not
   * stored (a task may run again after a later one started: the documented
   * limit of pipelined acks).
   */
  async #flushAcks (hold: Hold, acks: PendingAck[]): Promise<boolean> {
    if (acks.length === 0) return true
    let fenced = false
    let failed = false
    for (const ack of acks) {
      try {
        const r = await ack.reply
        if (r.ok) this.#o.metrics.completed++
        else fenced = true
      } catch (err) {
        this.#storeFailed(err)
        failed = true
      }
    }
    acks.length = 0
    if (fenced) {
      this.#fenced(hold, hold.task)
    } else if (failed) {
      hold.lost = true
      this.#o.log.warn({ queue: hold.lease.queue }, 'fastify-fifo: a pipelined completion failed; giving the queue back so its next holder resumes from the first unstored completion')
      await this.#o.store.release(hold.lease, true).catch(() => {})
    }
    return !fenced && !failed
  }

  #afterFail (task: ClaimedTask, outcome: 'retrying' | 'halted' | 'dead', delayMs: number): void {
    const m = this.#o.metrics
    m.failed++
    if (outcome === 'retrying') {
      m.retried++
      // Promote the retry as soon as it is due rather than at the next sweep.
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer)
        this.#background(this.#sweep())
      }, delayMs + 5)
      this.#retryTimers.add(timer)
    } else if (outcome === 'halted') {
      m.halted++
      this.#o.log.error({ queue: task.queue, taskId: task.id, task: task.name, attempt: task.attempt }, 'fastify-fifo: task exhausted its attempts; queue halted until an operator retries or skips it')
    } else {
      m.deadLettered++
      this.#o.log.warn({ queue: task.queue, taskId: task.id, task: task.name, attempt: task.attempt }, 'fastify-fifo: task moved to the dead letters')
    }
  }

  #fenced (hold: Hold, task: ClaimedTask): void {
    this.#o.metrics.fenced++
    hold.lost = true
    if (hold.abortReason === undefined) abortRun(hold, new FST_FIFO_LEASE_LOST(task.queue, 'the store rejected this holder\'s token'))
    this.#o.log.warn({ queue: task.queue, taskId: task.id, attempt: task.attempt }, 'fastify-fifo: lease lost; the store rejected this run\'s result and another instance runs the task')
  }

  /**
   * Retries a settling call while the store is unreachable: the result of a run
   * must not be dropped on a blip. Gives up when the lease is known lost (the
   * next holder runs the task again) or shutdown has aborted the hold.
   */
  async #settle<T> (hold: Hold, call: () => Promise<T>): Promise<T | 'stop'> {
    let failures = 0
    while (true) {
      try {
        const result = await call()
        this.#storeUp()
        return result
      } catch (err) {
        this.#storeFailed(err)
        failures++
        if (hold.lost || (this.#closing && !this.#holds.has(hold.lease.queue))) return 'stop'
        if (Date.now() > hold.confirmedUntil + this.#o.leaseMs) {
          // Long past the lease: another instance owns the queue by now.
          hold.lost = true
          return 'stop'
        }
        await sleep(Math.min(1000, 25 * 2 ** Math.min(failures, 6)))
      }
    }
  }

  /** Runs one head. Returns 'succeeded', the failure to record, or 'released' when the hold ended without settling. */
  async #runHead (hold: Hold, task: ClaimedTask): Promise<'succeeded' | 'released' | FailInput> {
    if (task.corrupt !== undefined) {
      return { error: `FST_FIFO_CORRUPT_TASK: ${task.corrupt}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter', deadLetterNow: true }
    }
    const def = this.#o.registry.get(task.name)
    if (def === undefined) {
      if (!this.#missingLogged.has(task.name)) {
        this.#missingLogged.add(task.name)
        this.#o.log.warn({ queue: task.queue, task: task.name }, 'fastify-fifo: no handler with this name here; the queue waits for an instance that has it')
      }
      hold.settling = true
      await this.#settle(hold, async () => await this.#o.store.park(hold.lease, task.name))
      return 'released'
    }
    let args: unknown[]
    try {
      args = parseArgs(task.payload)
    } catch (err) {
      return { error: `FST_FIFO_CORRUPT_TASK: ${(err as Error).message}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter', deadLetterNow: true }
    }
    if (!this.#leaseStillOurs(hold)) {
      // The reply that handed us this head came too late (a slow network, a
      // frozen process): the lease may have expired and another instance may
      // already run this queue. Starting now could run task n after task n+1.
      this.#fenced(hold, task)
      return 'released'
    }
    if (task.attempt > def.attempts) {
      // Earlier runs were lost (crash or lease loss) and used up the attempts.
      return this.#failure(def, task, `attempt ${task.attempt} exceeds attempts (${def.attempts}): earlier runs were lost to a crash or a lost lease${task.lastError === undefined ? '' : `; last error: ${task.lastError}`}`, false)
    }
    return await this.#invoke(hold, def, task, args)
  }

  /**
   * True while the lease is surely still valid: its confirmed end is more than
   * a safety margin away, so the handler does not start in the last moments of
   * a lease that could lapse before the first heartbeat renews it.
   */
  #leaseStillOurs (hold: Hold): boolean {
    const margin = Math.min(1000, Math.floor(this.#o.leaseMs / 10))
    return !hold.lost && Date.now() < hold.confirmedUntil - margin
  }

  async #invoke (hold: Hold, def: TaskDefinition, task: ClaimedTask, args: unknown[]): Promise<'succeeded' | FailInput> {
    const ctx = new RunContext(hold, task, def.attempts, this.#o.log)
    let timer: NodeJS.Timeout | undefined
    const started = performance.now()
    try {
      const result = runInContext(ctx, () => def.handler(...args))
      if (isThenable(result)) {
        // The run ends when the handler settles or its run is aborted (lease
        // lost, timeout, shutdown): a handler that ignores its signal cannot hold the queue.
        // One promise settled by whichever comes first (cheaper than a race against a second promise).
        const run = new Promise<unknown>((resolve, reject) => {
          if (hold.abortReason !== undefined) {
            reject(hold.abortReason)
            return
          }
          hold.endRun = reject
          result.then(resolve, reject)
        })
        if (def.timeoutMs > 0) {
          timer = setTimeout(() => abortRun(hold, new FST_FIFO_TIMEOUT(def.name, task.id, def.timeoutMs)), def.timeoutMs)
        }
        await run
      }
      if (hold.abortReason !== undefined) throw hold.abortReason
      return 'succeeded'
    } catch (err) {
      if (hold.lost) return { error: describeError(err), maxAttempts: def.attempts, delayMs: 0, onExhausted: def.onExhausted }
      const unrecoverable = (err as { code?: unknown } | null)?.code === 'FST_FIFO_UNRECOVERABLE'
      ctx.log.warn({ err: describeError(err) }, unrecoverable ? 'fastify-fifo: task failed unrecoverably' : 'fastify-fifo: task failed')
      return this.#failure(def, task, describeError(err), unrecoverable)
    } finally {
      hold.endRun = null
      clearTimeout(timer)
      this.#o.metrics.observeDuration(performance.now() - started)
    }
  }

  #failure (def: TaskDefinition, task: ClaimedTask, error: string, deadLetterNow: boolean): FailInput {
    return { error, maxAttempts: def.attempts, delayMs: backoffDelay(def, task.attempt), onExhausted: def.onExhausted, deadLetterNow }
  }

  async #heartbeat (): Promise<void> {
    const holds = [...this.#holds.values()].filter((h) => !h.lost)
    const sentAt = Date.now()
    try {
      const lost = await this.#o.store.heartbeat(
        { ...this.#o.instance, handlers: this.#o.registry.names },
        holds.map((h) => h.lease),
        this.#o.leaseMs
      )
      this.#storeUp()
      const lostSet = new Set(lost)
      for (const h of holds) {
        if (lostSet.has(h.lease.queue) && h.lease.token === this.#holds.get(h.lease.queue)?.lease.token) {
          // A completion that emptied the queue also ends the lease: not a loss. Its reply decides.
          if (!h.settling) this.#fenced(h, h.task)
        } else {
          h.confirmedUntil = sentAt + this.#o.leaseMs
        }
      }
    } catch (err) {
      this.#storeFailed(err)
    }
    // A lease the store has not confirmed in time may belong to someone else now.
    const now = Date.now()
    for (const h of this.#holds.values()) {
      if (!h.lost && now > h.confirmedUntil) this.#fenced(h, h.task)
    }
  }

  async #sweep (): Promise<void> {
    if (this.#closing) return
    try {
      await this.#o.store.sweep(this.#o.registry.names)
      this.#storeUp()
    } catch (err) {
      this.#storeFailed(err)
    }
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/** Aborts the current head's run: its signal fires and the worker stops waiting for it. */
function abortRun (hold: Hold, reason: unknown): void {
  if (hold.abortReason !== undefined) return
  hold.abortReason = reason
  hold.controller?.abort(reason)
  hold.endRun?.(reason)
}

/**
 * The context a handler sees. Its logger and AbortSignal are made on first use:
 * most handlers never touch them, and making both costs more than the rest of
 * a task's bookkeeping.
 */
class RunContext implements TaskContext {
  readonly id: string
  readonly queue: string
  readonly name: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly enqueuedAt: number
  readonly requestId: string | null
  readonly #hold: Hold
  readonly #parentLog: Logger
  #log: Logger | null = null

  constructor (hold: Hold, task: ClaimedTask, maxAttempts: number, log: Logger) {
    this.id = task.id
    this.queue = task.queue
    this.name = task.name
    this.attempt = task.attempt
    this.maxAttempts = maxAttempts
    this.enqueuedAt = task.enqueuedAt
    this.requestId = task.requestId ?? null
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
