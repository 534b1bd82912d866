import { AsyncLocalStorage } from 'node:async_hooks'
import type { Logger } from './log'
import {
  FST_FIFO_CLOSED, FST_FIFO_INVALID_CALL_OPTION, FST_FIFO_INVALID_DEFINITION, FST_FIFO_INVALID_LIMITER_NAME, FST_FIFO_NOT_A_TASK,
} from './errors'
import { show } from './options'
import { badLimiterName, type Limiters } from './limits'
import type { LimitSpec } from '../store/store'
import type { EnqueueResult, NewTask } from '../store/store'
import { checkWaitMs, type TaskOutcome, type WaitedTask } from './wait'
import { checkQueueName, isValidTaskName, serializeArgs } from './task'

export interface BackoffOptions {
  /** `fixed` waits delayMs every time; `exponential` waits delayMs × 2^(attempt−1), capped by maxDelayMs. */
  type: 'fixed' | 'exponential'
  delayMs: number
  /** @default 30000 */
  maxDelayMs?: number
}

export interface TaskOptions<A extends unknown[]> {
  /** The queue: a fixed name, or a function of the call's arguments (e.g. per-order queues). */
  queue: string | ((...args: A) => string)
  /**
   * Runs allowed before the task is exhausted (runs lost to a crash count too).
   * @default 3
   */
  attempts?: number
  /**
   * Wait before a failed task is retried at the head of its queue. A number means fixed ms.
   * @default { type: 'exponential', delayMs: 200, maxDelayMs: 30000 }
   */
  backoff?: number | BackoffOptions
  /**
   * When attempts are spent: `halt` stops the queue behind the task until an
   * operator retries or skips it; `dead-letter` moves the task to the dead
   * letters and lets the queue go on.
   * @default 'halt'
   */
  onExhausted?: 'halt' | 'dead-letter'
  /**
   * A run that takes longer fails with FST_FIFO_TIMEOUT and its signal fires. 0 = no limit.
   * @default 0
   */
  timeoutMs?: number
  /**
   * The limiter a head must get a token from before it starts (see
   * `fifo.limiter()` and README "Rate limits"): a limiter's name, or a function
   * of the call's arguments returning one (a concrete name a pattern covers,
   * e.g. `(customerId) => 'partner:' + customerId`). It must be pure: the
   * worker calls it again with the same arguments when the head is about to start.
   */
  limiter?: string | ((...args: A) => string)
}

/** Options for one call, kept out of the handler's arguments. */
export interface CallOptions {
  /** Calls with the same dedupeId inside the window add one task; later calls get that task back. */
  dedupeId?: string
  /**
   * The dedupe window.
   * @default 300000 (five minutes, like SQS FIFO)
   */
  dedupeMs?: number
  /** Correlates the task with a request: its id is on the task and in the handler's logger. */
  requestId?: string
  /**
   * Wait up to this many ms (1-300000) for the task's outcome, from whichever
   * instance runs it: the call resolves with `status` and `result` (or `error`)
   * too, or rejects with FST_FIFO_WAIT_TIMEOUT (the task still runs later).
   */
  wait?: number
}

export interface EnqueuedTask {
  id: string
  queue: string
  name: string
  /** true when a dedupe hit returned an earlier task. */
  duplicate: boolean
}

/** A defined task: calling it enqueues. */
export interface Task<A extends unknown[] = unknown[], R extends EnqueuedTask = EnqueuedTask> {
  (...args: A): Promise<R>
  readonly taskName: string
  /** The same task with per-call options bound; with `wait`, calls resolve once the task has settled. */
  with (options: CallOptions & { wait: number }): Task<A, WaitedTask>
  with (options: CallOptions): Task<A, R>
}

/** The limiter token a run started on (TaskContext.limiter). */
export interface LimiterGrant {
  /** The concrete limiter name (what the task's `limiter` option gave for this call). */
  name: string
  /** When the store granted the token, store clock (ms since epoch). */
  grantedAt: number
}

export interface TaskContext {
  id: string
  queue: string
  name: string
  /** 1 on the first run. */
  attempt: number
  /** The task's `attempts` option. */
  maxAttempts: number
  enqueuedAt: number
  requestId: string | null
  /**
   * The limiter token this run started on, or null when the task has no
   * limiter: the concrete limiter name and `grantedAt`, the store-clock time
   * (ms since epoch; Redis TIME) at which the store granted the token — the
   * time the limiter's window counts this start at (README "Rate limits").
   */
  limiter: LimiterGrant | null
  /** Fires when the lease is lost, timeoutMs passes or shutdown runs out of time. */
  signal: AbortSignal
  /** A child logger carrying the task id, queue, attempt and request id. */
  log: Logger
}

