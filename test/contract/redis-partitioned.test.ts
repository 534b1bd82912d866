import '../helpers/guard'
import t from 'tap'
import { queueKey } from '../../plugin/store/redis/keys'
import { PartitionedRedisStore } from '../../plugin/store/redis/partitioned'
import { queuePartition } from '../../plugin/store/redis/partitions'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { realSleep, settleHandles } from './harness'
import { contractSuite } from './suite'

// The Store contract on a partitioned namespace (partitions: 4) on one
// standalone redis-server: routing, id mapping, merged reads and sharded
// pub/sub wake-ups work without a Cluster (test/cluster/ runs it on one).
const PARTITIONS = 4

t.test('PartitionedRedisStore (partitions: 4, standalone Redis)', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => {
    await redis.cleanup()
    await settleHandles()
  })

  contractSuite(t, async (options = {}) => {
    const prefix = uniquePrefix('parts')
    const opened: PartitionedRedisStore[] = []
    const open = async (): Promise<PartitionedRedisStore> => {
      const store = new PartitionedRedisStore({ redis: redis.url, prefix, partitions: PARTITIONS, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: options.deadLetterLimit ?? 10_000 })
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
        const home = queuePartition(names[0], PARTITIONS)
        return names.map((name) => {
          let candidate = name
          for (let k = 0; queuePartition(candidate, PARTITIONS) !== home; k++) candidate = `${name}.${k}`
          return candidate
        })
      },
      async corruptHead (queue) {
        const client = redis.client()
        try {
          const keys = store.partitions[queuePartition(queue, PARTITIONS)].keys
          const num = await client.hget(keys.qid, queue)
          if (num === null) throw new Error(`queue ${queue} has no number`)
          await client.lset(queueKey(keys, num), 0, 'not a task record')
        } finally {
          client.disconnect()
        }
      },
      async cleanup () { await Promise.allSettled(opened.map(async (s) => await s.close())) },
    }
  }, { sharedAcrossProcesses: true, encodedRecords: true, dedupeScope: 'queue' })
})
