import type { FailInput, InstanceInfo, LeaseRef, NewTask, Store } from '../../plugin/store/store'

/** What the contract suite needs from one store under test. */
export interface Harness {
  store: Store
  /**
   * Lets `ms` of store time pass: MemoryStore moves its fake clock at once,
   * RedisStore really sleeps (Redis `TIME` cannot be faked), so the suite keeps
   * every interval short.
   */
  advance (ms: number): Promise<void>
  /**
   * A second store over the same data, as another process would open it.
   * Absent for MemoryStore, whose data lives and dies with its one process.
   */
  reopen?: () => Promise<Store>
  /**
   * Overwrites the stored record of `queue`'s head with bytes that do not
   * decode. Absent for MemoryStore, which holds records as objects.
   */
  corruptHead?: (queue: string) => Promise<void>
  /**
   * Names for queues that must share one claim order (FIFO over queues holds
   * within a partition of a partitioned store): returns the names, changed
   * where needed so they all land in the first one's partition. Absent: as given.
   */
  colocate?: (...names: string[]) => string[]
  /** true when `advance(0)` really stops time, so ties (same-ms enqueues) are reproducible. */
  exactClock: boolean
  cleanup (): Promise<void>
}

export interface HarnessOptions {
  deadLetterLimit?: number
}

export interface StoreFeatures {
  /** Several processes can open the same data, and it outlives them (RedisStore). */
  sharedAcrossProcesses: boolean
  /** Records are stored as bytes that could fail to decode (RedisStore). */
  encodedRecords: boolean
  /** Where a dedupe id is remembered: the whole namespace (default), or each queue (a partitioned RedisStore). */
  dedupeScope?: 'namespace' | 'queue'
  /** complete's claimNext is taken up (default); a partitioned RedisStore ignores it, as the contract allows. */
  claimNext?: boolean
}

export type HarnessFactory = (options?: HarnessOptions) => Promise<Harness>

export type Test = tap.Test

/** Lease and backoff lengths: long enough for Redis round trips, short enough that real sleeps stay cheap. */
export const LEASE_MS = 600
/** Time that certainly takes a LEASE_MS lease past its expiry. */
export const PAST_LEASE_MS = LEASE_MS + 150
export const BACKOFF_MS = 300

/** A task for queue `queue` whose payload carries `n`, so tests can tell tasks apart. */
export function task (queue: string, n: number, extra: Partial<NewTask> = {}): NewTask {
  return { queue, name: 'job', payload: JSON.stringify([n]), ...extra }
}

export function argOf (t: { payload: string }): unknown {
  return (JSON.parse(t.payload) as unknown[])[0]
}

export const ref = (t: { queue: string, token: string }): LeaseRef => ({ queue: t.queue, token: t.token })

export function failure (over: Partial<FailInput> = {}): FailInput {
  return { error: 'boom', maxAttempts: 3, delayMs: BACKOFF_MS, onExhausted: 'halt', ...over }
}

export function instance (id: string, handlers: string[] = ['job']): InstanceInfo {
  return { id, host: 'test-host', pid: 4242, version: '0.0.0-test', startedAt: 1_700_000_000_000, concurrency: 4, handlers }
}

/** Store time now, read through the store itself (so Redis `TIME` and the fake clock both work). */
export async function storeNow (store: Store): Promise<number> {
  return (await store.overview()).now
}

/** Resolves with the promise's value, or 'timed out' after `ms` of real time; never leaves its timer behind. */
export async function within<T> (promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timed out'>((resolve) => { timer = setTimeout(() => resolve('timed out'), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const realSleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Consumes wake-up signals left by earlier steps, so the next waitForWork only sees new ones. */
export async function drainWakes (store: Store): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!await store.waitForWork(20)) return
  }
}

/** Asserts that `promise` rejects with fastify-fifo error `code` and a message that names `subject`. */
export async function rejectsWith (t: Test, promise: Promise<unknown>, code: string, subject: string, what: string): Promise<void> {
  try {
    await promise
    t.fail(`${what}: expected ${code}, but it resolved`)
  } catch (err) {
    const e = err as { code?: string, message?: string }
    t.equal(e.code, code, `${what}: ${code}`)
    t.ok(typeof e.message === 'string' && e.message.includes(subject), `${what}: message names ${subject} (${e.message ?? ''})`)
  }
}

/** Sets a test up with a fresh store and tears it down after. */
export async function setup (t: Test, factory: HarnessFactory, options?: HarnessOptions): Promise<Harness & { s: Store, q: (...names: string[]) => string[] }> {
  const h = await factory(options)
  t.teardown(async () => await h.cleanup())
  return Object.assign(h, { s: h.store, q: (...names: string[]) => h.colocate?.(...names) ?? names })
}

/**
 * Waits (on a ref'd timer, up to `timeoutMs`) until sockets and child
 * processes that are already closing have gone. A closed ioredis client's
 * socket or a killed redis-server can linger for a moment; if the file's leak
 * guard polls on unref'd timers meanwhile, the process may exit mid-check.
 */
export async function settleHandles (timeoutMs = 2000): Promise<void> {
  const closing = (): boolean => process.getActiveResourcesInfo().some((r) => r === 'TCPWrap' || r === 'TCPSocketWrap' || r === 'ProcessWrap')
  const deadline = Date.now() + timeoutMs
  while (closing() && Date.now() < deadline) await realSleep(10)
}
