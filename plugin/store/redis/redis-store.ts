import { joinRequestField, refuseRequestField } from '../extras'
import { Cluster, type Redis } from 'ioredis'
import { FST_FIFO_STORE_FORMAT, FST_FIFO_CONFLICT, FST_FIFO_INVALID_DEFINITION, FST_FIFO_INVALID_OPTION, FST_FIFO_NOT_FOUND } from '../../core/errors'
import type {
  AcquireResult, ClaimedTask, ClaimRequest, CompleteResult, DeadLetter, EnqueueResult, FailInput, FailResult, InstanceInfo, InstanceRow, LeaseRef,
  LimiterState, LimitHolder, LimitSpec, ListQueuesQuery, NewTask, Overview, Page, PartitionRow, QueueRow, Store, TaskRow, ThrottleInput, ThrottleResult,
} from '../store'
import {
  decodeDead, decodeInstance, decodeQueueRow, decodeTask, deadTaskRow, num, pendingTaskRow, publicDead, ROW_FIELDS, str,
  type Reply, type ReplyList,
} from './codec'
import { RedisConnection, type StoreLog } from './connection'
import type { RedisInput } from './secrets'
import { keyBase, redisKeysAt, type RedisKeys } from './keys'
import { checkPartitions } from './partition-record'
import { partitionRows } from './partitioned-reads'
import { ReplicaWait } from './replication'
import { ScriptRunner, scripts, type ScriptName, type WakeMode } from './scripts'
import { RedisLimits, withWaiting } from './limits'
import { ShardSubscriber } from './subscriber'
import { lookResult, OutcomeWaiters, splitNotice, type OutcomeLook } from '../outcomes'
import { WAIT_FLAG } from '../store'

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

/**
 * Outcome codes the scripts return instead of raising errors (see each
 * script's header), mapped here to the store's typed errors.
 */
export enum ScriptOutcome {
  Fenced = -1,
  NoSuchQueue = -2,
  NoSuchDeadLetter = -3,
  HeadRunning = -4,
  QueueEmpty = -5,
  WrongState = -6,
  CorruptDeadLetter = -7,
}

function outcomeError (code: number, subject: string, detail?: Reply): Error {
  const q = JSON.stringify(subject)
  switch (code) {
    case ScriptOutcome.NoSuchQueue: return new FST_FIFO_NOT_FOUND(`queue ${q} does not exist (it has no tasks and is not paused or halted)`)
    case ScriptOutcome.NoSuchDeadLetter: return new FST_FIFO_NOT_FOUND(`dead letter ${q} does not exist`)
    case ScriptOutcome.HeadRunning: return new FST_FIFO_CONFLICT(`queue ${q} is running its head: pause it and skip once the head has settled`)
    case ScriptOutcome.QueueEmpty: return new FST_FIFO_CONFLICT(`queue ${q} is empty: there is no head to skip`)
    case ScriptOutcome.WrongState: return new FST_FIFO_CONFLICT(`queue ${q} is ${String(detail)}: only a halted, retrying or throttled head can be retried`)
    case ScriptOutcome.CorruptDeadLetter: return new FST_FIFO_CONFLICT(`dead letter ${q} is corrupt and cannot be requeued; delete it instead`)
    default: return new Error(`fifo: unexpected script outcome ${code} for ${q}`)
  }
}

/**
 * Enqueue batching. While an enqueue call is on the wire, the enqueues made
 * in the same turn of the event loop (the requests one poll of the sockets
 * delivered, a burst of calls from one handler) go to Redis as one script
 * call, flushed by setImmediate: right after the I/O callbacks of this turn,
 * not a timer. With nothing on the wire a call is sent at once, so a lone or
 * sequential caller never waits. Each caller still resolves only once its task is stored, so
 * nothing is acknowledged early; one call per batch saves the per-command
 * cost on both sides (measured in bench/README.md). Bounded so one call
 * never holds Redis for long.
 */
