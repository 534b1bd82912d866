import '../helpers/guard'
import t from 'tap'
import { queueKey } from '../../plugin/store/redis/keys'
import { PartitionedRedisStore } from '../../plugin/store/redis/partitioned'
import { queuePartition } from '../../plugin/store/redis/partitions'
import { settleHandles, realSleep } from '../contract/harness'
import { contractSuite } from '../contract/suite'
import { startCluster } from '../helpers/redis-cluster'
import { uniquePrefix } from '../helpers/redis-server'

// The Store contract on a real Redis Cluster of 3 masters, partitions: 12.
// One cluster for the whole file (starting one takes seconds); a prefix per case.
const PARTITIONS = 12

t.test('PartitionedRedisStore on a 3-master Redis Cluster (partitions: 12)', async (t) => {
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
  t.teardown(async () => {
    await cluster.cleanup()
    await settleHandles()
  })

  contractSuite(t, async (options = {}) => {
    const prefix = uniquePrefix('cc')
    const opened: PartitionedRedisStore[] = []
    const open = async (): Promise<PartitionedRedisStore> => {
      const store = new PartitionedRedisStore({
        redis: { cluster: cluster.startupNodes },
        prefix,
        partitions: PARTITIONS,
        connectTimeoutMs: 5000,
        commandTimeoutMs: 5000,
        deadLetterLimit: options.deadLetterLimit ?? 10_000,
      })
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
        const client = cluster.client()
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
