import { refuseRequestField } from '../extras'
import { Cluster, type Redis } from 'ioredis'
import { FST_FIFO_STORE_FORMAT, FST_FIFO_INVALID_DEFINITION, FST_FIFO_INVALID_OPTION } from '../../core/errors'
import type {
  AcquireResult, ClaimedTask, ClaimRequest, CompleteResult, DeadLetter, EnqueueResult, FailInput, FailResult, InstanceInfo, InstanceRow, LeaseRef,
  LimiterState, LimitHolder, LimitSpec, ListQueuesQuery, NewTask, Overview, Page, PartitionRow, QueueRow, Store, TaskRow, ThrottleInput, ThrottleResult,
} from '../store'
import { RedisAdmin } from './admin'
import { claimedTask, decodeClaim, str, type ReplyList } from './codec'
import { RedisConnection, type StoreLog } from './connection'
import { CompleteBatcher, type CompleteArgs } from './complete-batch'
import { EnqueueBatcher } from './enqueue-batch'
import type { RedisInput } from './secrets'
import { keyBase, redisKeysAt, type RedisKeys } from './keys'
import { OutcomeChannel } from './outcome-channel'
import { checkPartitions } from './partition-record'
import { partitionRows } from './partitioned-reads'
import { ReplicaWait } from './replication'
import { ScriptOutcome, ScriptRunner, scripts, type ScriptName, type WakeMode } from './scripts'
import { RedisLimits, withWaiting, type RunScript } from './limits'
import type { ShardSubscriber } from './subscriber'
import { Handoff } from './handoff'

export interface RedisStoreOptions {
  /**
   * A URL or ioredis options (the store creates its client and quits it on
   * close), or an ioredis `Redis`/`Cluster` client (used as is, never closed).
   * The blocking connection is always a `duplicate()` the store owns.
   * @example 'redis://:secret@127.0.0.1:6379/0'
   */
  redis: RedisInput
  /** Key namespace: keys are `{prefix}:…`, one hash tag, so every script is single-slot. */
  prefix: string
  /** connect() rejects with FST_FIFO_REDIS_UNAVAILABLE when Redis does not answer within it. */
  connectTimeoutMs: number
  /** Any call rejects with FST_FIFO_REDIS_UNAVAILABLE after this long while Redis is unreachable. */
  commandTimeoutMs: number
  /** Dead letters kept; the oldest are dropped beyond it. */
  deadLetterLimit: number
  /** Connection trouble is reported here (never with credentials). */
  log?: StoreLog
  /**
   * enqueue, claim, complete and fail resolve only once Redis `WAIT` confirms
   * the write on this many replicas (see replication.ts); 0: no waiting.
   */
  replicas?: number
  /** How long WAIT may take before the call rejects with FST_FIFO_NOT_REPLICATED; below commandTimeoutMs. */
  replicaTimeoutMs?: number
}

/** Remembered this long when a dedupeId comes without dedupeMs (as MemoryStore). */
const DEFAULT_DEDUPE_MS = 300_000

function positiveInt (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FST_FIFO_INVALID_OPTION(name, `must be a whole number ≥ 1, got ${String(value)} (${typeof value})`)
  }
  return value
}

const asIs = (reply: unknown): unknown => reply

/**
 * The layout of stored records and keys. Bump it whenever a change means one
 * version's scripts would misread another's data.
 */
export const STORE_FORMAT = '1'

/**
 * Set when the store is one partition of a PartitionedRedisStore
 * (partitioned.ts): it shares that store's connection (connected, closed and
 * with scripts loaded by it) and keeps its keys under `base`.
 */
export interface PartitionContext {
  /** The connection to share; the first partition, given none, makes it from the options. */
  conn?: RedisConnection
  /** `{tag}:` of this partition (see partitions.ts). */
  base: string
  wake: WakeMode
}

/** Loads every script once, so a Redis that cannot run them fails at connect, not on the first task (a Cluster loads them on first use). */
export async function loadScripts (conn: RedisConnection, wake: WakeMode): Promise<void> {
  if (conn.client instanceof Cluster) return
  const client = conn.client
  await conn.call('connect', async () => {
    const pipeline = client.pipeline()
    for (const script of scripts(wake).values()) pipeline.script('LOAD', script.lua)
    for (const [err] of (await pipeline.exec()) ?? []) if (err !== null) throw err
  })
}

