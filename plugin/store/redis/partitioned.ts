import { FST_FIFO_INVALID_OPTION, FST_FIFO_NOT_FOUND } from '../../core/errors'
import type {
  AcquireResult, ClaimedTask, ClaimRequest, CompleteResult, DeadLetter, EnqueueResult, FailInput, FailResult, InstanceInfo, InstanceRow, LeaseRef,
  LimiterState, LimitHolder, LimitSpec, ListQueuesQuery, NewTask, Overview, Page, PartitionRow, QueueRow, Store, TaskRow, ThrottleInput, ThrottleResult,
} from '../store'
import { withWaiting } from './limits'
import { RedisConnection } from './connection'
import { checkPartitions } from './partition-record'
import { globalId, MAX_PARTITIONS, partitionBase, partitionOf, queuePartition, splitId } from './partitions'
import * as reads from './partitioned-reads'
import { loadScripts, RedisStore, type RedisStoreOptions } from './redis-store'
import { ShardSubscriber } from './subscriber'
import { lookResult } from '../outcomes'

export interface PartitionedStoreOptions extends RedisStoreOptions {
  /** Number of partitions, 2 … 1024 (see partitions.ts). */
  partitions: number
}

/**
 * The dedupe id a partition stores for (queue, dedupeId): dedupe is per queue
 * with several partitions. A namespace-wide scope would need every enqueue to
 * write a marker in one shared slot besides its queue's (a cross-slot write
 * that Cluster cannot make atomic); per queue stays one script on one slot.
 */
function queueDedupeId (queue: string, dedupeId: string): string {
  return `${queue.length}:${queue}:${dedupeId}`
}

