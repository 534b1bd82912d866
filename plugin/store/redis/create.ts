import type { Store } from '../store'
import { PartitionedRedisStore, type PartitionedStoreOptions } from './partitioned'
import { RedisStore } from './redis-store'

/** The Redis store for `partitions`: today's RedisStore for 1, a PartitionedRedisStore for more. */
export function createRedisStore (options: PartitionedStoreOptions): Store {
  return options.partitions === 1 ? new RedisStore(options) : new PartitionedRedisStore(options)
}
