import type { TaskExtras } from '../extras'

/** The Store contract (store.ts): a task's way in, its claim under a lease, and how it settles. */

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
   * Only from `claim` or `complete` with a lookahead: the tasks queued right behind this
   * head, in order (attempt 1 assumed, nothing counted or leased for them yet).
   */
  following?: ClaimedTask[]
  /**
   * Set when the queue was handed over to the claimer's offer (see `claim`):
   * its lease was granted after the claim that made the offer was sent, not
   * after the call that returned it.
   */
  handedOver?: true
}

/** Identifies the lease a worker holds. */
export interface LeaseRef {
  queue: string
  token: string
}

export type CompleteResult =
  /** `claimed`: another queue claimed for the caller when the lease was released (complete's claimNext). */
  | { ok: true, next: ClaimedTask | null, claimed?: ClaimedTask }
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
