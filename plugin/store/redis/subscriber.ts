import { Cluster, Redis } from 'ioredis'

type Client = Redis | Cluster

export type MessageHandler = (message: string, channel: string) => void

const noop = (): void => {}

/**
 * Sharded pub/sub (SSUBSCRIBE, Redis 7) for the store and anything built on
 * it: `subscribe(channel, onMessage)` from anywhere, one connection per Redis
 * node however many channels and partitions there are.
 *
 * - A standalone `Redis` client gets one duplicate connection in subscriber
 *   mode (ioredis re-subscribes it after a reconnect).
 * - A `Cluster` gets one duplicate `Cluster` with ioredis' `shardedSubscribers`,
 *   which keeps one subscriber connection per master, routes each channel to
 *   the master that serves its slot and follows slot moves and failovers.
 *
 * Channel names are full names as Redis sees them: the duplicate has no
 * `keyPrefix`, so a script's SPUBLISH of `KEYS[1] .. 'wake'` (which carries
 * the prefix) matches a subscription to the same text.
 *
 * Pub/sub is at-most-once: a message published while a connection is down is
 * gone. `onResubscribed` callbacks run whenever the subscriber connection
 * became ready again (standalone: once Redis has answered a PING sent after
 * the re-subscriptions, so they are in force), so a caller can look for what
 * it may have missed. `steady` tells whether nothing can have been missed
 * since an earlier reading.
 */
export class ShardSubscriber {
  readonly #source: Client
  #conn: Client | null = null
  readonly #handlers = new Map<string, Set<MessageHandler>>()
  readonly #resubscribed = new Set<() => void>()
  #closed = false
  #everReady = false
  /** Standalone: connection drops so far, and whether the re-subscriptions after the last one are confirmed. */
  #drops = 0
  #resubscribing = false

  constructor (source: Client) {
    this.#source = source
  }

  #connection (): Client {
    if (this.#conn !== null) return this.#conn
    const conn = this.#source instanceof Cluster
      ? this.#source.duplicate(undefined, { shardedSubscribers: true, keyPrefix: '', lazyConnect: false })
      : this.#source.duplicate({ keyPrefix: '', lazyConnect: false, maxRetriesPerRequest: null, autoResubscribe: true, disconnectTimeout: 500 })
    conn.on('error', noop)
    conn.on('smessage', (channel: string, message: string) => {
      const handlers = this.#handlers.get(channel)
      if (handlers === undefined) return
      for (const handler of [...handlers]) {
        try {
          handler(message, channel)
        } catch {}
      }
    })
    const resubscribed = (): void => {
      if (this.#closed) return
      this.#resubscribing = false
      for (const cb of [...this.#resubscribed]) cb()
    }
    if (!(conn instanceof Cluster)) {
      conn.on('close', () => {
        this.#drops++
        this.#resubscribing = true
      })
    }
    conn.on('ready', () => {
      if (!this.#everReady) {
        this.#everReady = true
        this.#resubscribing = false
        return
      }
      if (conn instanceof Cluster) {
        resubscribed()
        return
      }
      // ioredis sends the re-subscriptions right after this event: a PING sent after
      // them is answered once they are in force (the connection handles commands in order).
      setImmediate(() => { conn.ping().then(resubscribed, noop) })
    })
    this.#conn = conn
    return conn
  }

  /**
   * Calls `onMessage` for every message on `channel` until the returned
   * function is called. Resolves once Redis confirmed the subscription, so a
   * message published after that is heard.
   */
  async subscribe (channel: string, onMessage: MessageHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('fifo: the subscriber is closed')
    let handlers = this.#handlers.get(channel)
    const first = handlers === undefined
    if (handlers === undefined) {
      handlers = new Set()
      this.#handlers.set(channel, handlers)
    }
    handlers.add(onMessage)
    if (first) {
      try {
        await this.#connection().ssubscribe(channel)
      } catch (err) {
        handlers.delete(onMessage)
        if (handlers.size === 0) this.#handlers.delete(channel)
        throw err
      }
    }
    return async () => {
      const set = this.#handlers.get(channel)
      if (set === undefined || !set.delete(onMessage) || set.size > 0) return
      this.#handlers.delete(channel)
      if (!this.#closed && this.#conn !== null) await this.#conn.sunsubscribe(channel).catch(noop)
    }
  }

  /**
   * A reading that a later one can be compared with: the same number means
   * the connection has not dropped in between, so every message published on a
   * channel subscribed (and confirmed) before the first reading was heard. null
   * when that cannot be told: the connection is down or re-subscribing, or it
   * is a Cluster's (whose per-node subscriber connections are not followed here).
   */
  get steady (): number | null {
    const conn = this.#conn
    if (conn === null || conn instanceof Cluster || this.#closed || this.#resubscribing || conn.status !== 'ready') return null
    return this.#drops
  }

  /** `cb` runs each time the subscriber connection is ready again after a drop. Returns a function that removes it. */
  onResubscribed (cb: () => void): () => void {
    this.#resubscribed.add(cb)
    return () => { this.#resubscribed.delete(cb) }
  }

  /** Ends every subscription and the connection(s). Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#handlers.clear()
    this.#resubscribed.clear()
    const conn = this.#conn
    this.#conn = null
    if (conn === null) return
    conn.disconnect()
    if (conn.status === 'end') return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000)
      function done (): void {
        clearTimeout(timer)
        resolve()
      }
      conn.once('end', done)
    })
  }
}
