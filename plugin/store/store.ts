import type { TaskExtras } from './extras'
/**
 * The Store contract: the one seam between queue logic (worker, registry,
 * admin routes) and storage. RedisStore and MemoryStore implement it with the
 * same semantics; one contract test suite (test/contract/) runs against both.
 *
 * Model. A namespace holds named queues. A queue is an ordered list of tasks;
 * its head (first task) stays in the list until it settles. At any moment a
 * queue with tasks is in exactly one scheduling state:
 *
 *   waiting          runnable, not held: it is in the ready list
 *   running          held by one owner under a lease with a fencing token
 *   retrying         its head failed and waits for its backoff to pass
 *   halted           its head spent its attempts; nothing runs until an operator acts
 *   missing-handler  its head names a handler no claiming instance had
 *   paused           an operator paused it (a running head finishes first)
 *   throttled        its head waits for a limiter token (or a rate-limit back-off) until a
 *                    known time, or until a slot is released; no attempt is used
 *
 * An empty queue that is not paused or halted disappears from every index.
 *
 * Time comes from the store's clock (Redis `TIME` for RedisStore, an injectable
 * clock for MemoryStore), never from the caller.
 *
 * Fencing: `claim` (and `complete` when it hands back the next head) returns a
 * token that only grows. `complete`, `fail`, `park` and `release` with a token
 * that is not the queue's current one change nothing and report `fenced`.
 */

export type QueueState = 'waiting' | 'running' | 'retrying' | 'halted' | 'missing-handler' | 'paused' | 'throttled'

export interface NewTask {
  /** Queue name, already validated (1–256 chars, no control characters). */
  queue: string
  /** Handler name, already validated (1–128 chars, no control characters). */
  name: string
  /** The arguments array as JSON text, already validated and size-checked. */
  payload: string
  /** Id of the HTTP request that enqueued it, for log correlation (no control characters). */
  requestId?: string
  /** Extra per-task fields (trace context, wait flag), stored with the task (see extras.ts). */
  extras?: TaskExtras
  /**
   * Dedupe: while a task enqueued with the same `dedupeId` is remembered
   * (`dedupeMs` after its enqueue), enqueue adds nothing and returns that task.
   * The scope is the whole namespace.
   */
  dedupeId?: string
  dedupeMs?: number
  /**
   * Someone waits this long (ms) for the task's outcome (the `wait` call
   * option). Not stored as such: the store marks the task (WAIT_FLAG in its
   * extras, so its worker hands the outcome to complete/fail), is ready to hear
   * the outcome before the task is sent, and sets EnqueueResult.outcome.
   */
  waitMs?: number
}

export interface EnqueueResult {
  id: string
  queue: string
  name: string
  /** true when a dedupe hit returned an earlier task instead of adding one. */
  duplicate: boolean
  /** Set when the enqueue asked to claim and its owner got the lease on the queue: the queue's head (this task). */
  claimed?: ClaimedTask
  /**
   * With NewTask.waitMs, for a task this call added (not a dedupe hit: wait on
   * the earlier task with waitOutcome, which refuses a task that nobody waits
   * on): the outcome text as waitOutcome resolves it, null after waitMs or at close.
   */
  outcome?: Promise<string | null>
}

/** Claim on enqueue: the instance that enqueues, with a free slot, offers to run the task itself. */
export interface ClaimRequest {
  owner: string
  leaseMs: number
}

/** A head task handed to a worker together with the lease on its queue. */
export interface ClaimedTask {
  id: string
  queue: string
  name: string
  /** JSON text of the arguments array. The worker parses it; a parse failure means a corrupt task. */
  payload: string
  /** 1 for the first run; every claim of the same head (after a failure, a crash or a handover) adds one. */
  attempt: number
  /** Store clock, ms since epoch. */
  enqueuedAt: number
  requestId?: string
  /** The extras stored with the task at enqueue, if any. */
  extras?: TaskExtras
  /** The last recorded failure of this head, if any. */
  lastError?: string
  /** Fencing token of the lease (decimal string; only grows). */
  token: string
  /** Store clock when the lease expires, ms since epoch. */
  leaseExpiresAt: number
  /** Set when the stored record could not be decoded; the worker dead-letters the task with this reason. */
  corrupt?: string
  /**
   * Only from `complete` with a lookahead: the tasks queued right behind this
   * head, in order (attempt 1 assumed, nothing counted or leased for them yet).
   */
  following?: ClaimedTask[]
}