function deferred (): { promise: Promise<boolean>, resolve: (v: boolean) => void } {
  let resolve!: (v: boolean) => void
  const promise = new Promise<boolean>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

/**
 * One namespace as N partitions (partitions.ts): N RedisStores over one
 * connection, each with its own hash tag. Per-queue operations go to the
 * queue's partition, per-task ones to the partition the id names; claims,
 * heartbeats and sweeps cover every partition; admin reads are merged.
 *
 * Waking: the partitions' scripts SPUBLISH on their `wake` shard channel; one
 * subscriber connection per Redis node (subscriber.ts) hears them all. A
 * message marks its partition as worth a claim; a claim that finds a partition
 * empty unmarks it (unless a message came meanwhile). So an idle instance asks
 * only partitions that signalled, and a timed-out wait (pub/sub can lose a
 * message across a reconnect) marks every partition again.
 */
export class PartitionedRedisStore implements Store {
  readonly kind = 'redis' as const
  readonly partitions: RedisStore[]
  readonly #n: number
  readonly #prefix: string
  readonly #conn: RedisConnection
  readonly #subscriber: ShardSubscriber
  /** Per partition: may have a waiting queue; and a count of wake messages. */
  readonly #maybe: boolean[]
  readonly #gen: number[]
  /** Where the next claim starts: after the last partition that served one, so no partition waits behind a busy one. */
  #start = 0
  #signalled = false
  #waiter: ReturnType<typeof deferred> | null = null
  #closed = false
  #closing: Promise<void> | null = null

  constructor (options: PartitionedStoreOptions) {
    const n = options.partitions
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
      throw new FST_FIFO_INVALID_OPTION('partitions', `must be a whole number from 1 to ${MAX_PARTITIONS}, got ${String(n)}`)
    }
    this.#n = n
    this.#prefix = options.prefix
    // The first partition validates the options and makes the connection the others share.
    const first = new RedisStore(options, { base: partitionBase(options.prefix, 0, n), wake: 'publish' })
    this.#conn = first.connection
    this.partitions = [first]
    for (let i = 1; i < n; i++) {
      this.partitions.push(new RedisStore(options, { conn: this.#conn, base: partitionBase(options.prefix, i, n), wake: 'publish' }))
    }
    this.#subscriber = new ShardSubscriber(this.#conn.client)
    for (const p of this.partitions) p.shareSubscriber(this.#subscriber)
    this.#maybe = new Array<boolean>(n).fill(true)
    this.#gen = new Array<number>(n).fill(0)
  }

  get client (): RedisStore['client'] {
    return this.#conn.client
  }

  #of (queue: string): RedisStore {
    return this.partitions[queuePartition(queue, this.#n)]
  }

  #claimed (i: number, c: ClaimedTask): ClaimedTask {
    c.id = globalId(i, c.id, this.#n)
    if (c.following !== undefined) for (const f of c.following) f.id = globalId(i, f.id, this.#n)
    return c
  }

  #byId (id: string): { store: RedisStore, i: number, id: string } | null {
    return partitionOf(this.partitions, id)
  }

  async connect (): Promise<void> {
    await this.#conn.connect()
    try {
      await loadScripts(this.#conn, 'publish')
      await checkPartitions(this.#conn, this.#prefix, this.#n)
      for (const p of this.partitions) await p.connect()
      await this.#conn.call('connect', async () => {
        await Promise.all(this.partitions.map(async (p, i) => await this.#subscriber.subscribe(this.#channel(p), () => { this.#wake(i) })))
      })
      this.#subscriber.onResubscribed(() => { for (let i = 0; i < this.#n; i++) this.#wake(i) })
    } catch (err) {
      await this.close()
      throw err
    }
  }

  /** A partition's wake channel: its `wake` key as Redis sees it (with the client's keyPrefix). */
  #channel (p: RedisStore): string {
    return (this.#conn.client.options.keyPrefix ?? '') + p.keys.wake
  }

  /** Partition `i` may have a waiting queue now (a claim in flight that finds none does not unmark it). */
  #touch (i: number): void {
    this.#gen[i]++
    this.#maybe[i] = true
  }

  #wake (i: number): void {
    this.#touch(i)
    const waiter = this.#waiter
    if (waiter === null) {
      this.#signalled = true
      return
    }
    this.#waiter = null
    waiter.resolve(true)
  }

  async close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      this.interruptWait()
      for (const p of this.partitions) await p.close()
      await this.#subscriber.close().catch(() => {})
      await this.#conn.close()
    })()
    return await this.#closing
  }

  enqueue (task: NewTask, claim?: ClaimRequest): Promise<EnqueueResult> {
    const i = queuePartition(task.queue, this.#n)
    const stored = task.dedupeId === undefined ? task : { ...task, dedupeId: queueDedupeId(task.queue, task.dedupeId) }
    // This instance's own writes mark their partition at once; others' arrive as wake messages.
    this.#touch(i)
    return this.partitions[i].enqueue(stored, claim).then((r) => {
      this.#touch(i)
      r.id = globalId(i, r.id, this.#n)
      if (r.claimed !== undefined) this.#claimed(i, r.claimed)
      return r
    })
  }

  async claim (owner: string, leaseMs: number, _offerMs?: number, lookahead?: number): Promise<ClaimedTask | null> {
    const n = this.#n
    const start = this.#start
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      if (!this.#maybe[i]) continue
      const gen = this.#gen[i]
      const c = await this.partitions[i].claim(owner, leaseMs, undefined, lookahead)
      if (c !== null) {
        // Round robin: the next claim starts after the partition that just served one.
        this.#start = (i + 1) % n
        return this.#claimed(i, c)
      }
      if (this.#gen[i] === gen) this.#maybe[i] = false
    }
    return null
  }

  complete (lease: LeaseRef, taskId: string, owner: string, leaseMs: number, keep: boolean, lookahead?: number, outcome?: string, claimNext?: boolean): Promise<CompleteResult> {
    const i = queuePartition(lease.queue, this.#n)
    const local = splitId(taskId, this.#n)?.id ?? taskId
    // No claimNext across partitions: the script sees only its own partition's ready list, so a
    // worker would keep taking queues from the partition it just ran; claim() takes turns (G7).
    return this.partitions[i].complete(lease, local, owner, leaseMs, keep, lookahead, outcome, claimNext === true && this.#n === 1).then((r) => {
      if (r.ok && r.next !== null) this.#claimed(i, r.next)
      else this.#touch(i)
      if (r.ok && r.claimed !== undefined) this.#claimed(i, r.claimed)
      return r
    })
  }

  async fail (lease: LeaseRef, input: FailInput): Promise<FailResult> {
    // The settling script knows a task by its partition-local id.
    const local = input.waitedId === undefined ? input : { ...input, waitedId: splitId(input.waitedId, this.#n)?.id ?? input.waitedId }
    return await this.#local(lease.queue, async (p) => await p.fail(lease, local))
  }

  async waitOutcome (taskId: string, timeoutMs: number): Promise<string | null> {
    const at = this.#byId(taskId)
    // An id no partition can hold: nothing can ever be kept for it.
    if (at === null) return lookResult(taskId, { kind: 'none' })
    return await at.store.waitOutcome(at.id, timeoutMs, taskId)
  }

  async release (lease: LeaseRef, keepAttempt: boolean): Promise<boolean> {
    return await this.#local(lease.queue, async (p) => await p.release(lease, keepAttempt))
  }

  /** Runs a write that can make `queue` waiting, marking its partition. */
  async #local<T> (queue: string, op: (p: RedisStore) => Promise<T>): Promise<T> {
    const i = queuePartition(queue, this.#n)
    this.#touch(i)
    try {
      return await op(this.partitions[i])
    } finally {
      this.#touch(i)
    }
  }

  async park (lease: LeaseRef, handler: string): Promise<boolean> {
    return await this.#of(lease.queue).park(lease, handler)
  }

  /** Every partition records the instance (so each one's sweep sees it live) and extends its own leases. */
  async heartbeat (instance: InstanceInfo, held: LeaseRef[], leaseMs: number): Promise<string[]> {
    const byPartition = this.partitions.map((): LeaseRef[] => [])
    for (const lease of held) byPartition[queuePartition(lease.queue, this.#n)].push(lease)
    const lost = await Promise.all(this.partitions.map(async (p, i) => await p.heartbeat(instance, byPartition[i], leaseMs)))
    return lost.flat()
  }

  async removeInstance (id: string): Promise<void> {
    await Promise.all(this.partitions.map(async (p) => { await p.removeInstance(id) }))
  }

  async sweep (handlers: string[]): Promise<{ recovered: number, promoted: number, unparked: number, nextRetryAt: number | null }> {
    const all = await Promise.all(this.partitions.map(async (p, i) => {
      const r = await p.sweep(handlers)
      if (r.recovered + r.promoted + r.unparked > 0) this.#touch(i)
      return r
    }))
    const out = { recovered: 0, promoted: 0, unparked: 0, nextRetryAt: null as number | null }
    for (const r of all) {
      out.recovered += r.recovered
      out.promoted += r.promoted
      out.unparked += r.unparked
      if (r.nextRetryAt !== null && (out.nextRetryAt === null || r.nextRetryAt < out.nextRetryAt)) out.nextRetryAt = r.nextRetryAt
    }
    return out
  }

  async waitForWork (timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false
    if (this.#signalled) {
      this.#signalled = false
      return true
    }
    const wait = this.#waiter ?? deferred()
    this.#waiter = wait
    const timer = setTimeout(() => {
      if (this.#waiter !== wait) return
      this.#waiter = null
      // A wake message can be lost across a reconnect: after a quiet wait every partition is asked again.
      this.#maybe.fill(true)
      wait.resolve(false)
    }, Math.max(1, timeoutMs))
    try {
      return await wait.promise
    } finally {
      clearTimeout(timer)
    }
  }

  interruptWait (): void {
    const wait = this.#waiter
    if (wait === null) return
    this.#waiter = null
    wait.resolve(false)
  }

  // Limiters: a limiter's state lives on the partition its name hashes to (the
  // function that places queues), so limiters spread over the partitions like
  // queues; a throttle mark stays with its queue. See limits.ts.

  #limiter (name: string): RedisStore {
    return this.partitions[queuePartition(name, this.#n)]
  }

  async acquireLimit (limit: LimitSpec, holder: LimitHolder, slotMs: number): Promise<AcquireResult> {
    return await this.#limiter(limit.name).limits.acquire(limit, holder, slotMs)
  }

  async releaseLimit (limiter: string, holder: LimitHolder): Promise<void> {
    await this.wakeThrottled(await this.#limiter(limiter).limits.release(limiter, holder), false)
  }

  async renewLimits (slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): Promise<void> {
    const by = this.partitions.map((): typeof slots => [])
    for (const slot of slots) by[queuePartition(slot.limiter, this.#n)].push(slot)
    await Promise.all(this.partitions.map(async (p, i) => { await p.limits.renew(by[i], slotMs) }))
  }

  async throttle (lease: LeaseRef, input: ThrottleInput): Promise<ThrottleResult> {
    return await this.#local(lease.queue, async (p) => await p.throttle(lease, input))
  }

  async wakeThrottled (queues: string[], onlyDue: boolean): Promise<number> {
    const by = this.partitions.map((): string[] => [])
    for (const q of queues) by[queuePartition(q, this.#n)].push(q)
    const woken = await Promise.all(by.map(async (names, i) => names.length === 0 ? 0 : await this.#local(names[0], async (p) => await p.wakeThrottled(names, onlyDue))))
    return woken.reduce((a, b) => a + b, 0)
  }

  async pauseLimiter (name: string, backoffMs: number | null): Promise<void> {
    await this.#limiter(name).limits.pause(name, backoffMs)
  }

  async resumeLimiter (name: string): Promise<void> {
    await this.wakeThrottled(await this.#limiter(name).limits.resume(name), false)
  }

  async listLimiters (): Promise<LimiterState[]> {
    const [states, throttled] = await Promise.all([
      Promise.all(this.partitions.map(async (p) => await p.limits.states())),
      Promise.all(this.partitions.map(async (p) => await p.limits.throttledNames())),
    ])
    return withWaiting(states.flat(), throttled.flat())
  }

  async pause (queue: string): Promise<void> { await this.#of(queue).pause(queue) }
  async resume (queue: string): Promise<void> { await this.#local(queue, async (p) => await p.resume(queue)) }
  async retryHead (queue: string): Promise<void> { await this.#local(queue, async (p) => await p.retryHead(queue)) }

  async skipHead (queue: string, reason: string): Promise<DeadLetter> {
    const i = queuePartition(queue, this.#n)
    const dead = await this.#local(queue, async (p) => await p.skipHead(queue, reason))
    dead.id = globalId(i, dead.id, this.#n)
    return dead
  }

  async requeueDead (id: string): Promise<EnqueueResult> {
    const at = this.#byId(id)
    if (at === null) throw new FST_FIFO_NOT_FOUND(`dead letter ${JSON.stringify(id)} does not exist`)
    this.#touch(at.i)
    const r = await this.#named(id, at.id, async () => await at.store.requeueDead(at.id))
    this.#touch(at.i)
    r.id = globalId(at.i, r.id, this.#n)
    return r
  }

  async deleteDead (id: string): Promise<void> {
    const at = this.#byId(id)
    if (at === null) throw new FST_FIFO_NOT_FOUND(`dead letter ${JSON.stringify(id)} does not exist`)
    await this.#named(id, at.id, async () => { await at.store.deleteDead(at.id) })
  }

  /** A partition's error about local id `local` names the id the caller gave. */
  async #named<T> (id: string, local: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (err) {
      if (err instanceof Error && id !== local) err.message = err.message.split(JSON.stringify(local)).join(JSON.stringify(id))
      throw err
    }
  }

  // Admin reads, merged over the partitions (partitioned-reads.ts).
  overview (): Promise<Overview> { return reads.overview(this.partitions) }
  listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>> { return reads.listQueues(this.partitions, query) }
  getQueue (queue: string): Promise<QueueRow | null> { return reads.getQueue(this.partitions, queue) }
  queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>> { return reads.queueTasks(this.partitions, queue, offset, limit) }
  getTask (id: string): Promise<TaskRow | null> { return reads.getTask(this.partitions, id) }
  listDead (offset: number, limit: number): Promise<Page<DeadLetter>> { return reads.listDead(this.partitions, offset, limit) }
  getDead (id: string): Promise<DeadLetter | null> { return reads.getDead(this.partitions, id) }
  listInstances (): Promise<InstanceRow[]> { return reads.listInstances(this.partitions) }

  /** One row per partition: where it lives and what it holds (the dashboard's partitions panel). */
  async partitionStats (): Promise<PartitionRow[]> {
    return await reads.partitionRows(this.#conn.client, this.partitions)
  }
}