const MAX_BATCH_TASKS = 100
const MAX_BATCH_BYTES = 1_000_000

interface EnqueueBatch {
  /** The instance that takes the leases this batch's claiming tasks ask for ('' when none asks). */
  owner: string
  leaseMs: number
  /** The script's arguments: owner, leaseMs, then 7 per task. */
  args: Array<string | number>
  items: BatchItem[]
  bytes: number
}

/** The wait flag as it ends a stored request-id field (see extras.ts). */
const WAIT_EXTRA = `\t${WAIT_FLAG}=1`

interface BatchItem {
  task: NewTask
  resolve: (result: EnqueueResult) => void
  reject: (err: unknown) => void
  /** A waited task: its expectation ticket (OutcomeWaiters.expect) and the subscriber's reading when it opened. */
  expect?: { ticket: number, steady: number | null }
}

/** Remembered this long when a dedupeId comes without dedupeMs (as MemoryStore). */
const DEFAULT_DEDUPE_MS = 300_000

function positiveInt (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FST_FIFO_INVALID_OPTION(name, `must be a whole number ≥ 1, got ${String(value)} (${typeof value})`)
  }
  return value
}

function claimedTask (queue: string, record: string, attempt: number, token: string, leaseExpiresAt: number, lastError: string | null): ClaimedTask {
  const task = decodeTask(record)
  const claimed: ClaimedTask = { id: task.id, queue, name: task.name, payload: task.payload, attempt, enqueuedAt: task.enqueuedAt, token, leaseExpiresAt }
  if (task.requestId !== null) claimed.requestId = task.requestId
  if (task.extras !== undefined) claimed.extras = task.extras
  if (lastError !== null) claimed.lastError = lastError
  if (task.corrupt !== undefined) claimed.corrupt = task.corrupt
  return claimed
}

function decodeClaim (reply: unknown): ClaimedTask | null {
  const r = reply as ReplyList | null | false
  if (r === null || r === false) return null
  return claimedTask(String(r[0]), String(r[1]), Number(r[2]), String(r[3]), Number(r[4]), str(r[5]))
}

const asIs = (reply: unknown): unknown => reply

/** Whole, bounded numbers for Lua (which would pass 1e20 or NaN on to Redis as text it refuses). */
const whole = (n: number): number => Number.isFinite(n) ? Math.min(2_000_000_000, Math.max(0, Math.floor(n))) : (n > 0 ? 2_000_000_000 : 0)
const page = (offset: number, limit: number): [number, number] => [whole(offset), whole(limit)]

