import createError from '@fastify/error'

/**
 * Every refusal fastify-fifo makes is one of these. Each has a stable `code`
 * (`FST_FIFO_*`) and an HTTP `statusCode` used by the admin API. Messages name
 * the bad option, argument, queue or task and echo the bad value.
 */
export const FST_FIFO_INVALID_OPTION = createError('FST_FIFO_INVALID_OPTION', '"%s" option %s', 500, TypeError)
export const FST_FIFO_INVALID_ARGUMENT = createError('FST_FIFO_INVALID_ARGUMENT', 'task "%s": argument %s %s', 400, TypeError)
export const FST_FIFO_PAYLOAD_TOO_LARGE = createError('FST_FIFO_PAYLOAD_TOO_LARGE', 'task "%s": arguments are %d bytes as JSON, over the %d byte limit (option maxPayloadBytes)', 413, RangeError)
export const FST_FIFO_INVALID_QUEUE = createError('FST_FIFO_INVALID_QUEUE', 'queue name %s', 400, TypeError)
export const FST_FIFO_INVALID_CALL_OPTION = createError('FST_FIFO_INVALID_CALL_OPTION', 'call option "%s" %s', 400, TypeError)
export const FST_FIFO_INVALID_DEFINITION = createError('FST_FIFO_INVALID_DEFINITION', 'task "%s": %s', 500, TypeError)
export const FST_FIFO_NOT_A_TASK = createError('FST_FIFO_NOT_A_TASK', '%s is not a task defined with fifo.define()', 500, TypeError)
export const FST_FIFO_CLOSED = createError('FST_FIFO_CLOSED', 'cannot enqueue task "%s": the fifo plugin is closed', 503)
export const FST_FIFO_REDIS_UNAVAILABLE = createError('FST_FIFO_REDIS_UNAVAILABLE', 'Redis is unavailable: %s', 503)
export const FST_FIFO_LEASE_LOST = createError('FST_FIFO_LEASE_LOST', 'lease on queue %s was lost: %s', 409)
export const FST_FIFO_NOT_FOUND = createError('FST_FIFO_NOT_FOUND', '%s', 404)
export const FST_FIFO_CONFLICT = createError('FST_FIFO_CONFLICT', '%s', 409)
export const FST_FIFO_READ_ONLY = createError('FST_FIFO_READ_ONLY', 'the fifo admin API is read-only: %s', 403)
export const FST_FIFO_UNSUPPORTED_MEDIA_TYPE = createError('FST_FIFO_UNSUPPORTED_MEDIA_TYPE', 'actions accept only application/json bodies, got content-type %s', 415)
export const FST_FIFO_CORRUPT_TASK = createError('FST_FIFO_CORRUPT_TASK', 'stored task %s is corrupt: %s', 500)
export const FST_FIFO_TIMEOUT = createError('FST_FIFO_TIMEOUT', 'task "%s" (%s) ran past its timeoutMs of %d ms', 500)
export const FST_FIFO_SHUTDOWN = createError('FST_FIFO_SHUTDOWN', 'task "%s" (%s) was aborted: the server closed before it finished (closeTimeoutMs %d)', 500)
export const FST_FIFO_MISSING_HANDLER = createError('FST_FIFO_MISSING_HANDLER', 'no instance has a handler named "%s" for queue %s', 500)
/**
 * Throw this from a handler to say the task can never succeed: it goes to the
 * dead letters at once, whatever its `attempts` and `onExhausted` say.
 */
export const FST_FIFO_UNRECOVERABLE = createError('FST_FIFO_UNRECOVERABLE', '%s', 500)

/** The `dashboard.auth` hook refused an admin request without saying how (no statusCode of its own). */
export const FST_FIFO_UNAUTHORIZED = createError('FST_FIFO_UNAUTHORIZED', 'dashboard.auth refused the request: %s', 401)
/** An admin API request whose parameters, query or body do not match the route's schema. */
export const FST_FIFO_INVALID_REQUEST = createError('FST_FIFO_INVALID_REQUEST', 'invalid admin API request: %s', 400)
/** The store failed while answering an admin API request (details are in the server log, never in the response). */
export const FST_FIFO_STORE_FAILED = createError('FST_FIFO_STORE_FAILED', 'the queue store could not answer: %s', 503)

/** The namespace holds data written in another storage format (another fastify-fifo version). */
export const FST_FIFO_STORE_FORMAT = createError('FST_FIFO_STORE_FORMAT', 'namespace "%s" holds tasks in store format %s, but this version of fastify-fifo reads format %s: drain it with the version that wrote it, or use another prefix', 500)
/** An enqueue before the Express adapter's `start()` was called (nothing is connected yet). */
export const FST_FIFO_NOT_STARTED = createError('FST_FIFO_NOT_STARTED', 'cannot enqueue task "%s": the store is not connected yet; call await fifo.start() once the tasks are defined', 503)

/** The `replicas` option: Redis did not confirm a write on enough replicas in time. The write may or may not survive a failover. */
export const FST_FIFO_NOT_REPLICATED = createError('FST_FIFO_NOT_REPLICATED', '%s was stored on the Redis master but confirmed on %s within replicaTimeoutMs (%d ms): a failover now could lose it. Retry the call (an enqueue with a dedupeId is never added twice)', 503)
/** The namespace was created with another `partitions` count and still holds work (see the README, Scaling out). */
export const FST_FIFO_PARTITIONS_MISMATCH = createError('FST_FIFO_PARTITIONS_MISMATCH', 'namespace "%s" has partitions: %s, but this instance is configured with partitions: %s (the count can change only on an empty namespace: drain it with the count it has, or use a new prefix)', 500)
/** A limiter definition (`fifo.limiter()`) or a task's `limiter` option that cannot be used. */
export const FST_FIFO_INVALID_LIMITER = createError('FST_FIFO_INVALID_LIMITER', 'limiter %s: %s', 500, TypeError)
/** A task's limiter function, called with the arguments of one call, threw or named no defined limiter. Nothing was stored. */
export const FST_FIFO_INVALID_LIMITER_NAME = createError('FST_FIFO_INVALID_LIMITER_NAME', 'task "%s": %s', 400, TypeError)