/** Identifies the lease a worker holds. */
export interface LeaseRef {
  queue: string
  token: string
}

export type CompleteResult =
  | { ok: true, next: ClaimedTask | null }
  | { ok: false, fenced: true }

/** How long a waited task's outcome is kept for `waitOutcome` (ms). */
export const OUTCOME_TTL_MS = 300_000

/** The extras key marking a task someone waits on (value '1'). */
export const WAIT_FLAG = 'w'

export type FailOutcome = 'retrying' | 'halted' | 'dead'

export type FailResult =
  | { ok: true, outcome: FailOutcome, retryAt?: number }
  | { ok: false, fenced: true }

export interface FailInput {
  /** One-line error text shown to operators (already truncated by the caller). */
  error: string
  /** The handler's attempts limit. The head's attempt counter is compared with it. */
  maxAttempts: number
  /** Backoff before the next attempt when attempts remain. */
  delayMs: number
  /** What to do when attempt >= maxAttempts. */
  onExhausted: 'halt' | 'dead-letter'
  /** Dead-letter now whatever the attempts (unrecoverable error, corrupt record). */
  deadLetterNow?: boolean
  /**
   * The head's id when someone waits on it (wait flag in its extras): if this
   * failure halts the queue or dead-letters the head, the store keeps
   * `h\n<queue>\n<error>` / `d\n…` as its outcome and notifies (see waitOutcome).
   */
  waitedId?: string
}

export interface InstanceInfo {
  id: string
  host: string
  pid: number
  version: string
  startedAt: number
  concurrency: number
  /** Handler names this instance can run. */
  handlers: string[]
}

export interface InstanceRow extends InstanceInfo {
  lastHeartbeatAt: number
  /** Queues this instance holds right now (by the store's lease index). */
  queuesHeld: number
}

export interface HeadInfo {
  id: string
  name: string
  /** Attempts started so far (0 when it has not started yet). */
  attempts: number
  enqueuedAt: number
  lastError: string | null
  payload: string
  requestId: string | null
}

export interface QueueRow {
  name: string
  state: QueueState
  depth: number
  /** true when paused (state is `paused` unless it is still running its head). */
  paused: boolean
  head: HeadInfo | null
  /** Instance id holding the lease, when running. */
  holder: string | null
  leaseExpiresAt: number | null
  /** When a retrying head becomes runnable again. */
  retryAt: number | null
  /** Set when state is `missing-handler`: the handler name the head needs. */
  missingHandler: string | null
  /** Set when halted: when it halted. */
  haltedAt: number | null
  /** When a throttled head may try for its token again (it may be woken sooner when a slot frees). */
  throttledUntil: number | null
  /** Set when throttled: the limiter it waits for ('' for a back-off of a task without one). */
  limiter: string | null
}

/** The fields every view of a task shares, whatever store and state it comes from. */
export interface TaskFields {
  id: string
  queue: string
  name: string
  /** JSON text of the arguments array. */
  payload: string
  /** Store clock, ms since epoch. */
  enqueuedAt: number
  requestId: string | null
}

export interface TaskRow extends TaskFields {
  /** `head`: first in its queue; `pending`: behind the head; `dead`: in the dead letters. */
  where: 'head' | 'pending' | 'dead'
  /** 0-based position in its queue (0 = head); null for dead letters. */
  position: number | null
  attempts: number
  lastError: string | null
  deadReason: string | null
  deadAt: number | null
}

export interface DeadLetter extends TaskFields {
  attempts: number
  reason: string
  deadAt: number
}

export interface Page<T> {
  items: T[]
  total: number
  offset: number
  limit: number
}

export interface ListQueuesQuery {
  state?: QueueState
  /** Case-sensitive substring of the queue name. */
  search?: string
  offset: number
  /** 1–500 */
  limit: number
}

