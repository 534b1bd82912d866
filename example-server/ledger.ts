import { Redis } from 'ioredis'

/**
 * The demo's stand-in for the outside world the tasks change (an inventory
 * service, a storefront, a mail provider). Each handler writes what it did
 * here, so the routes can show the order in which things really happened.
 *
 * With Redis it lives in Redis, so every instance of the example sees the same
 * world; otherwise in this process's memory. Keys expire after a day so a
 * shared Redis is not filled up by demos.
 */
export interface Ledger {
  readonly kind: 'redis' | 'memory'
  /** Appends an entry to a named log (kept to the last 1000 entries). */
  append (log: string, entry: Record<string, unknown>): Promise<void>
  read (log: string): Promise<Array<Record<string, unknown>>>
  set (key: string, value: Record<string, unknown>): Promise<void>
  get (key: string): Promise<Record<string, unknown> | null>
  /** A counter that only grows (e.g. the version of a price). */
  next (counter: string): Promise<number>
  close (): Promise<void>
}

const KEEP = 1000
const TTL_SECONDS = 86_400

export function memoryLedger (): Ledger {
  const logs = new Map<string, Array<Record<string, unknown>>>()
  const values = new Map<string, Record<string, unknown>>()
  const counters = new Map<string, number>()
  return {
    kind: 'memory',
    async append (log, entry) {
      const list = logs.get(log) ?? []
      list.push(entry)
      if (list.length > KEEP) list.splice(0, list.length - KEEP)
      logs.set(log, list)
    },
    async read (log) { return [...(logs.get(log) ?? [])] },
    async set (key, value) { values.set(key, value) },
    async get (key) { return values.get(key) ?? null },
    async next (counter) {
      const n = (counters.get(counter) ?? 0) + 1
      counters.set(counter, n)
      return n
    },
    async close () {},
  }
}

export function redisLedger (url: string, prefix: string): Ledger {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false })
  // Connection errors surface on the commands that need them; the client reconnects by itself.
  redis.on('error', () => {})
  const key = (kind: string, name: string): string => `${prefix}:example:${kind}:${name}`
  return {
    kind: 'redis',
    async append (log, entry) {
      const k = key('log', log)
      await redis.multi().rpush(k, JSON.stringify(entry)).ltrim(k, -KEEP, -1).expire(k, TTL_SECONDS).exec()
    },
    async read (log) {
      const items = await redis.lrange(key('log', log), 0, -1)
      return items.map((item) => JSON.parse(item) as Record<string, unknown>)
    },
    async set (name, value) {
      await redis.set(key('kv', name), JSON.stringify(value), 'EX', TTL_SECONDS)
    },
    async get (name) {
      const text = await redis.get(key('kv', name))
      return text === null ? null : JSON.parse(text) as Record<string, unknown>
    },
    async next (counter) {
      const k = key('n', counter)
      const [[, n]] = await redis.multi().incr(k).expire(k, TTL_SECONDS).exec() as [[Error | null, number]]
      return n
    },
    async close () {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
