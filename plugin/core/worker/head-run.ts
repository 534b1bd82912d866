import { describeError, FST_FIFO_TIMEOUT } from '../errors'
import { backoffDelay, runInContext, type LimiterGrant, type TaskDefinition } from '../registry'
import type { ClaimedTask, FailInput } from '../../store/store'
import { parseArgs } from '../task'
import { fenced, leaseStillOurs, settle } from './leases'
import { backOff, releaseSlot, takeToken, type Backoff } from './limits'
import { isWaited, successOutcome } from './outcome'
import { RunContext } from './run-context'
import { abortRun, type Hold, type WorkerState } from './state'

/**
 * Runs one head of a held queue: checks that it can run here (readable,
 * a handler, the lease surely ours, attempts left), calls the handler in its
 * RunContext, and ends the run on timeout or abort. Returns 'succeeded', the
 * failure to record, or 'released' when the hold ended without settling.
 */
export async function runHead (s: WorkerState, hold: Hold, task: ClaimedTask): Promise<'succeeded' | 'released' | FailInput> {
  if (task.corrupt !== undefined) {
    return { error: `FST_FIFO_CORRUPT_TASK: ${task.corrupt}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter', deadLetterNow: true }
  }
  const def = s.o.registry.get(task.name)
  if (def === undefined) {
    if (!s.missingLogged.has(task.name)) {
      s.missingLogged.add(task.name)
      s.o.log.warn({ queue: task.queue, task: task.name }, 'fastify-fifo: no handler with this name here; the queue waits for an instance that has it')
    }
    hold.settling = true
    await settle(s, hold, async () => await s.o.store.park(hold.lease, task.name))
    return 'released'
  }
  let args: unknown[]
  try {
    args = parseArgs(task.payload)
  } catch (err) {
    return { error: `FST_FIFO_CORRUPT_TASK: ${(err as Error).message}`, maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter', deadLetterNow: true }
  }
  if (!leaseStillOurs(s, hold)) {
    // The reply that handed us this head came too late (a slow network, a
    // frozen process): the lease may have expired and another instance may
    // already run this queue. Starting now could run task n after task n+1.
    fenced(s, hold, task)
    return 'released'
  }
  if (task.attempt > def.attempts) {
    // Earlier runs were lost (crash or lease loss) and used up the attempts.
    return failure(def, task, `attempt ${task.attempt} exceeds attempts (${def.attempts}): earlier runs were lost to a crash or a lost lease${task.lastError === undefined ? '' : `; last error: ${task.lastError}`}`, false)
  }
  if (!s.permits.tryTake() && !await waitForPermit(s, hold, task)) return 'released'
  let outcome: 'succeeded' | FailInput | Backoff
  try {
    if (def.limiter === undefined) {
      outcome = await invoke(s, hold, def, task, args, null)
    } else {
      hold.limiter = null
      const gate = await takeToken(s, hold, def, task, args)
      if (gate === 'released' || (gate !== null && 'error' in gate)) return gate
      outcome = await invoke(s, hold, def, task, args, gate)
      releaseSlot(s, hold)
    }
  } finally {
    // The handler has settled: its permit goes to another held queue's head while this completion is on the wire.
    s.permits.give()
  }
  return isBackoff(outcome) ? await backOff(s, hold, def, task, outcome) : outcome
}

/**
 * Every run permit is taken: waits briefly for one (permits.ts). True when
 * the head may start. Otherwise the hold ends: the lease was lost, or the
 * queue is given back with its head not started (attempt un-counted) so an
 * instance with a free permit runs it. No completion of this queue is in
 * flight here (pipelined acks run ahead only while a permit is free), so the
 * release cannot overtake one.
 */
async function waitForPermit (s: WorkerState, hold: Hold, task: ClaimedTask): Promise<boolean> {
  const how = s.claiming ? await s.permits.wait((end) => { hold.endRun = end }) : 'give-back'
  hold.endRun = null
  if (how === 'run') {
    if (leaseStillOurs(s, hold)) return true
    s.permits.give()
    if (!hold.lost) fenced(s, hold, task)
    return false
  }
  if (how === 'lost' || hold.lost) return false
  if (s.claiming) s.pauseExtraHolds()
  hold.settling = true
  await settle(s, hold, async () => await s.o.store.release(hold.lease, false))
  return false
}

function isBackoff (outcome: 'succeeded' | FailInput | Backoff): outcome is Backoff {
  return typeof outcome === 'object' && 'backoffMs' in outcome
}

async function invoke (s: WorkerState, hold: Hold, def: TaskDefinition, task: ClaimedTask, args: unknown[], grant: LimiterGrant | null): Promise<'succeeded' | FailInput | Backoff> {
  const ctx = new RunContext(hold, task, def.attempts, s.o.log, grant)
  let timer: NodeJS.Timeout | undefined
  const started = performance.now()
  const tracing = s.o.tracing
  if (tracing !== null) hold.span = tracing.startRun(task, s.o.instance.id)
  try {
    const result = hold.span === null ? runInContext(ctx, () => def.handler(...args)) : hold.span.run(() => runInContext(ctx, () => def.handler(...args)))
    let value: unknown = result
    if (isThenable(result)) {
      // The run ends when the handler settles or its run is aborted (lease
      // lost, timeout, shutdown): a handler that ignores its signal cannot hold the queue.
      // One promise settled by whichever comes first (cheaper than a race against a second promise).
      const run = new Promise<unknown>((resolve, reject) => {
        if (hold.abortReason !== undefined) {
          reject(hold.abortReason)
          return
        }
        hold.endRun = reject
        result.then(resolve, reject)
      })
      if (def.timeoutMs > 0) {
        timer = setTimeout(() => abortRun(hold, new FST_FIFO_TIMEOUT(def.name, task.id, def.timeoutMs)), def.timeoutMs)
      }
      value = await run
    }
    if (hold.abortReason !== undefined) throw hold.abortReason
    if (isWaited(task)) hold.outcome = successOutcome(task, value, s.o.maxResultBytes)
    return 'succeeded'
  } catch (err) {
    hold.span?.error(err)
    if (hold.lost) return { error: describeError(err), maxAttempts: def.attempts, delayMs: 0, onExhausted: def.onExhausted }
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'FST_FIFO_RATE_LIMITED' && typeof (err as { retryAfterMs?: unknown }).retryAfterMs === 'number') {
      ctx.log.info({ retryAfterMs: (err as { retryAfterMs: number }).retryAfterMs }, 'fastify-fifo: task backed off (rate limited); it stays at its head')
      return { backoffMs: (err as { retryAfterMs: number }).retryAfterMs, error: describeError(err) }
    }
    const unrecoverable = code === 'FST_FIFO_UNRECOVERABLE'
    ctx.log.warn({ err: describeError(err) }, unrecoverable ? 'fastify-fifo: task failed unrecoverably' : 'fastify-fifo: task failed')
    return failure(def, task, describeError(err), unrecoverable)
  } finally {
    hold.endRun = null
    clearTimeout(timer)
    s.o.metrics.observeDuration(performance.now() - started)
  }
}

function failure (def: TaskDefinition, task: ClaimedTask, error: string, deadLetterNow: boolean): FailInput {
  return { error, maxAttempts: def.attempts, delayMs: backoffDelay(def, task.attempt), onExhausted: def.onExhausted, deadLetterNow }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}
