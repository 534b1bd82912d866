import { extrasOf, joinRequestField, refuseRequestField } from './extras'
import { FST_FIFO_CLOSED, FST_FIFO_CONFLICT, FST_FIFO_INVALID_OPTION, FST_FIFO_NOT_FOUND } from '../core/errors'
import type {
  AcquireResult, ClaimedTask, ClaimRequest, CompleteResult, DeadLetter, EnqueueResult, FailInput, FailResult, InstanceInfo, InstanceRow,
  LeaseRef, LimiterState, LimitHolder, LimitSpec, ListQueuesQuery, NewTask, Overview, Page, QueueRow, Store, TaskRow, ThrottleInput, ThrottleResult,
} from './store'
import * as limits from './memory/limits'
import * as reads from './memory/reads'
import { claimedTask, deadLetter, queueState } from './memory/records'
import { WAIT_FLAG } from './store'
import { MemoryOutcomes } from './memory/outcomes'
import { MemoryState } from './memory/state'
import { sweep } from './memory/sweep'

export interface MemoryStoreOptions {
  /**
   * Dead letters kept; the oldest is dropped beyond it.
   * @default 10000
   */
  deadLetterLimit?: number
  /**
   * The store's clock, ms since epoch. Lease expiry, retry times, stats buckets,
   * dedupe windows and instance liveness all read it; tests pass one they control.
   * (waitForWork's timeout is a real timer: nothing can block on a fake clock.)
   * @default Date.now
   */
  now?: () => number
}

/** Window used when a dedupeId comes without dedupeMs (the registry always sends both). */
const DEFAULT_DEDUPE_MS = 300_000