export interface Overview {
  now: number
  queues: number
  waiting: number
  running: number
  retrying: number
  halted: number
  paused: number
  missingHandler: number
  throttled: number
  pendingTasks: number
  deadLetters: number
  liveInstances: number
  /** Settled counts over the last 60 s of store time. */
  completedLastMinute: number
  failedLastMinute: number
  /** 60 buckets of 10 s, oldest first, the last one being the current bucket. */
  series: Array<{ at: number, completed: number, failed: number }>
  /** Age in ms of the oldest head among queues that have one. 0 when none. */
  oldestHeadAgeMs: number
}

/** One partition of the namespace (see the README, Scaling out), for the dashboard's partitions panel. */
export interface PartitionRow {
  partition: number
  /** The partition's hash tag content (`prefix`, or `prefix#i.k` with several partitions) and its Cluster slot. */
  tag: string
  slot: number
  /** `host:port` of the Redis node serving the slot (its master, on a Cluster). */
  node: string
  queues: number
  /** Pending tasks, heads included. */
  depth: number
  running: number
  /** Age in ms of the partition's oldest head (0 when none). */
  oldestHeadAgeMs: number
}

export interface Store {
  readonly kind: 'redis' | 'memory'

  /** Where the namespace's partitions live and what each holds. Optional: a store without it is shown as one partition. */
  partitionStats?: () => Promise<PartitionRow[]>

  /** Connects (bounded by the store's connect timeout) and loads scripts. Throws FST_FIFO_REDIS_UNAVAILABLE. */
  connect (): Promise<void>
  /** Stops blocking waits and closes what the store created. Idempotent. */
  close (): Promise<void>

  /**
   * Appends a task. Resolves once it is stored. If the queue became runnable
   * (it was empty, and is not paused or held) it is made `waiting` and a
   * wake-up is signalled — unless `claim` is given: then `claim.owner` gets the
   * lease at once, exactly as `claim()` would grant it (new token, attempt
   * counted), the queue never waits, nobody is woken, and the head comes back
   * as `claimed`. A dedupe hit or a queue that already had tasks claims nothing.
   */
  enqueue (task: NewTask, claim?: ClaimRequest): Promise<EnqueueResult>

  /**
   * Takes the next waiting queue (FIFO over queues), grants `owner` a lease of
   * `leaseMs`, counts an attempt on its head and returns the head. null when
   * no queue is waiting.
   */
  claim (owner: string, leaseMs: number): Promise<ClaimedTask | null>

