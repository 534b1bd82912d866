import { AsyncResource } from 'node:async_hooks'
import { describeError } from '../errors'
import type { ClaimedTask, EnqueueResult, NewTask } from '../../store/store'
import { heartbeat, sweep } from './leases'
import { runQueue } from './queue-run'
import { shutdown } from './shutdown'
import { sleep, WorkerState, type Hold, type WorkerOptions } from './state'

/**
 * Runs the queues inside the server: one claim loop takes queues (holds)
 * while a run permit is free; each hold runs its queue's heads one after
 * another (queue-run.ts), each head under one of `concurrency` run permits
 * (permits.ts), until the queue is empty, the fairness burst is spent, or the
 * instance closes. Lease keeping is in leases.ts, shutdown in shutdown.ts.
 */
export class Worker {
  readonly #s: WorkerState
  #loop: Promise<void> | null = null
  #closePromise: Promise<void> | null = null

  constructor (options: WorkerOptions) {
    this.#s = new WorkerState(options)
  }

  get heldLeases (): number {
    return this.#s.holds.size
  }

  start (): void {
    const s = this.#s
    if (s.claiming || s.closing) return
    s.claiming = true
    const beatMs = Math.max(50, Math.floor(s.o.leaseMs / 3))
    s.heartbeatTimer = setInterval(() => { s.background(heartbeat(s)) }, beatMs)
    s.sweepTimer = setInterval(() => { s.background(sweep(s)) }, s.o.sweepMs)
    s.background(heartbeat(s))
    s.background(sweep(s))
    // A task claimed on enqueue runs in the worker's context, not in the request (or
    // handler) that enqueued it: nothing the caller keeps in AsyncLocalStorage leaks into it.
    s.adopt = AsyncResource.bind((claimed: ClaimedTask, sentAt: number) => {
      if (s.claiming) {
        this.#hold(claimed, sentAt)
      } else {
        // Closing began while the enqueue was in flight: hand the queue to another instance.
        s.background(s.o.store.release({ queue: claimed.queue, token: claimed.token }, false).then(() => {}, () => {}))
      }
    })
    this.#loop = this.#claimLoop()
  }

  /**
   * Stores a task. When this instance has a free slot and the handler, it
   * offers to run the task itself: if the task made its queue runnable, the
   * store leases the queue to this instance in the same call (claim on
   * enqueue), and the task starts without a wake-up and a claim round trip.
   * Any other instance would have had to do the same work; none waits for it.
   */
  enqueue (task: NewTask): Promise<EnqueueResult> {
    const s = this.#s
    const store = s.o.store
    if (!s.claiming || !s.roomToClaim() || s.o.registry.get(task.name) === undefined) {
      return store.enqueue(task)
    }
    s.reserved++
    const sentAt = Date.now()
    return store.enqueue(task, { owner: s.o.instance.id, leaseMs: s.o.leaseMs }).then((result) => {
      s.reserved--
      if (result.claimed === undefined) s.wakeLoop()
      else s.adopt(result.claimed, sentAt)
      return result
    }, (err: unknown) => {
      s.reserved--
      s.wakeLoop()
      throw err
    })
  }

  /** preClose: take no new queues. Running heads go on. */
  stopClaiming (): void {
    this.#s.claiming = false
    // Heads waiting for a run permit have not started: their queues go to other instances now.
    this.#s.permits.giveBackAll()
    this.#s.o.store.interruptWait()
    this.#s.wakeLoop()
  }

  /** onClose: wait for running heads up to closeTimeoutMs, abort the rest, hand every queue back. */
  async close (): Promise<void> {
    this.#closePromise ??= this.#close()
    return await this.#closePromise
  }

  async #close (): Promise<void> {
    this.stopClaiming()
    await shutdown(this.#s, this.#loop)
  }

  async #claimLoop (): Promise<void> {
    const s = this.#s
    const idleWaitMs = Math.min(5000, Math.max(100, s.o.sweepMs))
    // An empty claim offers to take a queue handed over while this instance waits (store.claim's
    // offerMs). A third of the lease at most: a handed lease was granted after the offering claim
    // was sent, and the run must still find most of it left.
    const offerMs = Math.min(idleWaitMs, Math.floor(s.o.leaseMs / 3))
    // When the last offer's claim was sent: a handed head's lease lasts at least leaseMs from here.
    let offeredAt = 0
    let failures = 0
    while (s.claiming) {
      if (!s.roomToClaim()) {
        await new Promise<void>((resolve) => { s.slotFreed = resolve })
        continue
      }
      let claimed: ClaimedTask | null
      const sentAt = Date.now()
      try {
        claimed = await s.o.store.claim(s.o.instance.id, s.o.leaseMs, offerMs, s.o.pipelinedAcks)
        failures = 0
        s.storeUp()
      } catch (err) {
        s.storeFailed(err)
        failures++
        await sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)))
        continue
      }
      if (claimed === null) {
        offeredAt = sentAt
        s.pauseExtraHolds()
      }
      let woken: boolean | ClaimedTask = false
      if (claimed === null) {
        try {
          woken = await s.o.store.waitForWork(idleWaitMs)
        } catch (err) {
          s.storeFailed(err)
          await sleep(250)
        }
        if (typeof woken !== 'object') continue
        claimed = woken
      }
      // A head handed over twice under one lease (its inbox pop lost in a failover without
      // `replicas`, then popped again on the promoted replica) is already running here.
      if (s.holds.get(claimed.queue)?.lease.token === claimed.token) continue
      if (!s.claiming || s.holds.size + s.reserved >= s.maxHolds) {
        // Closing began while the claim was in flight, or queues claimed on enqueue took the
        // last holds while a handed one was on its way: give it straight back. (A head that
        // only finds every run permit taken waits briefly for one; see permits.ts.)
        await s.o.store.release({ queue: claimed.queue, token: claimed.token }, false).catch(() => {})
        continue
      }
      this.#hold(claimed, claimed.handedOver === true ? offeredAt : sentAt)
    }
  }

  /** Takes a claimed queue into a hold and runs it until the hold ends. */
  #hold (first: ClaimedTask, sentAt: number): void {
    const s = this.#s
    const hold: Hold = {
      lease: { queue: first.queue, token: first.token },
      task: first,
      controller: null,
      abortReason: undefined,
      endRun: null,
      // The store granted the lease after we sent the request, so it lasts at least until here.
      confirmedUntil: sentAt + s.o.leaseMs,
      lost: false,
      settling: false,
      limiter: null,
      slot: null,
      done: Promise.resolve(),
      span: null,
    }
    s.holds.set(first.queue, hold)
    hold.done = runQueue(s, hold).catch((err) => {
      s.o.log.error({ err: describeError(err), queue: first.queue }, 'fastify-fifo: queue run ended with an unexpected error')
    }).finally(() => {
      if (s.holds.get(first.queue) === hold) s.holds.delete(first.queue)
      s.wakeLoop()
    })
  }
}
