import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The history a chaos run records. Every process (each app instance, the
 * runner, the producers) appends its own events to its own file, one JSON
 * object per line, with a plain write(2) per event: once write returns, the
 * bytes belong to the kernel, so they survive the writer being killed with
 * SIGKILL or frozen with SIGSTOP. (fsync only matters if the machine itself
 * goes down, which a chaos run does not simulate; it can be turned on.)
 *
 * Ordering across processes: `hr` is process.hrtime() in microseconds. On
 * Linux that is CLOCK_MONOTONIC, one clock for every process on the machine,
 * so events of different processes compare directly. `t` (Date.now()) is kept
 * for people reading the files.
 */

interface Stamp {
  /** Monotonic machine-wide time, microseconds. */
  hr: number
  /** Wall clock, ms since epoch. */
  t: number
  /** The process that wrote the event (instance id, 'runner', …). */
  src: string
}

/** A task as the handler sees it: one queue, one position in it. */
interface TaskRef {
  id: string
  queue: string
  /** Position in its queue as the producer numbered it (1, 2, …). */
  seq: number
}

interface RunRef extends TaskRef {
  /** The attempt number the handler was given. */
  attempt: number
}

/** The producer's enqueue call returned (ok) or threw (not accepted). */
export type EnqueueEvent =
  | { type: 'enqueue', ok: true, id: string, queue: string, seq: number, beganHr: number }
  | { type: 'enqueue', ok: false, queue: string, seq: number, beganHr: number, error: string }

/**
 * The handler began. For a task with a limiter: the limiter's name and when
 * the store granted the token (ctx.limiter; store clock, ms since epoch).
 */
export interface StartEvent extends RunRef { type: 'start', limiter?: string, grantedAt?: number }
/**
 * The handler returned or threw. `zombie`: it ignored its abort and finished
 * later anyway. `backed-off`: it threw FST_FIFO_RATE_LIMITED.
 */
export interface EndEvent extends RunRef { type: 'end', outcome: 'ok' | 'threw' | 'aborted' | 'zombie' | 'backed-off' }
/** The handler's AbortSignal fired; `reason` is the error code of signal.reason (or its text). */
export interface AbortEvent extends RunRef { type: 'abort', reason: string }
/** What the store answered when the worker settled a run (recorded by the store observer). */
export interface SettleEvent extends RunRef {
  type: 'settle'
  op: 'complete' | 'fail'
  result: 'ok' | 'fenced' | 'error'
  /** For fail: retrying | halted | dead. */
  outcome?: string
  error?: string
}
/**
 * The store handed this instance a head with a lease (a claim, or a completion
 * returning the next head), recorded when the reply arrived (store observer).
 * The worker decides to run the head after this; a run whose process froze
 * between this and its start event began before the freeze.
 */
export interface ClaimedEvent extends RunRef { type: 'claimed' }
/** A heartbeat reply renewed this instance's leases on `queues` (store observer). */
export interface RenewedEvent { type: 'renewed', queues: string[] }
/** The heartbeat said this instance lost its lease on `queue` (recorded by the store observer). */
export interface LeaseLostEvent { type: 'lease-lost', queue: string }
/** The worker's pauseLimiter call for a back-off returned: the pause is in the store (store observer). */
export interface LimiterPausedEvent { type: 'limiter-paused', limiter: string, ms: number | null }
/** Process lifecycle, written by the runner (spawn/kill/stop/cont/term/exit/crash) or the instance (ready). */
export interface ProcEvent {
  type: 'proc'
  inst: string
  action: 'spawn' | 'ready' | 'kill' | 'stop' | 'cont' | 'term' | 'exit' | 'crash' | 'start-refused'
  pid?: number
  detail?: string
}
/** Faults done to Redis, written by the runner. */
export interface RedisEvent {
  type: 'redis'
  /** master-kill: a Cluster/Sentinel master killed -9 (its replica is promoted); replica-kill/replica-start: a replica. */
  action: 'kill' | 'stop' | 'start' | 'client-kill' | 'master-kill' | 'promoted' | 'replica-kill' | 'replica-start'
  detail?: string
}

export type EventBody = EnqueueEvent | StartEvent | EndEvent | AbortEvent | SettleEvent | ClaimedEvent | RenewedEvent | LeaseLostEvent | LimiterPausedEvent | ProcEvent | RedisEvent
export type ChaosEvent = EventBody & Stamp

/** Machine-wide monotonic time in microseconds (see the note at the top). */
export function hrNow (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** One process's append-only event file. */
export class EventLog {
  readonly src: string
  readonly path: string
  #fd: number | null
  #fsync: boolean

  constructor (dir: string, src: string, options: { fsync?: boolean } = {}) {
    this.src = src
    this.path = join(dir, `events-${src.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`)
    this.#fd = openSync(this.path, 'a')
    this.#fsync = options.fsync === true
  }

  write (body: EventBody): void {
    if (this.#fd === null) return
    const event = { ...body, hr: hrNow(), t: Date.now(), src: this.src }
    writeSync(this.#fd, JSON.stringify(event) + '\n')
    if (this.#fsync) fsyncSync(this.#fd)
  }

  close (): void {
    if (this.#fd === null) return
    closeSync(this.#fd)
    this.#fd = null
  }
}

/**
 * Reads every events-*.jsonl file in `dir`, sorted by `hr`. A line that does
 * not parse (it cannot happen with write(2), but a disk could fill up) is
 * counted, not fatal.
 */
export function readEvents (dir: string): { events: ChaosEvent[], malformedLines: number } {
  const events: ChaosEvent[] = []
  let malformedLines = 0
  for (const name of readdirSync(dir).sort()) {
    if (!name.startsWith('events-') || !name.endsWith('.jsonl')) continue
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue
      try {
        events.push(JSON.parse(line) as ChaosEvent)
      } catch {
        malformedLines++
      }
    }
  }
  events.sort((a, b) => a.hr - b.hr)
  return { events, malformedLines }
}
