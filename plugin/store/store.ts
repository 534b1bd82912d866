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
import type { ClaimedTask, ClaimRequest, CompleteResult, EnqueueResult, FailInput, FailResult, InstanceInfo, LeaseRef, NewTask } from './contract/tasks'
import type { DeadLetter, InstanceRow, ListQueuesQuery, Overview, Page, PartitionRow, QueueRow, TaskRow } from './contract/reads'
import type { AcquireResult, LimiterState, LimitHolder, LimitSpec, ThrottleInput, ThrottleResult } from './contract/limits'

export * from './contract/tasks'
export * from './contract/reads'
export * from './contract/limits'

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
   *
   * `offerMs` (optional; a store may ignore it): when no queue is waiting, the
   * claimer is about to block in `waitForWork` and offers to take a queue
   * handed over for that long: an enqueue that makes a queue runnable within
   * it may grant `owner` the lease at once and hand the head to its
   * `waitForWork` (handoff: no wake-up and no second claim). The next `claim`
   * of the owner takes the offer back, and returns first a head handed over
   * that its wait did not take (`handedOver` set). `interruptWait` and `close`
   * take it back too, giving back any head handed over and not taken.
   *
   * `lookahead` (pipelined acks, opt-in): the claimed head's `following` also
   * holds up to that many tasks queued behind it, as `complete`'s lookahead
   * (reading only). A head handed over has none.
   */
  claim (owner: string, leaseMs: number, offerMs?: number, lookahead?: number): Promise<ClaimedTask | null>

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
   *
   * `claimNext` (the caller has room for another queue): when this completion
   * releases the lease, the store also claims the first waiting queue for
   * `owner`, as `claim` would, and returns it as `claimed` — one call instead of
   * a completion and a claim. A store may ignore it (no `claimed`, the caller
   * claims as usual).
   */
  complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead?: number, outcome?: string, claimNext?: boolean): Promise<CompleteResult>

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
   * false on timeout or when interrupted by close()/interruptWait(); or with
   * the head of a queue handed over to an offer the last `claim` made (its
   * lease held by the claimer, `handedOver` set).
   */
  waitForWork (timeoutMs: number): Promise<boolean | ClaimedTask>
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
