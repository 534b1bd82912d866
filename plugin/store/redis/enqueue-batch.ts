import { joinRequestField } from '../extras'
import type { ClaimedTask, ClaimRequest, EnqueueResult, NewTask } from '../store'
import { WAIT_FLAG } from '../store'
import type { ReplyList } from './codec'
import type { Expectation, OutcomeChannel } from './outcome-channel'

/**
 * Enqueue batching. While an enqueue call is on the wire, the enqueues made
 * in the same turn of the event loop (the requests one poll of the sockets
 * delivered, a burst of calls from one handler) go to Redis as one script
 * call, flushed by setImmediate: right after the I/O callbacks of this turn,
 * not a timer. With nothing on the wire a call is sent at once, so a lone or
 * sequential caller never waits — unless the last call carried more than one
 * task: callers that come in bursts (an HTTP server's requests) then wait for
 * the end of their turn too, so a turn's burst is one call, not a call for its
 * first task and one for the rest (measured in bench/README.md, "http").
 * Each caller still resolves only once its task is stored, so
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
  expect?: Expectation
}

/**
 * Sends the `enqueue` script with `args`; `undo(reply)` gives back the leases
 * of a write the `replicas` option could not confirm (RedisStore's #confirmed).
 */
export type SendEnqueue = (args: Array<string | number>, undo: (reply: unknown) => void) => Promise<unknown>

/** The enqueue batches of one RedisStore (see above). */
export class EnqueueBatcher {
  readonly #send: SendEnqueue
  /** Gives back a lease whose grant was not confirmed, in the background. */
  readonly #giveBack: (queue: string, token: string) => void
  readonly #outcomes: OutcomeChannel
  /** Enqueues made in this turn of the event loop, sent together (see #flush). */
  #batch: EnqueueBatch | null = null
  /** Enqueue calls sent and not answered yet. */
  #sending = 0
  /** Tasks in the last call sent: more than one, and the next call waits for the end of its turn. */
  #lastSize = 1

  constructor (send: SendEnqueue, giveBack: (queue: string, token: string) => void, outcomes: OutcomeChannel) {
    this.#send = send
    this.#giveBack = giveBack
    this.#outcomes = outcomes
  }

  /** Adds a checked task to the batch; resolves once it is stored. */
  add (task: NewTask, claim: ClaimRequest | undefined, dedupeMs: number): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      let batch = this.#batch
      if (batch !== null && claim !== undefined && batch.owner !== '' && (batch.owner !== claim.owner || batch.leaseMs !== claim.leaseMs)) {
        this.#flush()
        batch = null
      }
      // With nothing on the wire a call goes at once (a lone or sequential caller waits for
      // nothing); while a call is out, or after a burst, the next ones gather until the end of this turn.
      const now = batch === null && this.#sending === 0 && this.#lastSize === 1
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
      if (task.waitMs !== undefined) item.expect = this.#outcomes.expect()
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
    this.#lastSize = items.length
    this.#sending++
    this.#send(batch.args, (reply) => {
      const replies = Array.isArray(reply) ? reply as unknown[] : []
      items.forEach((item, i) => { const r = replies[i]; if (Array.isArray(r) && r[0] === 2) this.#giveBack(item.task.queue, String(r[2])) })
    }).finally(() => { this.#sending-- }).then((reply) => {
      // Per task: its id when it was added and waits (the common reply, kept flat), else a list.
      const replies = reply as Array<string | ReplyList>
      if (!Array.isArray(replies) || replies.length !== items.length) throw new Error(`fifo: enqueue returned ${Array.isArray(replies) ? replies.length : typeof replies} replies for ${items.length} tasks`)
      for (let i = 0; i < items.length; i++) {
        const { task, resolve, expect } = items[i]
        const r = replies[i]
        if (typeof r === 'string') {
          resolve(this.#outcomes.added({ id: r, queue: task.queue, name: task.name, duplicate: false }, task, expect))
        } else if (r[0] === 1) {
          if (expect !== undefined) this.#outcomes.waiters.unexpect(expect.ticket)
          resolve({ id: String(r[1]), queue: String(r[2]), name: String(r[3]), duplicate: true })
        } else if (r[0] === 2) {
          const claimed: ClaimedTask = { id: String(r[1]), queue: task.queue, name: task.name, payload: task.payload, attempt: Number(r[4]), enqueuedAt: Number(r[6]), token: String(r[2]), leaseExpiresAt: Number(r[3]) }
          if (task.requestId !== undefined && task.requestId !== '') claimed.requestId = task.requestId
          if (task.waitMs !== undefined) claimed.extras = { ...task.extras, [WAIT_FLAG]: '1' }
          else if (task.extras !== undefined) claimed.extras = task.extras
          if (r[5] !== null && r[5] !== undefined) claimed.lastError = String(r[5])
          resolve(this.#outcomes.added({ id: claimed.id, queue: task.queue, name: task.name, duplicate: false, claimed }, task, expect))
        } else {
          throw new Error(`fifo: enqueue returned an unknown reply for task ${i}`)
        }
      }
    }).catch((err: unknown) => {
      // A settled caller ignores this; the rest learn their task's fate is unknown.
      for (const item of items) {
        if (item.expect !== undefined) this.#outcomes.waiters.unexpect(item.expect.ticket)
        item.reject(err)
      }
    })
  }
}