/**
 * The Store contract on Redis: one Lua script per atomic operation
 * (plugin/store/redis/lua/), task records kept inside their queue's list.
 * See keys.ts for the key layout.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly keys: RedisKeys
  readonly #conn: RedisConnection
  readonly #scripts: ScriptRunner
  readonly #deadLetterLimit: number
  readonly #prefix: string
  readonly #base: string
  readonly #partition: PartitionContext | undefined
  /** Waiters of task outcomes (waitOutcome) and the subscription that feeds them, made on first use. */
  readonly #outcomes: OutcomeChannel
  #closing: Promise<void> | null = null
  /** Enqueues made in one turn of the event loop go to Redis together (see enqueue-batch.ts). */
  readonly #batcher: EnqueueBatcher
  readonly #completions: CompleteBatcher
  /** Set with the `replicas` option. */
  readonly #replicas: ReplicaWait | null = null
  /** Queues handed to this store's idle claimer (handoff.ts); null where it is off. */
  readonly #handoff: Handoff | null = null
  readonly #limits: RedisLimits
  readonly #admin: RedisAdmin

  constructor (options: RedisStoreOptions, partition?: PartitionContext) {
    if (typeof options.prefix !== 'string' || options.prefix === '' || /[{}\s]/.test(options.prefix)) {
      throw new FST_FIFO_INVALID_OPTION('prefix', `must be a non-empty string without braces or spaces, got ${JSON.stringify(options.prefix)}`)
    }
    this.#deadLetterLimit = positiveInt('deadLetterLimit', options.deadLetterLimit)
    this.#prefix = options.prefix
    this.#partition = partition
    this.#base = partition?.base ?? keyBase(options.prefix)
    this.keys = redisKeysAt(this.#base)
    this.#conn = partition?.conn ?? new RedisConnection(options.redis, {
      connectTimeoutMs: positiveInt('connectTimeoutMs', options.connectTimeoutMs),
      commandTimeoutMs: positiveInt('commandTimeoutMs', options.commandTimeoutMs),
      log: options.log,
    })
    this.#scripts = new ScriptRunner(this.#conn.client, this.#base, partition?.wake ?? 'list')
    const replicas = options.replicas ?? 0
    if (replicas !== 0) {
      positiveInt('replicas', replicas)
      const timeoutMs = positiveInt('replicaTimeoutMs', options.replicaTimeoutMs ?? 1000)
      if (timeoutMs >= options.commandTimeoutMs) {
        throw new FST_FIFO_INVALID_OPTION('replicaTimeoutMs', `must be below commandTimeoutMs (${options.commandTimeoutMs}), got ${timeoutMs}`)
      }
      this.#replicas = new ReplicaWait(this.#conn, replicas, timeoutMs, options.commandTimeoutMs)
    }
    if (this.#replicas === null && partition === undefined) {
      this.#handoff = new Handoff(this.keys, this.#conn, decodeClaim, async (owner, leaseMs) => await this.#send('leave', [owner, leaseMs], asIs),
        (lease) => { this.#giveBack(lease.queue, lease.token) })
    }
    const run: RunScript = async (name, args) => await this.#send(name, args, asIs)
    this.#limits = new RedisLimits(
      run,
      async () => await this.#conn.call('listLimiters', async () => await this.#conn.client.hvals(this.keys.throttled))
    )
    this.#outcomes = new OutcomeChannel(this.#conn, this.keys, run)
    this.#batcher = new EnqueueBatcher((args, undo) => this.#confirmed('enqueue', args, asIs, () => true, undo), (queue, token) => { this.#giveBack(queue, token) }, this.#outcomes)
    this.#completions = new CompleteBatcher((args) => this.#send('complete', args, asIs))
    this.#admin = new RedisAdmin(run, this.#conn, this.keys, this.#deadLetterLimit)
  }

  /**
   * Runs a script that writes what the `replicas` option must confirm: as
   * #send without it; with it, `needs(value)` says whether the reply wrote
   * anything, and `undo` gives back a lease granted by a write that was not
   * confirmed (so its queue does not wait out the lease).
   */
  #confirmed<T> (name: ScriptName, args: Array<string | number>, decode: (reply: unknown) => T, needs: (value: T) => boolean, undo?: (value: T) => void): Promise<T> {
    if (this.#replicas === null) return this.#send(name, args, decode)
    return this.#replicas.send(name, () => this.#scripts.command(name, args), decode, needs, undo)
  }

  /** Gives back a lease whose grant was not confirmed, in the background. */
  #giveBack (queue: string, token: string): void {
    this.release({ queue, token }, false).catch(() => {})
  }

  /** The store's connection (shared by all partitions of a partitioned store). */
  get connection (): RedisConnection {
    return this.#conn
  }

  /** The main client (owned or the user's); for tests and diagnostics. */
  get client (): Redis | Cluster {
    return this.#conn.client
  }

  /** Runs script `name`, resolving with `decode(reply)`. Not async: the hot path adds no promise of its own. */
  #send<T> (name: ScriptName, args: Array<string | number>, decode: (reply: unknown) => T): Promise<T> {
    return this.#conn.send(this.#scripts.command(name, args), decode)
  }

  async #run (name: ScriptName, args: Array<string | number>): Promise<unknown> {
    return await this.#send(name, args, asIs)
  }

  async connect (): Promise<void> {
    if (this.#partition === undefined) {
      await this.#conn.connect()
      await loadScripts(this.#conn, 'list')
      await this.#checkFormat()
      await checkPartitions(this.#conn, this.#prefix, 1)
    } else {
      await this.#checkFormat()
    }
  }

  async #checkFormat (): Promise<void> {
    // A namespace written by another storage format (an older or newer fastify-fifo
    // whose scripts read records differently) must not be worked by this one: in a
    // chaos run, old and new instances sharing a namespace across a format change
    // lost accepted tasks. The first instance marks the namespace; every later one checks.
    const client = this.#conn.client
    const formatKey = this.#base + 'format'
    const stored = await this.#conn.call('connect', async () => await client.call('SET', formatKey, STORE_FORMAT, 'NX', 'GET'))
    if (stored !== null && stored !== undefined && String(stored) !== STORE_FORMAT) {
      throw new FST_FIFO_STORE_FORMAT(this.#prefix, String(stored).slice(0, 32), STORE_FORMAT)
    }
  }

  async close (): Promise<void> {
    this.#outcomes.waiters.close()
    if (this.#partition !== undefined) return
    // Before the connection closes: a head handed over and not taken goes back to the ready list.
    if (this.#handoff !== null) await this.#handoff.leave().catch(() => {})
    const subscriber = this.#outcomes.subscriber
    if (subscriber !== null) await subscriber.close().catch(() => {})
    this.#closing ??= this.#conn.close()
    return await this.#closing
  }

  // enqueue, claim and complete are the hot path: not async (a rejection is returned, not thrown), one promise per call.

  enqueue (task: NewTask, claim?: ClaimRequest): Promise<EnqueueResult> {
    // Newlines separate the fields of the stored record; the payload is last, so only these two matter.
    if (task.name.includes('\n')) return Promise.reject(new FST_FIFO_INVALID_DEFINITION(task.name, 'a handler name must not contain a line break'))
    const refused = refuseRequestField(task.requestId, task.extras)
    if (refused !== null) return Promise.reject(refused)
    if (task.waitMs !== undefined) {
      // Subscribed before the task exists, so its outcome cannot be published unheard.
      if (!this.#outcomes.listened) return this.#outcomes.listen().then(() => this.enqueue(task, claim))
    }
    const dedupeMs = Math.max(1, Math.floor(task.dedupeMs ?? DEFAULT_DEDUPE_MS))
    return this.#batcher.add(task, claim, dedupeMs)
  }

  claim (owner: string, leaseMs: number, offerMs?: number, lookahead = 0): Promise<ClaimedTask | null> {
    const handoff = this.#handoff
    const ahead = Math.max(0, Math.floor(lookahead))
    if (handoff === null) {
      return this.#confirmed('claim', ahead > 0 ? [owner, leaseMs, '', '', ahead] : [owner, leaseMs], decodeClaim, (c) => c !== null, (c) => { if (c !== null) this.#giveBack(c.queue, c.token) })
    }
    const args = handoff.claimArgs(owner, leaseMs, offerMs)
    if (ahead > 0) args.push(ahead)
    return this.#send('claim', args, (reply) => {
      const claimed = decodeClaim(reply)
      handoff.claimed(claimed, offerMs)
      return claimed
    })
  }

  complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead = 0, outcome?: string, claimNext = false): Promise<CompleteResult> {
    // With `replicas` a claim's lease must be confirmed by WAIT before it is used (#confirmed): the claim loop does that.
    const args: CompleteArgs = [lease.queue, lease.token, owner, leaseMs, keep ? '1' : '0', taskId, Math.max(0, Math.floor(lookahead)), outcome ?? '', claimNext && this.#replicas === null ? '1' : '']
    // With `replicas`, each completion is its own call with its own WAIT outcome (as before batching).
    if (this.#replicas !== null) return this.#confirmed('complete', args, (reply) => this.#decodeComplete(args, (reply as ReplyList)[0]), (result) => result.ok)
    return this.#completions.add(args, this.#decodeComplete)
  }

  /** One completion's reply (complete.lua), read with the completion's own arguments: one function, no closure per task. */
  readonly #decodeComplete = (args: CompleteArgs, reply: unknown): CompleteResult => {
    const r = reply as ReplyList
    if (r[0] === ScriptOutcome.Fenced) return { ok: false, fenced: true }
    const [queue, token, , , , taskId, , outcome] = args
    // A waiter in this store hears it now, before this worker goes on, not after the notice's own trip.
    if (outcome !== '') this.#outcomes.waiters.deliver(taskId, outcome)
    if (r[0] === 0) return { ok: true, next: null }
    // Released, and another queue claimed for the caller (claimNext): claim's reply after the 2.
    if (r[0] === 2) return { ok: true, next: null, claimed: decodeClaim(r.slice(1)) ?? undefined }
    // r[3]/r[4] are set only when a retried call hands back a head it had already counted.
    const expiresAt = Number(r[2])
    const next = claimedTask(queue, String(r[1]), r[3] === undefined || r[3] === null ? 1 : Number(r[3]), token, expiresAt, str(r[4]))
    if (r.length > 5) next.following = r.slice(5).map((rec) => claimedTask(queue, String(rec), 1, token, expiresAt, null))
    return { ok: true, next }
  }

  async fail (lease: LeaseRef, input: FailInput): Promise<FailResult> {
    const r = await this.#confirmed('fail', [lease.queue, lease.token, input.error, input.maxAttempts, Math.max(0, Math.floor(input.delayMs)),
      input.onExhausted, input.deadLetterNow === true ? '1' : '0', this.#deadLetterLimit, ...(input.waitedId === undefined ? [] : [input.waitedId])], asIs, (reply) => (reply as ReplyList)[0] !== ScriptOutcome.Fenced) as ReplyList
    // A waiter in this store hears a halt or a dead letter at once (the text fail.lua kept and published).
    if (input.waitedId !== undefined && (r[0] === 2 || r[0] === 3)) this.#outcomes.waiters.deliver(input.waitedId, `${r[0] === 2 ? 'h' : 'd'}\n${lease.queue}\n${input.error}`)
    switch (r[0]) {
      case ScriptOutcome.Fenced: return { ok: false, fenced: true }
      case 1: return { ok: true, outcome: 'retrying', retryAt: Number(r[1]) }
      case 2: return { ok: true, outcome: 'halted' }
      default: return { ok: true, outcome: 'dead' }
    }
  }

  /** Uses `subscriber` (a partitioned store's, shared by its partitions) for waitOutcome instead of making one. */
  shareSubscriber (subscriber: ShardSubscriber): void {
    this.#outcomes.shareSubscriber(subscriber)
  }

  /** `shownId`: the id as the caller knows it, for refusals (a partitioned store's global id). */
  waitOutcome (taskId: string, timeoutMs: number, shownId = taskId): Promise<string | null> {
    return this.#outcomes.waitOutcome(taskId, timeoutMs, shownId)
  }

  async release (lease: LeaseRef, keepAttempt: boolean): Promise<boolean> {
    return await this.#run('release', [lease.queue, lease.token, keepAttempt ? '1' : '0']) === 1
  }

  async park (lease: LeaseRef, handler: string): Promise<boolean> {
    return await this.#run('park', [lease.queue, lease.token, handler]) === 1
  }

  async heartbeat (instance: InstanceInfo, held: LeaseRef[], leaseMs: number): Promise<string[]> {
    const args: Array<string | number> = [instance.id, JSON.stringify(instance), leaseMs]
    for (const lease of held) args.push(lease.queue, lease.token)
    return (await this.#run('heartbeat', args) as ReplyList).map(String)
  }

  async removeInstance (id: string): Promise<void> {
    await this.#run('remove-instance', [id])
  }

  async sweep (handlers: string[]): Promise<{ recovered: number, promoted: number, unparked: number, nextRetryAt: number | null }> {
    const r = await this.#run('sweep', handlers) as number[]
    return { recovered: r[0], promoted: r[1], unparked: r[2], nextRetryAt: r[3] < 0 ? null : r[3] }
  }

  async waitForWork (timeoutMs: number): Promise<boolean | ClaimedTask> {
    if (this.#handoff !== null) return await this.#handoff.wait(timeoutMs)
    return (await this.#conn.blockingPop([this.keys.wake], timeoutMs)) !== null
  }

  interruptWait (): void {
    this.#conn.interrupt()
    this.#handoff?.leaveSoon()
  }

  acquireLimit (limit: LimitSpec, holder: LimitHolder, slotMs: number): Promise<AcquireResult> {
    return this.#limits.acquire(limit, holder, slotMs)
  }

  async releaseLimit (limiter: string, holder: LimitHolder): Promise<void> {
    await this.#limits.wake(await this.#limits.release(limiter, holder), false)
  }

  async renewLimits (slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): Promise<void> {
    await this.#limits.renew(slots, slotMs)
  }

  async throttle (lease: LeaseRef, input: ThrottleInput): Promise<ThrottleResult> {
    return await this.#limits.throttle(lease, input)
  }

  async wakeThrottled (queues: string[], onlyDue: boolean): Promise<number> {
    return await this.#limits.wake(queues, onlyDue)
  }

  async pauseLimiter (name: string, backoffMs: number | null): Promise<void> {
    await this.#limits.pause(name, backoffMs)
  }

  async resumeLimiter (name: string): Promise<void> {
    await this.#limits.wake(await this.#limits.resume(name), false)
  }

  async listLimiters (): Promise<LimiterState[]> {
    const [states, throttled] = await Promise.all([this.#limits.states(), this.#limits.throttledNames()])
    return withWaiting(states, throttled)
  }

  /** The limiter primitives on this store's key base (PartitionedRedisStore routes them by limiter and by queue). */
  get limits (): RedisLimits {
    return this.#limits
  }

  // Operator actions and admin reads (admin.ts).
  pause (queue: string): Promise<void> { return this.#admin.pause(queue) }
  resume (queue: string): Promise<void> { return this.#admin.resume(queue) }
  retryHead (queue: string): Promise<void> { return this.#admin.retryHead(queue) }
  skipHead (queue: string, reason: string): Promise<DeadLetter> { return this.#admin.skipHead(queue, reason) }
  requeueDead (id: string): Promise<EnqueueResult> { return this.#admin.requeueDead(id) }
  deleteDead (id: string): Promise<void> { return this.#admin.deleteDead(id) }
  overview (): Promise<Overview> { return this.#admin.overview() }
  listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>> { return this.#admin.listQueues(query) }
  getQueue (queue: string): Promise<QueueRow | null> { return this.#admin.getQueue(queue) }
  queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>> { return this.#admin.queueTasks(queue, offset, limit) }
  getTask (id: string): Promise<TaskRow | null> { return this.#admin.getTask(id) }
  listDead (offset: number, limit: number): Promise<Page<DeadLetter>> { return this.#admin.listDead(offset, limit) }
  getDead (id: string): Promise<DeadLetter | null> { return this.#admin.getDead(id) }
  listInstances (): Promise<InstanceRow[]> { return this.#admin.listInstances() }

  /** The namespace as one partition: its node and what it holds. */
  async partitionStats (): Promise<PartitionRow[]> {
    return await partitionRows(this.#conn.client, [this])
  }
}
