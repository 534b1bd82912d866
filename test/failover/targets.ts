import type { RedisTarget } from '../multi/cluster'
import type { TestCluster } from '../helpers/redis-cluster'
import type { TestSentinel } from '../helpers/redis-sentinel'

/** The processes of a multi-process run on a real Redis Cluster: each makes its own ioredis Cluster from the startup nodes. */
export function clusterTarget (cluster: TestCluster): RedisTarget {
  return {
    app: { redisUrl: '', redis: { cluster: cluster.startupNodes } },
    storeInput: () => {
      const client = cluster.client({ redisOptions: { maxRetriesPerRequest: 0 }, retryDelayOnClusterDown: 100, retryDelayOnFailover: 100 })
      return { redis: client, done: () => client.disconnect() }
    },
    cleanup: cluster.cleanup,
  }
}

/** …on a Sentinel group: each process connects through the sentinels (ioredis `sentinels` + `name`). */
export function sentinelTarget (group: TestSentinel): RedisTarget {
  return {
    app: { redisUrl: '', redis: { sentinels: group.sentinelAddrs, name: group.name } },
    storeInput: () => ({ redis: { sentinels: group.sentinelAddrs, name: group.name }, done: () => {} }),
    cleanup: group.cleanup,
  }
}
