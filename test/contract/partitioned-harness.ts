import type { Cluster, Redis } from 'ioredis'
import { queueKey } from '../../plugin/store/redis/keys'
import { PartitionedRedisStore, type PartitionedStoreOptions } from '../../plugin/store/redis/partitioned'
import { queuePartition } from '../../plugin/store/redis/partitions'
import { uniquePrefix } from '../helpers/redis-server'
import { realSleep, type HarnessFactory } from './harness'

/**
 * The contract harness for a partitioned namespace, on a standalone Redis or a
 * Cluster alike: `redis` is what the store connects to, `client` a plain client
 * for planting corrupt records.
 */
export function partitionedHarness (redis: PartitionedStoreOptions['redis'], partitions: number, client: () => Redis | Cluster, tag: string): HarnessFactory {
  return async (options = {}) => {
    const prefix = uniquePrefix(tag)
    const opened: PartitionedRedisStore[] = []
    const open = async (): Promise<PartitionedRedisStore> => {
      const store = new PartitionedRedisStore({ redis, prefix, partitions, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: options.deadLetterLimit ?? 10_000 })
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
      colocate (...names) {
        const home = queuePartition(names[0], partitions)
        return names.map((name) => {
          let candidate = name
          for (let k = 0; queuePartition(candidate, partitions) !== home; k++) candidate = `${name}.${k}`
          return candidate
        })
      },
      async corruptHead (queue) {
        const c = client()
        try {
          const keys = store.partitions[queuePartition(queue, partitions)].keys
          const num = await c.hget(keys.qid, queue)
          if (num === null) throw new Error(`queue ${queue} has no number`)
          await c.lset(queueKey(keys, num), 0, 'not a task record')
        } finally {
          c.disconnect()
        }
      },
      async cleanup () { await Promise.allSettled(opened.map(async (s) => await s.close())) },
    }
  }
}