  /**
   * Removes the head `taskId` (checking the token). If `keep` and the queue has
   * more tasks and is not paused, the lease is renewed (same token) and the next
   * head is returned with its attempt counted (one round trip per task).
   * Otherwise the lease is released and the queue goes back to `waiting` when it
   * has tasks.
   *
   * Safe to retry: when the head is no longer `taskId` under a still-valid lease,
   * an earlier call did the work and only its reply was lost. Nothing is removed
   * again; with `keep` the current head is handed back as `next` (its attempt
   * already counted), without it the lease is released.
   *
   * `lookahead` (pipelined acks, opt-in): with `keep`, `next.following` also
   * holds up to that many tasks queued behind the next head. Reading only.
   *
   * `outcome` (waited tasks only, see waitOutcome): when `taskId` is removed, the
   * store keeps this text as the task's outcome for OUTCOME_TTL_MS and notifies
   * its waiters, in the same atomic step. Without it nothing more is written.
   */
  complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead?: number, outcome?: string): Promise<CompleteResult>

  /** Records a failure of the head (checking the token) and releases the lease. See FailInput. */
  fail (lease: LeaseRef, input: FailInput): Promise<FailResult>

  /**
   * Gives a held queue back without settling its head (graceful shutdown, a
   * fairness hand-off of a queue whose head has not started). `keepAttempt`
   * false un-counts the attempt the claim made (the head never started). The
   * queue is put at the front of the ready list. Returns false when fenced.
   */
  release (lease: LeaseRef, keepAttempt: boolean): Promise<boolean>

  /**
   * The claimer has no handler named `handler` for this head: release the lease,
   * un-count the attempt, and put the queue in `missing-handler` until `sweep`
   * runs on an instance that has that handler. Returns false when fenced.
   */
  park (lease: LeaseRef, handler: string): Promise<boolean>

  /**
   * One call per heartbeat: records the instance (visible in listInstances for
   * 3 × leaseMs after its last heartbeat) and extends every lease in `held`
   * that is still this owner's. Returns the queues whose lease was lost.
   */
  heartbeat (instance: InstanceInfo, held: LeaseRef[], leaseMs: number): Promise<string[]>

  /** Removes the instance record at once (graceful shutdown). */
  removeInstance (id: string): Promise<void>

  /**
   * Housekeeping, safe to run from every instance: expired leases make their
   * queues waiting again; retrying queues whose time has come become waiting;
   * missing-handler queues whose handler is in `handlers` become waiting; old
   * stats buckets and dead instance records are dropped. Signals a wake-up when
   * it made anything runnable. Returns the earliest retry time still pending
   * (so the caller can schedule a precise timer), or null.
   */
  sweep (handlers: string[]): Promise<{ recovered: number, promoted: number, unparked: number, nextRetryAt: number | null }>

  /**
   * Blocks up to `timeoutMs` for a wake-up signal (enqueue, release, sweep).
   * RedisStore uses a dedicated connection for it. Resolves true when woken,
   * false on timeout or when interrupted by close()/interruptWait().
   */
  waitForWork (timeoutMs: number): Promise<boolean>
  /** Makes a pending waitForWork resolve now. */
  interruptWait (): void

  // Limiters (README "Rate limits"). A limiter's state lives apart from its
  // queues (on Redis, under its own key base), so taking a token is its own
  // call, made by the holder of a queue right before its head starts.

  /**
   * Takes a token of limiter `limit.name` for the head `holder.taskId` of
   * `holder.queue`: one start in the sliding window (if it has a rate) and one
   * running slot that lives `slotMs` unless renewed (if it has a concurrency).
   * Refused while the limiter is paused or full: `until` is when to try again
   * (store clock). A refusal for concurrency or an operator pause also enlists
   * the queue to be woken (wakeThrottled) as soon as a slot frees or the limiter resumes.
   */
  acquireLimit (limit: LimitSpec, holder: LimitHolder, slotMs: number): Promise<AcquireResult>
  /** Gives the holder's running slot back and wakes the queue that waited longest for one. */
  releaseLimit (limiter: string, holder: LimitHolder): Promise<void>
  /** Extends the running slots (with the heartbeat) to now + slotMs; a slot already gone stays gone. */
  renewLimits (slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): Promise<void>
  /**
   * The lease holder's head did not start (no token) or backed off (its
   * handler threw FST_FIFO_RATE_LIMITED): release the lease, un-count the
   * attempt, and make the queue `throttled` for `afterMs` (store clock).
   * A back-off counts against `maxBackoffs` per head: past it nothing changes
   * and `overCap` is returned (the caller records a normal failure instead).
   * When the queue was woken while still held (wakeThrottled raced the
   * refusal), it goes straight back to waiting.
   */
  throttle (lease: LeaseRef, input: ThrottleInput): Promise<ThrottleResult>
  /**
   * Makes throttled queues waiting again: all of `queues`, or with `onlyDue`
   * those whose time has come. A named queue still held is marked, so its
   * coming throttle does not park it. Returns how many became waiting.
   */
  wakeThrottled (queues: string[], onlyDue: boolean): Promise<number>
  /** Pauses a limiter on every instance: `backoffMs` for a back-off, or until resumed (null: an operator). */
  pauseLimiter (name: string, backoffMs: number | null): Promise<void>
  /** Ends a limiter's pause and wakes the queues that waited for it. */
  resumeLimiter (name: string): Promise<void>
  /** The state of every limiter used recently (names seen in the last day), by name. */
  listLimiters (): Promise<LimiterState[]>
  /**
   * Resolves with the outcome text kept for `taskId` (see `complete`'s
   * `outcome` and FailInput.waitedId: `<kind>\n<queue>\n<text>`, kinds `s`
   * succeeded with result JSON, `r` succeeded but the result was refused (text:
   * why), `h` halted and `d` dead-lettered (text: the error)) as soon as it is stored,
   * from whichever instance settled it; null after `timeoutMs` or on close.
   * Listens before it looks, so an outcome stored meanwhile is not missed.
   * No polling: RedisStore listens on a sharded pub/sub channel in the
   * task's hash tag; a dropped subscriber connection looks again on reconnect.
   *
   * Refuses at once, writing nothing, when no outcome is kept and none can come:
   * FST_FIFO_NOT_WAITED for a task that is queued (or dead-lettered) but was not
   * enqueued with the wait flag; FST_FIFO_NOT_FOUND when the id is neither
   * queued nor dead-lettered (unknown, settled without the flag, or its outcome
   * past OUTCOME_TTL_MS). A waited task still queued (or retrying) is waited for.
   */
  waitOutcome (taskId: string, timeoutMs: number): Promise<string | null>

  // Operator actions. Unknown queue or dead letter: FST_FIFO_NOT_FOUND. Action
  // that does not apply to the current state: FST_FIFO_CONFLICT.

  /** Stops new heads from starting. A running head finishes. Pausing a paused queue is a no-op. */
  pause (queue: string): Promise<void>
  /** Undoes pause; the queue becomes waiting again if it can run. */
  resume (queue: string): Promise<void>
  /** A halted head gets a fresh set of attempts and runs now; a retrying head runs now; a throttled head tries for its token now. Other states: conflict. */
  retryHead (queue: string): Promise<void>
  /** Moves the head to the dead letters with `reason` and lets the queue continue. A running head: conflict. Empty queue: conflict. */
  skipHead (queue: string, reason: string): Promise<DeadLetter>
  /** Appends a dead letter to the tail of its queue again (same id, attempts reset) and removes it from the dead letters. */
  requeueDead (id: string): Promise<EnqueueResult>
  deleteDead (id: string): Promise<void>

  // Reads for the admin API.
  overview (): Promise<Overview>
  /** Sorted by urgency: halted first (oldest halt first), then by oldest head enqueuedAt, then name. */
  listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>>
  getQueue (queue: string): Promise<QueueRow | null>
  /** Pending tasks of a queue in order, head first. */
  queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>>
  getTask (id: string): Promise<TaskRow | null>
  /** Newest first. */
  listDead (offset: number, limit: number): Promise<Page<DeadLetter>>
  getDead (id: string): Promise<DeadLetter | null>
  /** Live instances (heartbeat within 3 × leaseMs), newest heartbeat first. */
  listInstances (): Promise<InstanceRow[]>
}