export interface TaskDefinition {
  name: string
  queue: string | ((...args: unknown[]) => string)
  attempts: number
  backoff: Required<BackoffOptions>
  onExhausted: 'halt' | 'dead-letter'
  timeoutMs: number
  /** undefined when the task has no limiter (the hot path checks only this). */
  limiter: string | ((...args: unknown[]) => string) | undefined
  handler: (...args: unknown[]) => unknown
}

const storage = new AsyncLocalStorage<TaskContext>()

/** The context of the task this code runs in, or null outside a task handler. */
export function taskContext (): TaskContext | null {
  return storage.getStore() ?? null
}

export function runInContext<T> (ctx: TaskContext, fn: () => T): T {
  return storage.run(ctx, fn)
}

const TASK = Symbol('fastify-fifo.task')
interface TaskInternals { registry: Registry, def: TaskDefinition, call: CallOptions }

function wholeNumber (task: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FST_FIFO_INVALID_DEFINITION(task, `option "${name}" must be a whole number from ${min} to ${max}, got ${show(value)}`)
  }
  return value
}

function checkBackoff (task: string, backoff: unknown): Required<BackoffOptions> {
  if (backoff === undefined) return { type: 'exponential', delayMs: 200, maxDelayMs: 30_000 }
  if (typeof backoff === 'number') {
    const delayMs = wholeNumber(task, 'backoff', backoff, 0, 86_400_000)
    return { type: 'fixed', delayMs, maxDelayMs: delayMs }
  }
  if (backoff === null || typeof backoff !== 'object') {
    throw new FST_FIFO_INVALID_DEFINITION(task, `option "backoff" must be a number of ms or { type, delayMs, maxDelayMs }, got ${show(backoff)}`)
  }
  const b = backoff as Record<string, unknown>
  if (b.type !== 'fixed' && b.type !== 'exponential') {
    throw new FST_FIFO_INVALID_DEFINITION(task, `option "backoff.type" must be "fixed" or "exponential", got ${show(b.type)}`)
  }
  const delayMs = wholeNumber(task, 'backoff.delayMs', b.delayMs, 0, 86_400_000)
  const maxDelayMs = b.maxDelayMs === undefined ? Math.max(30_000, delayMs) : wholeNumber(task, 'backoff.maxDelayMs', b.maxDelayMs, delayMs, 86_400_000)
  return { type: b.type, delayMs, maxDelayMs }
}

export function backoffDelay (def: TaskDefinition, attempt: number): number {
  const { type, delayMs, maxDelayMs } = def.backoff
  if (type === 'fixed') return delayMs
  return Math.min(maxDelayMs, delayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30))
}

function checkCallOptions (options: unknown): CallOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FST_FIFO_INVALID_CALL_OPTION('options', `must be an object, got ${show(options)}`)
  }
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (key !== 'dedupeId' && key !== 'dedupeMs' && key !== 'requestId' && key !== 'wait') {
      throw new FST_FIFO_INVALID_CALL_OPTION(key, 'is not a call option (known: dedupeId, dedupeMs, requestId, wait)')
    }
  }
  if (o.dedupeId !== undefined && (typeof o.dedupeId !== 'string' || !isValidTaskName(o.dedupeId) || o.dedupeId.length > 128)) {
    throw new FST_FIFO_INVALID_CALL_OPTION('dedupeId', `must be 1-128 characters without control characters, got ${show(o.dedupeId)}`)
  }
  if (o.dedupeMs !== undefined && (typeof o.dedupeMs !== 'number' || !Number.isInteger(o.dedupeMs) || o.dedupeMs < 1 || o.dedupeMs > 7 * 86_400_000)) {
    throw new FST_FIFO_INVALID_CALL_OPTION('dedupeMs', `must be a whole number of milliseconds from 1 to 604800000, got ${show(o.dedupeMs)}`)
  }
  if (o.dedupeMs !== undefined && o.dedupeId === undefined) {
    throw new FST_FIFO_INVALID_CALL_OPTION('dedupeMs', 'needs a dedupeId')
  }
  if (o.requestId !== undefined && typeof o.requestId !== 'string') {
    throw new FST_FIFO_INVALID_CALL_OPTION('requestId', `must be a string, got ${show(o.requestId)}`)
  }
  if (o.wait !== undefined) checkWaitMs('wait', o.wait)
  return o as CallOptions
}

// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g

