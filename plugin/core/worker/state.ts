import type { Logger } from '../log'
import { describeError } from '../errors'
import type { Metrics } from '../metrics'
import type { Registry } from '../registry'
import type { RunOutcome, RunSpan, Tracing } from '../tracing'
import type { ClaimedTask, CompleteResult, InstanceInfo, LeaseRef, Store } from '../../store/store'
import type { HeldSlot } from './limits'
import { EXTRA_CLAIM_PAUSE_MS, MAX_HOLDS_FACTOR, Permits } from './permits'

export interface WorkerOptions {
  store: Store
  registry: Registry
  log: Logger
  metrics: Metrics
  instance: InstanceInfo
  concurrency: number
  leaseMs: number
  sweepMs: number
  burst: number
  /** Completions of one queue that may be in flight while later tasks run (0: none, the safe default). */
  pipelinedAcks: number
  closeTimeoutMs: number
  /** OpenTelemetry hooks, null when tracing is off or @opentelemetry/api is absent. */
  tracing: Tracing | null
  /** Largest result handed to a waiter (bytes of JSON). */
  maxResultBytes: number
}

/** A completion sent without waiting for it (pipelined acks). */
export interface PendingAck {
  taskId: string
  reply: Promise<CompleteResult>
}

/** One queue this instance holds, with the run of its current head. */
export interface Hold {
  lease: LeaseRef
  task: ClaimedTask
  /** The current head's AbortController, made only when a handler asks for its signal. */
  controller: AbortController | null
  /** Why the current head's run was aborted, once it was. */
  abortReason: unknown
  /** Ends the current head's run at once (set while a handler runs). */
  endRun: ((reason: unknown) => void) | null
  /** Local time until which the store has confirmed the lease (last successful renewal + leaseMs). */
  confirmedUntil: number
  lost: boolean
  /**
   * True from the moment a head's settling call (complete, fail, park) is sent
   * until the worker has taken in its reply and goes on with the next head
   * (for good when the hold ends). Meanwhile a heartbeat that no longer finds
   * the lease proves nothing — that call may have ended the lease itself —
   * so its own reply decides.
   */
  settling: boolean
  /** The concrete limiter of the current head, once its token was asked for (null: none). */
  limiter: string | null
  /** The running slot the current head holds (a limiter with a concurrency), given back when it settles. */
  slot: HeldSlot | null
  done: Promise<void>
  /** The current head's process span (tracing only), until its outcome is known. */
  span: RunSpan | null
  /** Only for a head someone waits on, once it succeeded: its outcome text for `complete` (see store.ts waitOutcome). */
  outcome?: string
}

/** Ends the current head's process span, if any, with how its run ended. */
export function endSpan (hold: Hold, outcome: RunOutcome): void {
  if (hold.span === null) return
  hold.span.end(outcome)
  hold.span = null
}

/**
 * What the parts of the worker share: its options, the queues it holds and
 * its lifecycle flags. The claim loop (worker.ts), the lease keeping
 * (leases.ts), the runs (queue-run.ts, head-run.ts) and shutdown
 * (shutdown.ts) all read and write this one object.
 */
export class WorkerState {
  readonly o: WorkerOptions
  readonly holds = new Map<string, Hold>()
  /** `concurrency` run permits: handlers running at once (permits.ts). */
  readonly permits: Permits
  /** Queues this instance may hold: more than `concurrency`, so a head runs while another's completion is in flight. */
  readonly maxHolds: number
  /** Until when (Date.now()) no queue is claimed beyond `concurrency` holds (see pauseExtraHolds). */
  #extraPausedUntil = 0
  claiming = false
  closing = false
  /** Slots promised to enqueues in flight that offered to claim their task. */
  reserved = 0
  slotFreed: (() => void) | null = null
  /**
   * Takes a queue claimed outside the claim loop (on enqueue, or with a
   * completion that released its queue) into a hold, in the worker's own
   * async context; gives it back when the worker no longer claims.
   */
  adopt: (claimed: ClaimedTask, sentAt: number) => void = () => {}
  heartbeatTimer: NodeJS.Timeout | null = null
  sweepTimer: NodeJS.Timeout | null = null
  readonly retryTimers = new Set<NodeJS.Timeout>()
  storeDown = false
  /** Task names already logged as having no handler here (logged once each). */
  readonly missingLogged = new Set<string>()

  constructor (options: WorkerOptions) {
    this.o = options
    this.permits = new Permits(options.concurrency, () => { this.wakeLoop() })
    this.maxHolds = options.concurrency * MAX_HOLDS_FACTOR
  }

  /**
   * True when a claimed queue could start at once: a run permit is free (so
   * no head waits for one either) and the holds are below their cap — below
   * `concurrency` for a while after an empty claim or a give-back
   * (EXTRA_CLAIM_PAUSE_MS).
   * Enqueues in flight that offered to claim count as running. `replacing`:
   * holds about to end that the claimed queue takes the place of (a
   * completion that releases its queue, see complete's claimNext).
   */
  roomToClaim (replacing = 0): boolean {
    if (this.permits.running + this.reserved >= this.o.concurrency) return false
    const held = this.holds.size + this.reserved - replacing
    return held < this.o.concurrency || (held < this.maxHolds && Date.now() >= this.#extraPausedUntil)
  }

  /** A claim found nothing, or a head was given back for want of a permit: hold no more than `concurrency` queues for a while. */
  pauseExtraHolds (): void {
    this.#extraPausedUntil = Date.now() + EXTRA_CLAIM_PAUSE_MS
  }

  background (work: Promise<void>): void {
    work.catch((err) => this.o.log.error({ err: describeError(err) }, 'fastify-fifo: unexpected error in a background task'))
  }

  /** Wakes the claim loop when it waits for a free slot. */
  wakeLoop (): void {
    const wake = this.slotFreed
    this.slotFreed = null
    wake?.()
  }

  storeFailed (err: unknown): void {
    if (!this.storeDown) {
      this.storeDown = true
      this.o.log.error({ err: describeError(err) }, 'fastify-fifo: store unavailable; workers wait and retry')
    }
  }

  storeUp (): void {
    if (this.storeDown) {
      this.storeDown = false
      this.o.log.info('fastify-fifo: store reachable again; workers resumed')
    }
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Aborts the current head's run: its signal fires and the worker stops waiting for it. */
export function abortRun (hold: Hold, reason: unknown): void {
  if (hold.abortReason !== undefined) return
  hold.abortReason = reason
  hold.controller?.abort(reason)
  hold.endRun?.(reason)
}