/**
 * The Store contract on Redis: one Lua script per atomic operation
 * (plugin/store/redis/lua/), task records kept inside their queue's list.
 * See keys.ts for the key layout.
 */
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
  readonly #waiters = new OutcomeWaiters()
  #subscriber: ShardSubscriber | null = null
  #listening: Promise<void> | null = null
  /** The outcome channel's subscription is confirmed (a waited enqueue need not wait for #listen). */
  #listened = false
  #closing: Promise<void> | null = null
  /** Enqueues made in this turn of the event loop, sent together (see #flush). */
  #batch: EnqueueBatch | null = null
  /** Enqueue calls sent and not answered yet. */
  #sending = 0
  /** Set with the `replicas` option. */
  readonly #replicas: ReplicaWait | null = null
  readonly #limits: RedisLimits

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
    this.#limits = new RedisLimits(
      async (name, args) => await this.#send(name, args, asIs),
      async () => await this.#conn.call('listLimiters', async () => await this.#conn.client.hvals(this.keys.throttled))
    )
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
    this.#waiters.close()
    if (this.#partition !== undefined) return
    if (this.#subscriber !== null) await this.#subscriber.close().catch(() => {})
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
      if (!this.#listened) return this.#listen().then(() => this.enqueue(task, claim))
    }
    const dedupeMs = Math.max(1, Math.floor(task.dedupeMs ?? DEFAULT_DEDUPE_MS))
    return new Promise((resolve, reject) => {
      let batch = this.#batch
      if (batch !== null && claim !== undefined && batch.owner !== '' && (batch.owner !== claim.owner || batch.leaseMs !== claim.leaseMs)) {
        this.#flush()
        batch = null
      }
      // With nothing on the wire a call goes at once (a lone or sequential caller waits for
      // nothing); while a call is out, the next ones gather until the end of this turn.
      const now = batch === null && this.#sending === 0
      if (batch === null) {
        batch = this.#batch = { owner: '', leaseMs: 0, args: ['', 0], items: [], bytes: 0 }
        if (!now) setImmediate(this.#flushSoon)
      }
      if (claim !== undefined && batch.owner === '') {
        batch.owner = batch.args[0] = claim.owner
        batch.leaseMs = batch.args[1] = claim.leaseMs
      }
      // A waited task carries the wait flag (extras w=1), added here to the stored field only.
      let field = task.extras === undefined ? task.requestId ?? '' : joinRequestField(task.requestId, task.extras)
      if (task.waitMs !== undefined && task.extras?.[WAIT_FLAG] !== '1') field += WAIT_EXTRA
      batch.args.push(task.queue, task.name, task.payload, field, task.dedupeId ?? '', dedupeMs, claim === undefined ? '' : '1')
      const item: BatchItem = { task, resolve, reject }
      if (task.waitMs !== undefined) item.expect = { ticket: this.#waiters.expect(), steady: this.#subscriber?.steady ?? null }
      batch.items.push(item)
      batch.bytes += task.payload.length
      if (now || batch.items.length >= MAX_BATCH_TASKS || batch.bytes >= MAX_BATCH_BYTES) this.#flush()
    })
  }

  readonly #flushSoon = (): void => { this.#flush() }

  /** Sends the enqueues gathered so far as one script call; each caller gets its own task's reply. */
  #flush (): void {
    const batch = this.#batch
    if (batch === null) return
    this.#batch = null
    const { items } = batch
    this.#sending++
    this.#confirmed('enqueue', batch.args, asIs, () => true, (reply) => {
      const replies = Array.isArray(reply) ? reply as unknown[] : []
      items.forEach((item, i) => { const r = replies[i]; if (Array.isArray(r) && r[0] === 2) this.#giveBack(item.task.queue, String(r[2])) })
    }).finally(() => { this.#sending-- }).then((reply) => {
      const replies = reply as ReplyList[]
      if (!Array.isArray(replies) || replies.length !== items.length) throw new Error(`fifo: enqueue returned ${Array.isArray(replies) ? replies.length : typeof replies} replies for ${items.length} tasks`)
      for (let i = 0; i < items.length; i++) {
        const { task, resolve, expect } = items[i]
        const r = replies[i]
        if (r[0] === 1) {
          if (expect !== undefined) this.#waiters.unexpect(expect.ticket)
          resolve({ id: String(r[1]), queue: String(r[2]), name: String(r[3]), duplicate: true })
        } else if (r[0] === 2) {
          const claimed: ClaimedTask = { id: String(r[1]), queue: task.queue, name: task.name, payload: task.payload, attempt: Number(r[4]), enqueuedAt: Number(r[6]), token: String(r[2]), leaseExpiresAt: Number(r[3]) }
          if (task.requestId !== undefined && task.requestId !== '') claimed.requestId = task.requestId
          if (task.waitMs !== undefined) claimed.extras = { ...task.extras, [WAIT_FLAG]: '1' }
          else if (task.extras !== undefined) claimed.extras = task.extras
          if (r[5] !== null && r[5] !== undefined) claimed.lastError = String(r[5])
          resolve(this.#added({ id: claimed.id, queue: task.queue, name: task.name, duplicate: false, claimed }, task, expect))
        } else {
          resolve(this.#added({ id: String(r[1]), queue: task.queue, name: task.name, duplicate: false }, task, expect))
        }
      }
    }).catch((err: unknown) => {
      // A settled caller ignores this; the rest learn their task's fate is unknown.
      for (const item of items) {
        if (item.expect !== undefined) this.#waiters.unexpect(item.expect.ticket)
        item.reject(err)
      }
    })
  }

  /**
   * A task this store added: with waitMs, its outcome promise. The store was
   * subscribed before it sent the task and kept every notice heard since for ids
   * not known yet (#waiters.expect), so when the subscriber has not dropped in
   * between (same `steady` reading) nothing can have been missed and there is
   * nothing to read: the outcome comes as a notice. Otherwise (a drop, or a
   * Cluster's subscribers, which are not followed) it reads the kept outcome once,
   * after registering the waiter, as waitOutcome does.
   */
  #added (result: EnqueueResult, task: NewTask, expect: BatchItem['expect']): EnqueueResult {
    if (task.waitMs === undefined || expect === undefined) return result
    const id = result.id
    const heard = this.#waiters.unexpect(expect.ticket, id)
    const missable = expect.steady === null || expect.steady !== this.#subscriber?.steady
    const outcome = this.#waiters.wait(id, task.waitMs, async () => heard ?? (missable ? await this.#storedOutcome(id) : null))
    outcome.catch(() => {})
    result.outcome = outcome
    return result
  }

  claim (owner: string, leaseMs: number): Promise<ClaimedTask | null> {
    return this.#confirmed('claim', [owner, leaseMs], decodeClaim, (c) => c !== null, (c) => { if (c !== null) this.#giveBack(c.queue, c.token) })
  }

  complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead = 0, outcome?: string): Promise<CompleteResult> {
    const args: Array<string | number> = [lease.queue, lease.token, owner, leaseMs, keep ? '1' : '0', taskId]
    if (lookahead > 0 || outcome !== undefined) args.push(Math.max(0, Math.floor(lookahead)))
    if (outcome !== undefined) args.push(outcome)
    return this.#confirmed('complete', args, (reply): CompleteResult => {
      const r = reply as ReplyList
      if (r[0] === ScriptOutcome.Fenced) return { ok: false, fenced: true }
      // A waiter in this store hears it now, before this worker goes on, not after the notice's own trip.
      if (outcome !== undefined) this.#waiters.deliver(taskId, outcome)
      if (r[0] === 0) return { ok: true, next: null }
      // r[3]/r[4] are set only when a retried call hands back a head it had already counted.
      const expiresAt = Number(r[2])
      const next = claimedTask(lease.queue, String(r[1]), r[3] === undefined || r[3] === null ? 1 : Number(r[3]), lease.token, expiresAt, str(r[4]))
      if (r.length > 5) next.following = r.slice(5).map((rec) => claimedTask(lease.queue, String(rec), 1, lease.token, expiresAt, null))
      return { ok: true, next }
    }, (result) => result.ok)
  }

  async fail (lease: LeaseRef, input: FailInput): Promise<FailResult> {
    const r = await this.#confirmed('fail', [lease.queue, lease.token, input.error, input.maxAttempts, Math.max(0, Math.floor(input.delayMs)),
      input.onExhausted, input.deadLetterNow === true ? '1' : '0', this.#deadLetterLimit, ...(input.waitedId === undefined ? [] : [input.waitedId])], asIs, (reply) => (reply as ReplyList)[0] !== ScriptOutcome.Fenced) as ReplyList
    // A waiter in this store hears a halt or a dead letter at once (the text fail.lua kept and published).
    if (input.waitedId !== undefined && (r[0] === 2 || r[0] === 3)) this.#waiters.deliver(input.waitedId, `${r[0] === 2 ? 'h' : 'd'}\n${lease.queue}\n${input.error}`)
    switch (r[0]) {
      case ScriptOutcome.Fenced: return { ok: false, fenced: true }
      case 1: return { ok: true, outcome: 'retrying', retryAt: Number(r[1]) }
      case 2: return { ok: true, outcome: 'halted' }
      default: return { ok: true, outcome: 'dead' }
    }
  }

  /** Uses `subscriber` (a partitioned store's, shared by its partitions) for waitOutcome instead of making one. */
  shareSubscriber (subscriber: ShardSubscriber): void {
    this.#subscriber = subscriber
  }

  /** `shownId`: the id as the caller knows it, for refusals (a partitioned store's global id). */
  async waitOutcome (taskId: string, timeoutMs: number, shownId = taskId): Promise<string | null> {
    await this.#listen()
    return await this.#waiters.wait(taskId, timeoutMs, async () => lookResult(shownId, await this.#look(taskId)))
  }

  async #look (taskId: string): Promise<OutcomeLook> {
    const r = await this.#run('find-outcome', [taskId]) as ReplyList
    switch (r[0]) {
      case 1: return { kind: 'kept', text: String(r[1]) }
      case 2: return { kind: 'queued', queue: String(r[1]), waited: r[2] === 1 }
      case 3: return { kind: 'dead', queue: String(r[1]), waited: r[2] === 1 }
      default: return { kind: 'none' }
    }
  }

  async #storedOutcome (taskId: string): Promise<string | null> {
    const client = this.#conn.client
    return await this.#conn.call('waitOutcome', async () => await client.get(this.keys.res + taskId))
  }

  /** Subscribes (once) to this namespace's outcome channel: `res` as Redis sees it (with the client's keyPrefix). */
  async #listen (): Promise<void> {
    this.#listening ??= (async () => {
      this.#subscriber ??= new ShardSubscriber(this.#conn.client)
      const channel = (this.#conn.client.options.keyPrefix ?? '') + this.keys.res
      await this.#subscriber.subscribe(channel, (message) => {
        const notice = splitNotice(message)
        if (notice !== null) this.#waiters.deliver(notice.taskId, notice.text)
      })
      // A notice sent while the subscriber was reconnecting is gone: look again for every waiter.
      this.#subscriber.onResubscribed(() => { this.#waiters.recheck(async (id) => await this.#storedOutcome(id)) })
      this.#listened = true
    })()
    try {
      await this.#listening
    } catch (err) {
      this.#listening = null
      throw err
    }
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

  async waitForWork (timeoutMs: number): Promise<boolean> {
    return await this.#conn.blockingPop(this.keys.wake, timeoutMs)
  }

  interruptWait (): void {
    this.#conn.interrupt()
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

  async pause (queue: string): Promise<void> {
    const code = await this.#run('pause', [queue]) as number
    if (code < 0) throw outcomeError(code, queue)
  }

  async resume (queue: string): Promise<void> {
    const code = await this.#run('resume', [queue]) as number
    if (code < 0) throw outcomeError(code, queue)
  }

  async retryHead (queue: string): Promise<void> {
    const r = await this.#run('retry-head', [queue]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), queue, r[1])
  }

  async skipHead (queue: string, reason: string): Promise<DeadLetter> {
    const r = await this.#run('skip-head', [queue, reason, this.#deadLetterLimit]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), queue)
    return publicDead(decodeDead(String(r[1]), String(r[2])))
  }

  async requeueDead (id: string): Promise<EnqueueResult> {
    const r = await this.#run('requeue-dead', [id]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), id)
    return { id: String(r[1]), queue: String(r[2]), name: String(r[3]), duplicate: false }
  }

  async deleteDead (id: string): Promise<void> {
    const code = await this.#run('delete-dead', [id]) as number
    if (code < 0) throw outcomeError(code, id)
  }

  async overview (): Promise<Overview> {
    const r = await this.#run('overview', []) as ReplyList
    const now = Number(r[0])
    const series: Overview['series'] = []
    const bucket = Math.floor(now / 10_000)
    for (let i = 0; i < 60; i++) {
      series.push({ at: (bucket - 59 + i) * 10_000, completed: num(r[12 + 2 * i]) ?? 0, failed: num(r[13 + 2 * i]) ?? 0 })
    }
    const lastMinute = series.slice(-6)
    const oldest = Number(r[11])
    return {
      now,
      queues: Number(r[1]),
      waiting: Number(r[2]),
      running: Number(r[3]),
      retrying: Number(r[4]),
      halted: Number(r[5]),
      paused: Number(r[6]),
      missingHandler: Number(r[7]),
      throttled: Number(r[132] ?? 0),
      pendingTasks: Math.max(0, Number(r[8])),
      deadLetters: Number(r[9]),
      liveInstances: Number(r[10]),
      completedLastMinute: lastMinute.reduce((sum, b) => sum + b.completed, 0),
      failedLastMinute: lastMinute.reduce((sum, b) => sum + b.failed, 0),
      series,
      oldestHeadAgeMs: oldest < 0 ? 0 : Math.max(0, now - oldest),
    }
  }

  async listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>> {
    const [offset, limit] = page(query.offset, query.limit)
    const r = await this.#run('list-queues', [query.state ?? '', query.search ?? '', offset, limit]) as ReplyList
    const items: QueueRow[] = []
    for (let at = 1; at + ROW_FIELDS <= r.length; at += ROW_FIELDS) items.push(decodeQueueRow(r, at))
    return { items, total: Number(r[0]), offset: query.offset, limit: query.limit }
  }

  async getQueue (queue: string): Promise<QueueRow | null> {
    const r = await this.#run('get-queue', [queue]) as ReplyList
    return r.length === 0 ? null : decodeQueueRow(r, 0)
  }

  async queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>> {
    const [from, count] = page(offset, limit)
    const r = await this.#run('queue-tasks', [queue, from, count]) as ReplyList
    const items: TaskRow[] = []
    for (let i = 2; i < r.length; i++) items.push(pendingTaskRow(queue, String(r[i]), from + i - 2, r[1]))
    return { items, total: Number(r[0]), offset, limit }
  }

  async getTask (id: string): Promise<TaskRow | null> {
    const r = await this.#run('get-task', [id]) as ReplyList
    if (r[0] === 1) return pendingTaskRow(String(r[1]), String(r[3]), Number(r[2]), r[4] ?? null)
    if (r[0] === 2) return deadTaskRow(decodeDead(id, String(r[1])))
    return null
  }

  async listDead (offset: number, limit: number): Promise<Page<DeadLetter>> {
    const [from, count] = page(offset, limit)
    const r = await this.#run('list-dead', [from, count]) as ReplyList
    const items: DeadLetter[] = []
    for (let i = 1; i + 1 < r.length; i += 2) {
      const entry = str(r[i + 1])
      if (entry !== null) items.push(publicDead(decodeDead(String(r[i]), entry)))
    }
    return { items, total: Number(r[0]), offset, limit }
  }

  async getDead (id: string): Promise<DeadLetter | null> {
    const client = this.#conn.client
    const entry = await this.#conn.call('getDead', async () => await client.hget(this.keys.deadrec, id))
    return entry === null ? null : publicDead(decodeDead(id, entry))
  }

  async listInstances (): Promise<InstanceRow[]> {
    const r = await this.#run('list-instances', []) as ReplyList
    const rows: InstanceRow[] = []
    for (let i = 0; i + 2 < r.length; i += 3) {
      const row = decodeInstance(String(r[i]), str(r[i + 1]), Number(r[i + 2]))
      if (row !== null) rows.push(row)
    }
    return rows.sort((a, b) => b.lastHeartbeatAt - a.lastHeartbeatAt)
  }

  /** The namespace as one partition: its node and what it holds. */
  async partitionStats (): Promise<PartitionRow[]> {
    return await partitionRows(this.#conn.client, [this])
  }
}