const RateLimitedBase = createError('FST_FIFO_RATE_LIMITED', 'rate limited: retry after %d ms', 429)
/**
 * Throw this from a handler when the API it calls says "slow down" (HTTP 429,
 * 503 with Retry-After, a quota error). The task stays at the head of its
 * queue without using an attempt (up to a cap, see README "Rate limits"), the
 * queue waits `retryAfterMs`, and when the task names a limiter the whole
 * limiter pauses that long on every instance.
 * @example throw new errors.FST_FIFO_RATE_LIMITED({ retryAfterMs: 2000 })
 */
export class FST_FIFO_RATE_LIMITED extends RateLimitedBase {
  readonly retryAfterMs: number
  constructor (options: { retryAfterMs: number }) {
    const ms = (options as { retryAfterMs?: unknown } | null)?.retryAfterMs
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new FST_FIFO_INVALID_OPTION('retryAfterMs', `must be a number of milliseconds ≥ 0, got ${String(ms)} (${typeof ms})`)
    }
    super(Math.ceil(ms))
    this.retryAfterMs = Math.ceil(ms)
  }
}

/**
 * Turns an HTTP `Retry-After` header (delay-seconds such as `"120"`, or an
 * HTTP date) into the error to throw. A missing or unreadable header means
 * `fallbackMs`; a date in the past means 0.
 * @example if (res.status === 429) throw rateLimited(res.headers.get('retry-after'))
 */
export function rateLimited (retryAfter: string | number | readonly string[] | null | undefined, fallbackMs = 1000, now = Date.now()): FST_FIFO_RATE_LIMITED {
  const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
  let ms = fallbackMs
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    ms = value * 1000
  } else if (typeof value === 'string') {
    const text = value.trim()
    if (/^\d+(\.\d+)?$/.test(text)) {
      ms = Number(text) * 1000
    } else {
      const at = Date.parse(text)
      if (Number.isFinite(at) && /[a-z]/i.test(text)) ms = Math.max(0, at - now)
    }
  }
  return new FST_FIFO_RATE_LIMITED({ retryAfterMs: ms })
}
export const FST_FIFO_WAIT_TIMEOUT = createError('FST_FIFO_WAIT_TIMEOUT', 'task %s on queue "%s": no outcome within %d ms; the task is still queued and will run (only this wait ended)', 504)
export const FST_FIFO_RESULT_REFUSED = createError('FST_FIFO_RESULT_REFUSED', 'task %s on queue "%s" succeeded, but its result cannot be returned: %s', 500)
/** fifo.wait on a task enqueued without the `wait` call option: nothing keeps its outcome, so there is nothing to wait for. */
export const FST_FIFO_NOT_WAITED = createError('FST_FIFO_NOT_WAITED', 'task %s on queue "%s" %s, but it was not enqueued with the wait call option, so its outcome is not kept and cannot be waited for', 409)

export const errors = {
  FST_FIFO_STORE_FORMAT,
  FST_FIFO_NOT_REPLICATED,
  FST_FIFO_INVALID_OPTION,
  FST_FIFO_INVALID_ARGUMENT,
  FST_FIFO_PAYLOAD_TOO_LARGE,
  FST_FIFO_INVALID_QUEUE,
  FST_FIFO_INVALID_CALL_OPTION,
  FST_FIFO_INVALID_DEFINITION,
  FST_FIFO_NOT_A_TASK,
  FST_FIFO_CLOSED,
  FST_FIFO_REDIS_UNAVAILABLE,
  FST_FIFO_LEASE_LOST,
  FST_FIFO_NOT_FOUND,
  FST_FIFO_CONFLICT,
  FST_FIFO_READ_ONLY,
  FST_FIFO_UNSUPPORTED_MEDIA_TYPE,
  FST_FIFO_CORRUPT_TASK,
  FST_FIFO_TIMEOUT,
  FST_FIFO_SHUTDOWN,
  FST_FIFO_MISSING_HANDLER,
  FST_FIFO_UNRECOVERABLE,
  FST_FIFO_UNAUTHORIZED,
  FST_FIFO_INVALID_REQUEST,
  FST_FIFO_STORE_FAILED,
  FST_FIFO_NOT_STARTED,
  FST_FIFO_PARTITIONS_MISMATCH,
  FST_FIFO_INVALID_LIMITER,
  FST_FIFO_INVALID_LIMITER_NAME,
  FST_FIFO_RATE_LIMITED,
  FST_FIFO_WAIT_TIMEOUT,
  FST_FIFO_RESULT_REFUSED,
  FST_FIFO_NOT_WAITED,
}

/** Renders any thrown value as one line of text that is safe to store and show. */
export function describeError (err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    const text = typeof code === 'string' && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message
    return text.length > 2000 ? text.slice(0, 2000) + '…' : text
  }
  try {
    const text = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err)
    return text.length > 2000 ? text.slice(0, 2000) + '…' : text
  } catch {
    return String(err)
  }
}
