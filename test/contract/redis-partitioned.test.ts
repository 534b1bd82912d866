import '../helpers/guard'
import t from 'tap'
import { startRedis } from '../helpers/redis-server'
import { settleHandles } from './harness'
import { partitionedHarness } from './partitioned-harness'
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

  contractSuite(t, partitionedHarness(redis.url, PARTITIONS, () => redis.client(), 'parts'), { sharedAcrossProcesses: true, encodedRecords: true, dedupeScope: 'queue', claimNext: false })
})
