import '../helpers/guard'
import t from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import type { Store } from '../../plugin/store/store'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'
import { realSleep } from './harness'
import { contractSuite } from './suite'

// One redis-server for the file, one prefix per case. Redis `TIME` cannot be
// faked, so `advance` really sleeps; the suite keeps its intervals short.
let redis: TestRedis | null = null
t.before(async () => { redis = await startRedis() })
t.teardown(async () => { await redis?.cleanup() })

contractSuite(t, async (options = {}) => {
  if (redis === null) throw new Error('redis-server did not start')
  const url = redis.url
  const prefix = uniquePrefix('contract')
  const open = async (): Promise<Store> => {
    const store = new RedisStore({ redis: url, prefix, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: options.deadLetterLimit ?? 10_000 })
    opened.push(store)
    await store.connect()
    return store
  }
  const opened: Store[] = []
  const store = await open()
  return {
    store,
    exactClock: false,
    async advance (ms) { await realSleep(ms) },
    reopen: open,
    async cleanup () { await Promise.allSettled(opened.map(async (s) => await s.close())) },
  }
}, { sharedAcrossProcesses: true })
