import '../helpers/guard'
import t from 'tap'
import { settleHandles } from '../contract/harness'
import { partitionedHarness } from '../contract/partitioned-harness'
import { contractSuite } from '../contract/suite'
import { startCluster } from '../helpers/redis-cluster'

// The Store contract on a real Redis Cluster of 3 masters, partitions: 12.
// One cluster for the whole file (starting one takes seconds); a prefix per case.
const PARTITIONS = 12

t.test('PartitionedRedisStore on a 3-master Redis Cluster (partitions: 12)', async (t) => {
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
  t.teardown(async () => {
    await cluster.cleanup()
    await settleHandles()
  })

  contractSuite(t, partitionedHarness({ cluster: cluster.startupNodes }, PARTITIONS, () => cluster.client(), 'cc'), { sharedAcrossProcesses: true, encodedRecords: true, dedupeScope: 'queue', claimNext: false })
})