/**
 * The Store contract in one process: the same semantics as RedisStore, nothing
 * durable. Used when the plugin gets no `redis` option, and in users' tests.
 * Every method changes plain maps synchronously (so each is atomic, like a Lua
 * script) and returns fresh objects, so no caller can reach a stored record.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  readonly #state: MemoryState
  readonly #outcomes = new MemoryOutcomes()
  #closed = false

  constructor (options: MemoryStoreOptions = {}) {
    const limit = options.deadLetterLimit ?? 10_000
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      throw new FST_FIFO_INVALID_OPTION('deadLetterLimit', `must be a whole number ≥ 1, got ${String(limit)} (${typeof limit})`)
    }
    const now = options.now ?? Date.now
    if (typeof now !== 'function') throw new FST_FIFO_INVALID_OPTION('now', `must be a function returning ms since epoch, got ${typeof now}`)
    this.#state = new MemoryState(now, limit)
  }

  async connect (): Promise<void> {}

  async close (): Promise<void> {
    this.#closed = true
    this.#state.wake.close()
    this.#outcomes.close()
  }

  async enqueue (task: NewTask, claim?: ClaimRequest): Promise<EnqueueResult> {
    // Like RedisStore after close: refuse rather than accept a task no worker will ever run.
    // Reads keep working, so a test can still inspect the final state.
    if (this.#closed) throw new FST_FIFO_CLOSED(task.name)
    const refused = refuseRequestField(task.requestId, task.extras)
    if (refused !== null) throw refused
    const s = this.#state
    const now = s.now()
    if (task.dedupeId !== undefined) {
      const hit = s.dedupe.get(task.dedupeId)
      if (hit !== undefined && hit.expiresAt > now) return { ...hit.result, duplicate: true }
    }
    const id = (++s.lastTaskId).toString(36)
    const before = s.queues.get(task.queue)
    // Claim on enqueue: only a task that makes its queue runnable (empty before, not paused, not held).
    const claims = claim !== undefined && (before === undefined || (before.ids.length === 0 && !before.paused && before.lease === null))
    const extras = task.waitMs === undefined ? task.extras : { ...task.extras, [WAIT_FLAG]: '1' }
    const record = { id, queue: task.queue, name: task.name, payload: task.payload, enqueuedAt: now, requestId: extras === undefined ? task.requestId ?? null : joinRequestField(task.requestId, extras), attempts: 0, lastError: null, seq: 0 }
    s.append(record, !claims)
    if (task.dedupeId !== undefined) {
      // Delete first so the map stays in enqueue order and sweep can prune from the front.
      s.dedupe.delete(task.dedupeId)
      s.dedupe.set(task.dedupeId, { result: { id, queue: task.queue, name: task.name }, expiresAt: now + (task.dedupeMs ?? DEFAULT_DEDUPE_MS) })
    }
    const result: EnqueueResult = { id, queue: task.queue, name: task.name, duplicate: false }
    // Listening before anyone can settle the task (synchronously, in this call).
    if (task.waitMs !== undefined) result.outcome = this.#outcomes.wait(id, task.waitMs)
    if (claims) result.claimed = s.grant(s.queue(task.queue), claim.owner, claim.leaseMs)
    return result
  }

  async claim (owner: string, leaseMs: number, _offerMs?: number, lookahead = 0): Promise<ClaimedTask | null> {
    return this.#claimWaiting(owner, leaseMs, lookahead)
  }

  /** Takes the first waiting queue for `owner` (claim, and complete's claimNext), with a lookahead for pipelined acks. */
  #claimWaiting (owner: string, leaseMs: number, lookahead: number): ClaimedTask | null {
    const s = this.#state
    const name = s.ready.shift()
    if (name === undefined) return null
    const q = s.queue(name)
    const claimed = s.grant(q, owner, leaseMs)
    if (lookahead >= 1 && q.lease !== null) claimed.following = s.following(q, Math.min(Math.floor(lookahead), 1000), q.lease)
    return claimed
  }

  async complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead = 0, outcome?: string, claimNext = false): Promise<CompleteResult> {
    const s = this.#state
    const q = s.leased(lease)
    if (q === null) return { ok: false, fenced: true }
    const now = s.now()
    // A retry of a call that already completed taskId: remove nothing more.
    const repeat = q.ids.length === 0 || s.head(q).id !== taskId
    if (!repeat) {
      s.dropHead(q)
      s.stats.completed(now)
      if (outcome !== undefined) this.#outcomes.settle(taskId, outcome)
    }
    if (keep && q.ids.length > 0 && !q.paused) {
      q.lease = { owner, token: lease.token, expiresAt: now + leaseMs }
      const next = s.head(q)
      if (!repeat) next.attempts++
      const claimed = claimedTask(next, q.lease)
      if (!repeat && lookahead >= 1) claimed.following = s.following(q, Math.min(Math.floor(lookahead), 1000), q.lease)
      return { ok: true, next: claimed }
    }
    s.unlease(q)
    // Back of the line: a queue that ran its burst lets the others have a turn (G7).
    s.reschedule(q, 'back')
    // claimNext: the first waiting queue is the caller's now, as claim() would make it.
    const claimed = claimNext ? this.#claimWaiting(owner, leaseMs, lookahead) : null
    return claimed === null ? { ok: true, next: null } : { ok: true, next: null, claimed }
  }

  async fail (lease: LeaseRef, input: FailInput): Promise<FailResult> {
    const s = this.#state
    const q = s.leased(lease)
    if (q === null) return { ok: false, fenced: true }
    const now = s.now()
    const head = s.head(q)
    head.lastError = input.error
    s.stats.failed(now)
    s.unlease(q)
    const exhausted = head.attempts >= input.maxAttempts
    let result: FailResult
    if (input.deadLetterNow === true || (exhausted && input.onExhausted === 'dead-letter')) {
      s.deadLetterHead(q, input.error)
      result = { ok: true, outcome: 'dead' }
      if (input.waitedId !== undefined) this.#outcomes.settle(input.waitedId, 'd\n' + q.name + '\n' + input.error)
    } else if (exhausted) {
      q.haltedAt = now
      result = { ok: true, outcome: 'halted' }
      if (input.waitedId !== undefined) this.#outcomes.settle(input.waitedId, 'h\n' + q.name + '\n' + input.error)
    } else {
      q.retryAt = now + Math.max(0, input.delayMs)
      s.retrying.add(q.name)
      result = { ok: true, outcome: 'retrying', retryAt: q.retryAt }
    }
    s.reschedule(q, 'back')
    return result
  }

  async waitOutcome (taskId: string, timeoutMs: number): Promise<string | null> {
    return await this.#outcomes.wait(taskId, timeoutMs, () => {
      const s = this.#state
      const task = s.tasks.get(taskId)
      if (task !== undefined) return { kind: 'queued', queue: task.queue, waited: extrasOf(task.requestId)?.[WAIT_FLAG] === '1' }
      const dead = s.dead.get(taskId)
      if (dead !== undefined) return { kind: 'dead', queue: dead.queue, waited: extrasOf(dead.requestId)?.[WAIT_FLAG] === '1' }
      return { kind: 'none' }
    })
  }

  /** How many waited tasks' outcomes are kept (for tests). */
  get keptOutcomes (): number {
    return this.#outcomes.kept
  }

  async release (lease: LeaseRef, keepAttempt: boolean): Promise<boolean> {
    const s = this.#state
    const q = s.leased(lease)
    if (q === null) return false
    if (!keepAttempt) s.uncountAttempt(q)
    s.unlease(q)
    s.reschedule(q, 'front')
    return true
  }

  async park (lease: LeaseRef, handler: string): Promise<boolean> {
    const s = this.#state
    const q = s.leased(lease)
    if (q === null) return false
    s.uncountAttempt(q)
    s.unlease(q)
    q.missingHandler = handler
    s.parked.add(q.name)
    s.reschedule(q, 'back')
    return true
  }

  async heartbeat (instance: InstanceInfo, held: LeaseRef[], leaseMs: number): Promise<string[]> {
    const s = this.#state
    const now = s.now()
    s.instances.set(instance.id, { info: { ...instance, handlers: [...instance.handlers] }, lastHeartbeatAt: now, ttlMs: 3 * leaseMs })
    const lost: string[] = []
    for (const ref of held) {
      const lease = s.leased(ref)?.lease
      if (lease == null) lost.push(ref.queue)
      else lease.expiresAt = now + leaseMs
    }
    return lost
  }

  async removeInstance (id: string): Promise<void> {
    this.#state.instances.delete(id)
  }

  async sweep (handlers: string[]): Promise<{ recovered: number, promoted: number, unparked: number, nextRetryAt: number | null }> {
    return sweep(this.#state, handlers)
  }

  async waitForWork (timeoutMs: number): Promise<boolean> {
    return await this.#state.wake.wait(timeoutMs)
  }

  interruptWait (): void {
    this.#state.wake.interrupt()
  }

  async acquireLimit (limit: LimitSpec, holder: LimitHolder, slotMs: number): Promise<AcquireResult> {
    return limits.acquire(this.#state, limit, holder, slotMs)
  }

  async releaseLimit (limiter: string, holder: LimitHolder): Promise<void> {
    limits.wake(this.#state, limits.release(this.#state, limiter, holder), false)
  }

  async renewLimits (slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): Promise<void> {
    limits.renew(this.#state, slots, slotMs)
  }

  async throttle (lease: LeaseRef, input: ThrottleInput): Promise<ThrottleResult> {
    return limits.throttle(this.#state, lease, input)
  }

  async wakeThrottled (queues: string[], onlyDue: boolean): Promise<number> {
    return limits.wake(this.#state, queues, onlyDue)
  }

  async pauseLimiter (name: string, backoffMs: number | null): Promise<void> {
    limits.pause(this.#state, name, backoffMs)
  }

  async resumeLimiter (name: string): Promise<void> {
    limits.wake(this.#state, limits.resume(this.#state, name), false)
  }

  async listLimiters (): Promise<LimiterState[]> {
    return limits.list(this.#state)
  }

  async pause (queue: string): Promise<void> {
    const s = this.#state
    const q = s.existing(queue)
    q.paused = true
    s.ready.delete(q.name)
  }

  async resume (queue: string): Promise<void> {
    const s = this.#state
    const q = s.existing(queue)
    if (!q.paused) return
    q.paused = false
    s.reschedule(q, 'back')
  }

  async retryHead (queue: string): Promise<void> {
    const s = this.#state
    const q = s.existing(queue)
    const state = queueState(q)
    if (state === 'halted') {
      q.haltedAt = null
      s.head(q).attempts = 0
      // It runs again: a halt kept as its outcome is no longer its outcome.
      this.#outcomes.forget(s.head(q).id)
    } else if (state === 'retrying') {
      q.retryAt = null
      s.retrying.delete(q.name)
    } else if (state === 'throttled') {
      limits.unthrottle(s, q.name)
    } else {
      throw new FST_FIFO_CONFLICT(`queue ${JSON.stringify(queue)} is ${state}: only a halted, retrying or throttled head can be retried`)
    }
    // "Runs now": ahead of the queues already waiting.
    s.reschedule(q, 'front')
  }

  async skipHead (queue: string, reason: string): Promise<DeadLetter> {
    const s = this.#state
    const q = s.existing(queue)
    if (q.lease !== null) {
      throw new FST_FIFO_CONFLICT(`queue ${JSON.stringify(queue)} is running its head: pause it and skip once the head has settled`)
    }
    if (q.ids.length === 0) throw new FST_FIFO_CONFLICT(`queue ${JSON.stringify(queue)} is empty: there is no head to skip`)
    const dead = s.deadLetterHead(q, reason)
    s.reschedule(q, 'back')
    if (extrasOf(dead.requestId)?.[WAIT_FLAG] === '1') this.#outcomes.settle(dead.id, `d\n${queue}\nskipped by an operator: ${reason}`)
    return deadLetter(dead)
  }

  async requeueDead (id: string): Promise<EnqueueResult> {
    const s = this.#state
    const dead = s.dead.get(id)
    if (dead === undefined) throw new FST_FIFO_NOT_FOUND(`dead letter ${JSON.stringify(id)} does not exist`)
    s.dead.delete(id)
    this.#outcomes.forget(id)
    s.append({ id, queue: dead.queue, name: dead.name, payload: dead.payload, enqueuedAt: dead.enqueuedAt, requestId: dead.requestId, attempts: 0, lastError: null, seq: 0 })
    return { id, queue: dead.queue, name: dead.name, duplicate: false }
  }

  async deleteDead (id: string): Promise<void> {
    if (!this.#state.dead.delete(id)) throw new FST_FIFO_NOT_FOUND(`dead letter ${JSON.stringify(id)} does not exist`)
  }

  async overview (): Promise<Overview> {
    return reads.overview(this.#state)
  }

  async listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>> {
    return reads.listQueues(this.#state, query)
  }

  async getQueue (queue: string): Promise<QueueRow | null> {
    return reads.getQueue(this.#state, queue)
  }

  async queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>> {
    return reads.queueTasks(this.#state, queue, offset, limit)
  }

  async getTask (id: string): Promise<TaskRow | null> {
    return reads.getTask(this.#state, id)
  }

  async listDead (offset: number, limit: number): Promise<Page<DeadLetter>> {
    return reads.listDead(this.#state, offset, limit)
  }

  async getDead (id: string): Promise<DeadLetter | null> {
    return reads.getDead(this.#state, id)
  }

  async listInstances (): Promise<InstanceRow[]> {
    return reads.listInstances(this.#state)
  }
}