export interface RegistryOptions {
  /** Stores a task (the worker's enqueue, which may also claim it for this instance). */
  send: (task: NewTask) => Promise<EnqueueResult>
  maxPayloadBytes: number
  isClosed: () => boolean
  onEnqueued: () => void
  limiters: Limiters
  /** Waits for a task's outcome (the `wait` call option). */
  awaitOutcome: (taskId: string, queue: string, timeoutMs: number, pending?: Promise<string | null>) => Promise<TaskOutcome>
}

/** Holds the defined tasks of one app and turns calls into stored tasks. */
export class Registry {
  readonly #defs = new Map<string, TaskDefinition>()
  readonly #opts: RegistryOptions
  #sealed = false

  constructor (opts: RegistryOptions) {
    this.#opts = opts
  }

  /** The app's limiter definitions. */
  get limiters (): Limiters {
    return this.#opts.limiters
  }

  get names (): string[] {
    return [...this.#defs.keys()]
  }

  get (name: string): TaskDefinition | undefined {
    return this.#defs.get(name)
  }

  /** After ready, the set of handlers is fixed: other instances rely on what this one advertises. */
  seal (): void {
    // A fixed limiter name must be defined by now (limiter() may come after define()).
    for (const def of this.#defs.values()) {
      if (typeof def.limiter === 'string' && this.#opts.limiters.resolve(def.limiter) === undefined) {
        throw new FST_FIFO_INVALID_DEFINITION(def.name, `option "limiter" names ${JSON.stringify(def.limiter)}, which no fifo.limiter() definition covers`)
      }
    }
    this.#sealed = true
  }

  /**
   * The limiter a head of this task needs, from its arguments (the limiter
   * function is pure, so it names the same limiter as at enqueue). undefined
   * when the task has none. Throws FST_FIFO_INVALID_LIMITER_NAME.
   */
  limitFor (def: TaskDefinition, args: unknown[]): LimitSpec | undefined {
    const limiter = def.limiter
    if (limiter === undefined) return undefined
    let name: unknown = limiter
    if (typeof limiter === 'function') {
      try {
        name = limiter(...args)
      } catch (err) {
        throw new FST_FIFO_INVALID_LIMITER_NAME(def.name, `the limiter function threw: ${(err as Error)?.message ?? String(err)}`)
      }
    }
    return this.#opts.limiters.checkCall(def.name, name)
  }

  define<A extends unknown[]> (name: string, options: TaskOptions<A>, handler: (...args: A) => unknown): Task<A> {
    if (!isValidTaskName(name)) {
      throw new FST_FIFO_INVALID_DEFINITION(String(name), `name must be 1-128 characters without control characters, got ${show(name)}`)
    }
    if (this.#sealed) throw new FST_FIFO_INVALID_DEFINITION(name, 'define() must be called before the app is ready')
    if (this.#defs.has(name)) throw new FST_FIFO_INVALID_DEFINITION(name, 'a task with this name is already defined')
    if (typeof handler !== 'function') throw new FST_FIFO_INVALID_DEFINITION(name, `handler must be a function, got ${show(handler)}`)
    if (options === null || typeof options !== 'object') throw new FST_FIFO_INVALID_DEFINITION(name, `options must be an object, got ${show(options)}`)
    const o = options as unknown as Record<string, unknown>
    for (const key of Object.keys(o)) {
      if (!['queue', 'attempts', 'backoff', 'onExhausted', 'timeoutMs', 'limiter'].includes(key)) {
        throw new FST_FIFO_INVALID_DEFINITION(name, `"${key}" is not a task option (known: queue, attempts, backoff, onExhausted, timeoutMs, limiter)`)
      }
    }
    const queue = o.queue
    if (typeof queue === 'string') checkQueueName(queue, name)
    else if (typeof queue !== 'function') {
      throw new FST_FIFO_INVALID_DEFINITION(name, `option "queue" must be a queue name or a function of the arguments, got ${show(queue)}`)
    }
    const onExhausted = o.onExhausted ?? 'halt'
    if (onExhausted !== 'halt' && onExhausted !== 'dead-letter') {
      throw new FST_FIFO_INVALID_DEFINITION(name, `option "onExhausted" must be "halt" or "dead-letter", got ${show(onExhausted)}`)
    }
    const limiter = o.limiter
    if (typeof limiter === 'string') {
      const bad = badLimiterName(limiter)
      if (bad !== null) throw new FST_FIFO_INVALID_DEFINITION(name, `option "limiter" ${bad}${limiter.endsWith('*') ? '; for a pattern, pass a function returning a concrete name' : ''}`)
    } else if (limiter !== undefined && typeof limiter !== 'function') {
      throw new FST_FIFO_INVALID_DEFINITION(name, `option "limiter" must be a limiter name or a function of the arguments, got ${show(limiter)}`)
    }
    const def: TaskDefinition = {
      name,
      queue: queue as TaskDefinition['queue'],
      attempts: o.attempts === undefined ? 3 : wholeNumber(name, 'attempts', o.attempts, 1, 1000),
      backoff: checkBackoff(name, o.backoff),
      onExhausted,
      timeoutMs: o.timeoutMs === undefined ? 0 : wholeNumber(name, 'timeoutMs', o.timeoutMs, 0, 86_400_000),
      limiter: limiter as TaskDefinition['limiter'],
      handler: handler as (...args: unknown[]) => unknown,
    }
    this.#defs.set(name, def)
    return this.#makeTask<A>(def, {})
  }

  #makeTask<A extends unknown[]> (def: TaskDefinition, call: CallOptions): Task<A, any> {
    // No async wrapper of its own: registry.enqueue never throws, a bad call rejects.
    const fn = ((...args: A) => this.enqueue(def, args, call)) as Task<A, any>
    Object.defineProperty(fn, 'taskName', { value: def.name, enumerable: true })
    Object.defineProperty(fn, 'name', { value: def.name })
    Object.defineProperty(fn, 'with', {
      value: (options: CallOptions) => this.#makeTask<A>(def, { ...call, ...checkCallOptions(options) }),
    })
    Object.defineProperty(fn, TASK, { value: { registry: this, def, call } satisfies TaskInternals })
    return fn
  }

  /** Resolves a task function passed to `request.fifo.enqueue` to this registry's definition. */
  unwrap (task: unknown): { readonly def: TaskDefinition, readonly call: CallOptions } {
    const internals = typeof task === 'function' ? (task as unknown as Record<symbol, TaskInternals | undefined>)[TASK] : undefined
    if (internals === undefined || internals.registry !== this) {
      throw new FST_FIFO_NOT_A_TASK(typeof task === 'function' ? `function ${task.name || '(anonymous)'}` : show(task))
    }
    return internals
  }

  /**
   * Stores one call of a task; `requestId` (a request's face) overrides the
   * call option's. Never throws: a refusal is a rejection. Not async, so an
   * enqueue adds one `then` to the store's promise and no async frame.
   */
  enqueue (def: TaskDefinition, args: unknown[], call: CallOptions, requestId?: string): Promise<EnqueuedTask | WaitedTask> {
    let sent: Promise<EnqueueResult>
    try {
      // A store may throw rather than reject (the Store contract is open to users' own).
      sent = this.#opts.send(this.#newTask(def, args, call, requestId))
    } catch (err) {
      return Promise.reject(err)
    }
    const wait = call.wait
    if (wait === undefined) return sent.then(this.#enqueued)
    // A dedupe hit has no outcome promise: the earlier task is waited on (or refused) by id.
    return sent.then(async (result) => ({ ...this.#enqueued(result), ...await this.#opts.awaitOutcome(result.id, result.queue, wait, result.outcome) }))
  }

  readonly #enqueued = (result: EnqueueResult): EnqueuedTask => {
    this.#opts.onEnqueued()
    return { id: result.id, queue: result.queue, name: result.name, duplicate: result.duplicate }
  }

  /** Checks one call and makes the task to store; throws the typed refusal. */
  #newTask (def: TaskDefinition, args: unknown[], call: CallOptions, requestId: string | undefined): NewTask {
    if (this.#opts.isClosed()) throw new FST_FIFO_CLOSED(def.name)
    const payload = serializeArgs(def.name, args, this.#opts.maxPayloadBytes)
    let queue: unknown
    if (typeof def.queue === 'string') {
      queue = def.queue
    } else {
      try {
        queue = def.queue(...args)
      } catch (err) {
        throw new FST_FIFO_INVALID_DEFINITION(def.name, `the queue function threw: ${(err as Error)?.message ?? String(err)}`)
      }
      checkQueueName(queue, def.name)
    }
    // A limiter function runs at enqueue too, so a call it cannot place is refused before anything is stored.
    if (typeof def.limiter === 'function') this.limitFor(def, args)
    // A task enqueued from inside a handler carries its parent's request id, so a chain stays correlated.
    const origin = requestId ?? call.requestId ?? storage.getStore()?.requestId ?? undefined
    return {
      queue: queue as string,
      name: def.name,
      payload,
      requestId: origin === undefined ? undefined : origin.replace(CONTROL_ALL, '').slice(0, 128),
      dedupeId: call.dedupeId,
      dedupeMs: call.dedupeId === undefined ? undefined : (call.dedupeMs ?? 300_000),
      // Only a waited task is flagged (by the store): the worker passes its outcome to the store only then.
      waitMs: call.wait,
    }
  }
}
