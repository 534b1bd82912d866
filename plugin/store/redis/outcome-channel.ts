import type { EnqueueResult, NewTask } from '../store'
import type { ReplyList } from './codec'
import type { RedisConnection } from './connection'
import type { RedisKeys } from './keys'
import type { RunScript } from './limits'
import { ShardSubscriber } from './subscriber'
import { lookResult, OutcomeWaiters, splitNotice, type OutcomeLook } from '../outcomes'

/** A waited task's expectation ticket (OutcomeWaiters.expect) and the subscriber's reading when it opened. */
export interface Expectation {
  ticket: number
  steady: number | null
}

/**
 * The outcome half of RedisStore (Store.waitOutcome): the waiters of task
 * outcomes and the subscription to the namespace's outcome channel that feeds
 * them, made on first use.
 */
export class OutcomeChannel {
  /** Waiters of task outcomes (waitOutcome); the store delivers the outcomes it settles itself here at once. */
  readonly waiters = new OutcomeWaiters()
  readonly #conn: RedisConnection
  readonly #keys: RedisKeys
  readonly #run: RunScript
  #subscriber: ShardSubscriber | null = null
  #listening: Promise<void> | null = null
  /** The outcome channel's subscription is confirmed (a waited enqueue need not wait for listen). */
  #listened = false

  constructor (conn: RedisConnection, keys: RedisKeys, run: RunScript) {
    this.#conn = conn
    this.#keys = keys
    this.#run = run
  }

  get listened (): boolean {
    return this.#listened
  }

  /** Opens an expectation for a waited task about to be sent (see added). */
  expect (): Expectation {
    return { ticket: this.waiters.expect(), steady: this.#subscriber?.steady ?? null }
  }

  /**
   * A task this store added: with waitMs, its outcome promise. The store was
   * subscribed before it sent the task and kept every notice heard since for ids
   * not known yet (waiters.expect), so when the subscriber has not dropped in
   * between (same `steady` reading) nothing can have been missed and there is
   * nothing to read: the outcome comes as a notice. Otherwise (a drop, or a
   * Cluster's subscribers, which are not followed) it reads the kept outcome once,
   * after registering the waiter, as waitOutcome does.
   */
  added (result: EnqueueResult, task: NewTask, expect: Expectation | undefined): EnqueueResult {
    if (task.waitMs === undefined || expect === undefined) return result
    const id = result.id
    const heard = this.waiters.unexpect(expect.ticket, id)
    const missable = expect.steady === null || expect.steady !== this.#subscriber?.steady
    const outcome = this.waiters.wait(id, task.waitMs, async () => heard ?? (missable ? await this.#storedOutcome(id) : null))
    outcome.catch(() => {})
    result.outcome = outcome
    return result
  }

  /** Uses `subscriber` (a partitioned store's, shared by its partitions) for waitOutcome instead of making one. */
  shareSubscriber (subscriber: ShardSubscriber): void {
    this.#subscriber = subscriber
  }

  /** `shownId`: the id as the caller knows it, for refusals (a partitioned store's global id). */
  async waitOutcome (taskId: string, timeoutMs: number, shownId = taskId): Promise<string | null> {
    await this.listen()
    return await this.waiters.wait(taskId, timeoutMs, async () => lookResult(shownId, await this.#look(taskId)))
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
    return await this.#conn.call('waitOutcome', async () => await client.get(this.#keys.res + taskId))
  }

  /** Subscribes (once) to this namespace's outcome channel: `res` as Redis sees it (with the client's keyPrefix). */
  async listen (): Promise<void> {
    this.#listening ??= (async () => {
      this.#subscriber ??= new ShardSubscriber(this.#conn.client)
      const channel = (this.#conn.client.options.keyPrefix ?? '') + this.#keys.res
      await this.#subscriber.subscribe(channel, (message) => {
        const notice = splitNotice(message)
        if (notice !== null) this.waiters.deliver(notice.taskId, notice.text)
      })
      // A notice sent while the subscriber was reconnecting is gone: look again for every waiter.
      this.#subscriber.onResubscribed(() => { this.waiters.recheck(async (id) => await this.#storedOutcome(id)) })
      this.#listened = true
    })()
    try {
      await this.#listening
    } catch (err) {
      this.#listening = null
      throw err
    }
  }

  /** The subscriber in use (made by listen, or shared), if any: the store closes it when it made it. */
  get subscriber (): ShardSubscriber | null {
    return this.#subscriber
  }
}
