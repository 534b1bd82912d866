import { Cluster, type Command } from 'ioredis'
import { FST_FIFO_INVALID_OPTION, FST_FIFO_REDIS_UNAVAILABLE } from '../../core/errors'
import { ended, hangUp, newClient, noop, type Client } from './clients'
import { isClient, redact, secretsOf, type RedisInput } from './secrets'
import { PendingCall, Watchdog, type Watched } from './watchdog'

export interface StoreLog {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface ConnectionOptions {
  connectTimeoutMs: number
  commandTimeoutMs: number
  log?: StoreLog
}

/** Redis replies that mean "not now" rather than "this is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|NOPERM|OOM)\b/

/**
 * A command for `send()`: an ioredis Command that says what it is for and,
 * after an error, which command to send instead (EVAL after NOSCRIPT).
 */
export interface OutgoingCommand extends Command, Watched {
  instead: (err: unknown) => OutgoingCommand | null
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  settled: boolean
}

function deferred<T> (): Deferred<T> {
  let settle!: (value: T) => void
  const d: Deferred<T> = { promise: new Promise<T>((resolve) => { settle = resolve }), resolve: (v) => { d.settled = true; settle(v) }, settled: false }
  return d
}

/**
 * The store's Redis connections: the main client (created from a URL/options
 * and then owned, or the user's client, never closed) and a dedicated blocking
 * connection for BLPOP, always a `duplicate()` the store owns.
 *
 * Every call goes through `send()` (a command) or `call()` (anything else):
 * they wait for the connection to be ready (never queueing in ioredis' offline
 * queue, where a command could run long after its caller gave up) and reject
 * with FST_FIFO_REDIS_UNAVAILABLE after `commandTimeoutMs`. ioredis keeps
 * reconnecting meanwhile, so calls work again by themselves when Redis is back.
 */
/** What a blocking pop brought (see RedisConnection.blockingPop). */
export type Popped = null | { key: string, value: string | null }

export class RedisConnection {
  readonly client: Client
  readonly #owned: boolean
  readonly #secrets: string[]
  readonly #o: ConnectionOptions
  #blocking: Client | null = null
  #waiting: Deferred<Popped> | null = null
  #closed = false
  #outage = false
  readonly #gates = new Map<Client, Promise<boolean>>()
  /** Ends the shared ready-waits on close, so no listener stays on a user's client. */
  readonly #detachGates = new Set<() => void>()
  /** The last connection error seen, redacted: said when a wait for the connection gives up. */
  #lastError: string | null = null
  /** Rejects calls in flight that Redis did not answer within commandTimeoutMs. */
  readonly #watchdog = new Watchdog((call) => {
    call.reject(this.unavailable(call.what, `no reply from Redis within ${this.#o.commandTimeoutMs} ms`))
  })

  constructor (input: RedisInput, options: ConnectionOptions) {
    this.#o = options
    this.#secrets = secretsOf(input)
    if (isClient(input)) {
      this.client = input
      this.#owned = false
    } else {
      try {
        this.client = newClient(input, options)
      } catch (err) {
        throw new FST_FIFO_INVALID_OPTION('redis', this.redact(`could not be used: ${err instanceof Error ? err.message : String(err)}`))
      }
      this.#owned = true
      this.#watch(this.client, 'main')
    }
  }

  /** Logs connection trouble once per outage, without credentials. */
  #watch (client: Client, role: string): void {
    client.on('error', (err: unknown) => {
      this.#noteError(err)
      if (this.#closed || this.#outage) return
      this.#outage = true
      this.#o.log?.warn({ err: this.redact(err instanceof Error ? err.message : String(err)), connection: role }, 'fastify-fifo: Redis connection error; reconnecting')
    })
    client.on('ready', () => {
      if (!this.#outage || this.#closed) return
      this.#outage = false
      this.#o.log?.warn({ connection: role }, 'fastify-fifo: Redis connection restored')
    })
  }

  #noteError (err: unknown): void {
    this.#lastError = this.redact(err instanceof Error ? err.message : String(err))
  }

  redact (text: string): string {
    return redact(text, this.#secrets)
  }

  unavailable (what: string, reason: string): Error {
    return new FST_FIFO_REDIS_UNAVAILABLE(this.redact(`${what}: ${reason}`))
  }

  /** Maps a client error to the store's: transport trouble → FST_FIFO_REDIS_UNAVAILABLE; a script/data error passes through. */
  storeError (what: string, err: unknown): Error {
    if (err instanceof Error) {
      // The store's own typed errors (unavailable, not replicated) pass as they are.
      const code = (err as { code?: unknown }).code
      if (typeof code === 'string' && code.startsWith('FST_FIFO_')) return err
      if (err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) {
        err.message = this.redact(err.message)
        return err
      }
      return this.unavailable(what, err.message)
    }
    return this.unavailable(what, String(err))
  }

  /**
   * One shared wait per client for its next 'ready' (true) or 'end' (false),
   * however many calls wait during an outage: a listener pair per call would
   * pile up on the client.
   */
  #nextReady (client: Client): Promise<boolean> {
    let gate = this.#gates.get(client)
    if (gate === undefined) {
      const settle = deferred<boolean>()
      const onReady = (): void => { detach(); settle.resolve(true) }
      const onEnd = (): void => { detach(); settle.resolve(false) }
      const detach = (): void => {
        client.off('ready', onReady)
        client.off('end', onEnd)
        this.#gates.delete(client)
        this.#detachGates.delete(onEnd)
      }
      client.on('ready', onReady)
      client.on('end', onEnd)
      this.#detachGates.add(onEnd)
      gate = settle.promise
      this.#gates.set(client, gate)
    }
    return gate
  }

  /** Resolves when `client` is ready; rejects after `ms`, or at once when it was closed for good. */
  async #ready (client: Client, ms: number, what: string, interrupt?: Promise<unknown>): Promise<void> {
    if (client.status === 'ready') return
    if (this.#closed || client.status === 'end') throw this.unavailable(what, 'the connection is closed')
    if (client.status === 'wait') client.connect().catch(noop)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms) })
    try {
      const outcome = await Promise.race([this.#nextReady(client), timeout, ...(interrupt === undefined ? [] : [interrupt.then(() => 'interrupted' as const)])])
      if (outcome === 'timeout') {
        throw this.unavailable(what, `no connection to Redis within ${ms} ms${this.#lastError === null ? '' : ` (last error: ${this.#lastError})`}`)
      }
      if (outcome === false) throw this.unavailable(what, 'the connection was closed')
    } finally {
      clearTimeout(timer)
    }
  }

  /** `send()` once the connection is ready, bounded by commandTimeoutMs overall. */
  async call<T> (what: string, send: () => Promise<T>): Promise<T> {
    if (this.#closed) throw this.unavailable(what, 'the store is closed')
    const started = performance.now()
    if (this.client.status !== 'ready') await this.#ready(this.client, this.#o.commandTimeoutMs, what)
    const pending = new PendingCall<T>(what, started + this.#o.commandTimeoutMs)
    this.#watchdog.watch(pending)
    send().then(pending.resolve, (err: unknown) => pending.reject(this.storeError(what, err)))
    try {
      return await pending.promise
    } finally {
      this.#watchdog.settled(pending)
    }
  }

  /**
   * Sends `command` on the main client once it is ready and resolves with
   * `decode(reply)`; rejects with FST_FIFO_REDIS_UNAVAILABLE when no reply
   * came within commandTimeoutMs overall. The hot path (every task's claim,
   * complete and enqueue): when the connection is ready it adds one promise
   * and no timer to the command's own.
   */
  send<T> (command: OutgoingCommand, decode: (reply: unknown) => T): Promise<T> {
    if (this.#closed) return Promise.reject(this.unavailable(command.what, 'the store is closed'))
    if (this.client.status !== 'ready') return this.#sendWhenReady(command, decode)
    command.deadline = performance.now() + this.#o.commandTimeoutMs
    return this.#dispatch(command, decode)
  }

  async #sendWhenReady<T> (command: OutgoingCommand, decode: (reply: unknown) => T): Promise<T> {
    const started = performance.now()
    await this.#ready(this.client, this.#o.commandTimeoutMs, command.what)
    command.deadline = started + this.#o.commandTimeoutMs
    return await this.#dispatch(command, decode)
  }

  #dispatch<T> (command: OutgoingCommand, decode: (reply: unknown) => T): Promise<T> {
    this.#watchdog.watch(command)
    try {
      // It returns command.promise, which is what is awaited below.
      this.client.sendCommand(command)
    } catch (err) {
      command.reject(err instanceof Error ? err : new Error(String(err)))
    }
    return command.promise.then((reply: unknown) => {
      this.#watchdog.settled(command)
      return decode(reply)
    }, (err: unknown) => {
      this.#watchdog.settled(command)
      const next = command.deadline > performance.now() && this.client.status === 'ready' ? command.instead(err) : null
      if (next === null) throw this.storeError(command.what, err)
      next.deadline = command.deadline
      return this.#dispatch(next, decode)
    })
  }

  /** Checks Redis answers within connectTimeoutMs. After a failure nothing of an owned client keeps running. */
  async connect (): Promise<void> {
    const started = Date.now()
    const ms = this.#o.connectTimeoutMs
    let timer: NodeJS.Timeout | undefined
    // A user's client gets a listener only while connecting, to learn why a connect fails.
    const onError = (err: unknown): void => this.#noteError(err)
    if (!this.#owned) this.client.on('error', onError)
    try {
      await this.#ready(this.client, ms, 'connect')
      const left = Math.max(1, ms - (Date.now() - started))
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(this.unavailable('connect', `Redis did not answer PING within ${ms} ms`)), left)
        this.client.ping().then(() => resolve(), (err: unknown) => reject(this.storeError('connect', err)))
      })
    } catch (err) {
      if (this.#owned) await hangUp(this.client)
      throw this.storeError('connect', err)
    } finally {
      clearTimeout(timer)
      this.client.off('error', onError)
    }
  }

  #blockingClient (): Client {
    if (this.#blocking === null) {
      const conn = this.client instanceof Cluster
        ? this.client.duplicate()
        : this.client.duplicate({ lazyConnect: true, maxRetriesPerRequest: 0, disconnectTimeout: 500 })
      conn.on('error', noop)
      this.#blocking = conn
    }
    return this.#blocking
  }

  /** Disconnects the blocking connection; resolves once its socket is closed (bounded). */
  async #dropBlocking (): Promise<void> {
    const conn = this.#blocking
    this.#blocking = null
    if (conn !== null) await hangUp(conn)
  }

  /**
   * BLPOP `keys` (one slot) on the blocking connection for up to `timeoutMs`:
   * the key and value popped, or null on timeout. A wait already running is
   * joined: the joiner learns which key was popped, never the value (only one
   * caller may act on it). interrupt() and close() end it with null at once
   * (by dropping the blocking connection; the next wait makes a new one); a
   * value popped all the same is handed to `late`.
   */
  async blockingPop (keys: string[], timeoutMs: number, late?: (popped: NonNullable<Popped>) => void): Promise<Popped> {
    if (this.#closed) return null
    if (this.#waiting !== null) {
      const joined = await this.#waiting.promise
      return joined === null ? null : { key: joined.key, value: null }
    }
    const wait = deferred<Popped>()
    this.#waiting = wait
    this.#pop(keys, timeoutMs, wait, late).then((popped) => wait.resolve(popped), () => wait.resolve(null)).finally(() => {
      if (this.#waiting === wait) this.#waiting = null
    })
    return await wait.promise
  }

  async #pop (keys: string[], timeoutMs: number, wait: Deferred<Popped>, late?: (popped: NonNullable<Popped>) => void): Promise<Popped> {
    const deadline = Date.now() + timeoutMs
    const conn = this.#blockingClient()
    if (conn.status !== 'ready') {
      try {
        await this.#ready(conn, timeoutMs, 'waitForWork', wait.promise)
      } catch {
        return null
      }
    }
    const left = deadline - Date.now()
    if (wait.settled || left <= 0 || conn.status !== 'ready') return null
    // A second after its timeout the wait ends whatever BLPOP does, and the blocking connection is
    // dropped: a dead peer that never closes the socket leaves BLPOP hanging, and on a Cluster whose
    // master was killed the BLPOP promise of ioredis never settles at all (not even after
    // disconnect(): measured, the claim loop of every instance stopped for good after a failover).
    // A reply that comes after the wait ended (interrupted, or overdue) goes to `late`: a value
    // popped then is gone from Redis, and the caller may have to give it back.
    return await new Promise<Popped>((resolve) => {
      let done = false
      const guard = setTimeout(() => {
        if (this.#blocking === conn) this.#dropBlocking().catch(noop)
        done = true
        resolve(null)
      }, left + 1000)
      // It holds nothing up: after close() a BLPOP that never settles (a killed Cluster node) leaves it to run out.
      guard.unref()
      conn.blpop(...keys, Math.max(0.01, left / 1000).toFixed(3)).then((reply) => {
        clearTimeout(guard)
        const popped = reply === null ? null : { key: reply[0], value: reply[1] }
        if (done || wait.settled) {
          if (popped !== null) late?.(popped)
        } else {
          resolve(popped)
        }
        done = true
      }, () => {
        clearTimeout(guard)
        done = true
        resolve(null)
      })
    })
  }

  interrupt (): void {
    const wait = this.#waiting
    if (wait === null) return
    this.#waiting = null
    wait.resolve(null)
    this.#dropBlocking().catch(noop)
  }

  /** Stops waits, drops the blocking connection, quits the main client if the store created it. Each step runs. */
  async close (): Promise<void> {
    this.#closed = true
    for (const end of [...this.#detachGates]) end()
    const steps: Array<Promise<unknown>> = [
      Promise.resolve().then(() => this.interrupt()),
      this.#dropBlocking(),
    ]
    if (this.#owned) steps.push(this.#quit())
    const results = await Promise.allSettled(steps)
    for (const r of results) {
      if (r.status === 'rejected') this.#o.log?.warn({ err: this.redact(String(r.reason)) }, 'fastify-fifo: error while closing the Redis store')
    }
  }

  async #quit (): Promise<void> {
    const client = this.client
    if (client.status === 'end') return
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          client.quit(),
          new Promise((resolve) => { timer = setTimeout(resolve, Math.min(1000, this.#o.commandTimeoutMs)) }),
        ])
      } catch {}
      clearTimeout(timer)
    }
    if ((client.status as string) !== 'end') client.disconnect()
    await ended(client)
  }
}
