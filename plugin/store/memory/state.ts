import { FST_FIFO_NOT_FOUND } from '../../core/errors'
import type { ClaimedTask, InstanceInfo, LeaseRef, QueueRow } from '../store'
import { ReadyList } from './ready-list'
import { claimedTask, queueRow, queueState, type DeadRecord, type Lease, type QueueRecord, type TaskRecord } from './records'
import { ThroughputStats } from './stats'
import { taskFields } from '../rows'
import { TaskList } from './task-list'
import { WakeSignal } from './wake'
import type { LimiterRecord } from './limits'

export interface InstanceRecord {
  info: InstanceInfo
  lastHeartbeatAt: number
  /** 3 × the leaseMs of its last heartbeat: how long it stays listed without another. */
  ttlMs: number
}

export interface DedupeEntry {
  result: { id: string, queue: string, name: string }
  expiresAt: number
}

/**
 * Everything a MemoryStore holds, and the moves that keep its indexes in step
 * (a queue is in `ready` exactly when it is waiting; in `held`, `retrying`,
 * `parked` exactly when it has that mark). Internal: MemoryStore keeps it private.
 */
export class MemoryState {
  readonly queues = new Map<string, QueueRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  readonly ready = new ReadyList()
  /** Queues under a lease, retrying, and missing a handler: what sweep looks at. */
  readonly held = new Set<string>()
  readonly retrying = new Set<string>()
  readonly parked = new Set<string>()
  readonly throttled = new Set<string>()
  /** Held queues woken before their throttle landed (see Store.throttle). */
  readonly nudged = new Set<string>()
  /** Rate-limit back-offs of a queue's current head. */
  readonly backoffs = new Map<string, { taskId: string, count: number }>()
  readonly limiters = new Map<string, LimiterRecord>()
  /** Oldest first; Map order makes dropping the oldest O(1). */
  readonly dead = new Map<string, DeadRecord>()
  /** In enqueue order, so expired entries can be pruned from the front. */
  readonly dedupe = new Map<string, DedupeEntry>()
  readonly instances = new Map<string, InstanceRecord>()
  readonly stats = new ThroughputStats()
  readonly wake = new WakeSignal()
  lastTaskId = 0
  lastToken = 0

  constructor (readonly now: () => number, readonly deadLetterLimit: number) {}

  /**
   * Adds a task at the tail of its queue, creating the queue, and wakes a
   * worker if the queue became runnable — unless `schedule` is false (claim on
   * enqueue: the caller leases the queue at once).
   */
  append (task: TaskRecord, schedule = true): void {
    let q = this.queues.get(task.queue)
    if (q === undefined) {
      q = { name: task.queue, ids: new TaskList(), nextSeq: 0, lease: null, paused: false, retryAt: null, haltedAt: null, missingHandler: null, throttledUntil: null, limiter: null }
      this.queues.set(q.name, q)
    }
    task.seq = q.nextSeq++
    q.ids.push(task.id)
    this.tasks.set(task.id, task)
    if (schedule) this.reschedule(q, 'back')
  }

  /** Leases a queue that is out of the ready list to `owner` with a new token and counts an attempt on its head. */
  grant (q: QueueRecord, owner: string, leaseMs: number): ClaimedTask {
    const head = this.head(q)
    q.lease = { owner, token: String(++this.lastToken), expiresAt: this.now() + leaseMs }
    this.held.add(q.name)
    head.attempts++
    return claimedTask(head, q.lease)
  }

  /**
   * Puts a queue where its state says: in the ready list when it can run (at
   * `end`, signalling a wake-up when it was not there), out of it otherwise;
   * drops it from every index when it is empty and not paused, halted or held.
   * Returns true when it newly became runnable.
   */
  reschedule (q: QueueRecord, end: 'front' | 'back'): boolean {
    if (q.ids.length === 0 && !q.paused && q.haltedAt === null && q.lease === null) {
      this.queues.delete(q.name)
      this.ready.delete(q.name)
      this.retrying.delete(q.name)
      this.parked.delete(q.name)
      this.throttled.delete(q.name)
      return false
    }
    if (queueState(q) !== 'waiting' || q.ids.length === 0) {
      this.ready.delete(q.name)
      return false
    }
    const wasReady = this.ready.has(q.name)
    if (end === 'front') this.ready.pushFront(q.name)
    else this.ready.pushBack(q.name)
    if (wasReady) return false
    this.wake.signal()
    return true
  }

  /** The queue whose current, unexpired lease has this token; null when the caller is fenced (G2). */
  leased (ref: LeaseRef): QueueRecord | null {
    const q = this.queues.get(ref.queue)
    if (q === undefined || q.lease === null || q.lease.token !== ref.token) return null
    // An expired lease is lost even before a sweep hands the queue to someone else.
    return q.lease.expiresAt > this.now() ? q : null
  }

  unlease (q: QueueRecord): void {
    q.lease = null
    this.held.delete(q.name)
  }

  uncountAttempt (q: QueueRecord): void {
    const head = this.head(q)
    head.attempts = Math.max(0, head.attempts - 1)
  }

  /** Removes the head task and the marks that belonged to it. */
  dropHead (q: QueueRecord): TaskRecord {
    const task = this.head(q)
    q.ids.shift()
    this.tasks.delete(task.id)
    q.retryAt = null
    q.haltedAt = null
    q.missingHandler = null
    q.throttledUntil = null
    q.limiter = null
    this.retrying.delete(q.name)
    this.parked.delete(q.name)
    this.throttled.delete(q.name)
    return task
  }

  deadLetterHead (q: QueueRecord, reason: string): DeadRecord {
    const task = this.dropHead(q)
    const dead: DeadRecord = { ...taskFields(task), attempts: task.attempts, reason, deadAt: this.now(), lastError: task.lastError }
    this.dead.set(dead.id, dead)
    while (this.dead.size > this.deadLetterLimit) {
      const oldest = this.dead.keys().next()
      if (oldest.done === true) break
      this.dead.delete(oldest.value)
    }
    return dead
  }

  row (q: QueueRecord): QueueRow {
    const headId = q.ids.at(0)
    return queueRow(q, headId === undefined ? undefined : this.task(headId))
  }

  /** The queue an operator named; FST_FIFO_NOT_FOUND when there is none. */
  existing (queue: string): QueueRecord {
    const q = this.queues.get(queue)
    if (q === undefined) throw new FST_FIFO_NOT_FOUND(`queue ${JSON.stringify(queue)} does not exist (it has no tasks and is not paused or halted)`)
    return q
  }

  // The three lookups below guard invariants; a miss is a bug in the memory store, not bad input.
  queue (name: string): QueueRecord {
    const q = this.queues.get(name)
    if (q === undefined) throw new Error(`fifo memory store: queue ${JSON.stringify(name)} is indexed but missing`)
    return q
  }

  task (id: string): TaskRecord {
    const task = this.tasks.get(id)
    if (task === undefined) throw new Error(`fifo memory store: task ${JSON.stringify(id)} is listed but missing`)
    return task
  }

  /** Up to `n` tasks behind the head, as they will be claimed (attempt 1, under `lease`); nothing is counted. */
  following (q: QueueRecord, n: number, lease: Lease): ClaimedTask[] {
    return q.ids.slice(1, n).map((id) => ({ ...claimedTask(this.task(id), lease), attempt: 1 }))
  }

  head (q: QueueRecord): TaskRecord {
    const id = q.ids.at(0)
    if (id === undefined) throw new Error(`fifo memory store: queue ${JSON.stringify(q.name)} has no head`)
    return this.task(id)
  }
}
