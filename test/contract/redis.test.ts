import '../helpers/guard'
import t from 'tap'
import { queueKey } from '../../plugin/store/redis/keys'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { realSleep, settleHandles } from './harness'
import { contractSuite } from './suite'

// One redis-server for the file (owned by this parent test, so it is gone
// before the leak guard looks), one prefix per case. Redis `TIME` cannot be
// faked, so `advance` really sleeps; the suite keeps its intervals short.
t.test('RedisStore', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => {
    await redis.cleanup()
    await settleHandles()
  })

  contractSuite(t, async (options = {}) => {
    const prefix = uniquePrefix('contract')
    const opened: RedisStore[] = []
    const open = async (): Promise<RedisStore> => {
      const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: options.deadLetterLimit ?? 10_000 })
      opened.push(store)
      await store.connect()
      return store
    }
    const store = await open()
    return {
      store,
      exactClock: false,
      async advance (ms) { await realSleep(ms) },
      reopen: open,
      async corruptHead (queue) {
        const client = redis.client()
        try {
          const num = await client.hget(store.keys.qid, queue)
          if (num === null) throw new Error(`queue ${queue} has no number`)
          await client.lset(queueKey(store.keys, num), 0, 'not a task record')
        } finally {
          client.disconnect()
        }
      },
      async cleanup () { await Promise.allSettled(opened.map(async (s) => await s.close())) },
    }
  }, { sharedAcrossProcesses: true, encodedRecords: true })
})