/** A concrete limiter and its limits, as the store enforces them (0 = no such limit). */
export interface LimitSpec {
  name: string
  max: number
  perMs: number
  concurrency: number
}

/** Who holds a limiter slot: one head of one queue under one lease. */
export interface LimitHolder {
  queue: string
  token: string
  taskId: string
}

export type AcquireResult =
  /** `at`: when the token was granted, store clock (ms): the time the limiter's window counts this start at. */
  | { ok: true, at: number }
  /** `until` and `now` on the store clock. */
  | { ok: false, reason: 'rate' | 'concurrency' | 'paused' | 'backoff', until: number, now: number }

export interface ThrottleInput {
  /** How long from now (store clock) until the head may try again, ms. */
  afterMs: number
  /** The limiter it waits for, '' for none. */
  limiter: string
  /** A handler's back-off (counted against maxBackoffs) rather than a refused token. */
  backoff: boolean
  maxBackoffs: number
  /** The head, so back-offs are counted per task. */
  taskId: string
}

export type ThrottleResult =
  | { ok: true, until: number, now: number, woken: boolean }
  | { ok: false, fenced: true }
  | { ok: false, overCap: true }

/** One limiter as the admin API shows it. */
export interface LimiterState {
  name: string
  max: number
  perMs: number
  concurrency: number
  /** Starts in the current window (now − perMs, now]. */
  usedInWindow: number
  /** Running slots held now. */
  running: number
  /** Queues throttled waiting for it. */
  queuesWaiting: number
  paused: boolean
  /** Until when a back-off pauses it; null when not paused or paused by an operator until resumed. */
  pausedUntil: number | null
  pausedBy: 'operator' | 'backoff' | null
  /** Back-offs (FST_FIFO_RATE_LIMITED from a handler) recorded since it was first used (kept a day after its last use). */
  backoffs: number
}
