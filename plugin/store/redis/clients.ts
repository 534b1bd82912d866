import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { isClusterInput, type ClusterInput, type RedisInput } from './secrets'
import type { ConnectionOptions } from './connection'

/** A main or blocking connection: one node's client or a Cluster's. */
export type Client = Redis | Cluster

export const noop = (): void => {}

/** Closes a connection with nothing left to say at once: no graceful FIN wait on a peer that may never answer. */
export async function hangUp (client: Client): Promise<void> {
  client.disconnect()
  if (client instanceof Redis) (client.stream as { destroy?: () => void } | undefined)?.destroy?.()
  await ended(client)
}

/** Resolves when `client` has ended (its socket closed), or after 1 s: close() never hangs on it. */
export async function ended (client: Client): Promise<void> {
  // 'wait' and 'reconnecting' have no socket; after disconnect() they stay as they are.
  if (client.status === 'end' || client.status === 'wait' || client.status === 'reconnecting') return
  // A Cluster that holds no node connection (it never reached one) emits no 'end' after disconnect().
  if (client instanceof Cluster && client.nodes('all').length === 0) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, 1000)
    function done (): void {
      clearTimeout(timer)
      client.off('end', done)
      resolve()
    }
    client.once('end', done)
  })
}

/**
 * A Cluster from startup nodes. Credentials in the first URL apply to every
 * node (ioredis uses a startup URL's own only for that node); the store's
 * per-node settings go in `redisOptions`, the user's win except lazyConnect
 * and maxRetriesPerRequest, which are how the store works.
 */
function newCluster (input: ClusterInput, ours: RedisOptions): Cluster {
  const nodes = input.cluster
  if (!Array.isArray(nodes) || nodes.length === 0) throw new Error('the cluster list of startup nodes is empty')
  const credentials: RedisOptions = {}
  const first = nodes.find((n): n is string => typeof n === 'string')
  if (first !== undefined) {
    const url = new URL(first)
    if (url.password !== '') credentials.password = decodeURIComponent(url.password)
    if (url.username !== '') credentials.username = decodeURIComponent(url.username)
    if (url.protocol === 'rediss:') credentials.tls = {}
  }
  const user: ClusterOptions = input.options ?? {}
  const { retryStrategy: _retry, lazyConnect: _lazy, ...perNode } = ours
  return new Cluster(nodes, {
    clusterRetryStrategy: (times: number) => Math.min(50 * times, 1000),
    // A MOVED/ASK or a failover is followed within a command's own time, not queued forever.
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    ...user,
    lazyConnect: true,
    redisOptions: { ...perNode, ...credentials, ...user.redisOptions, maxRetriesPerRequest: 0 },
  })
}

/**
 * A client the store makes (and owns) from a URL, ioredis options or Cluster
 * startup nodes, lazily connecting: connect() is the store's.
 */
export function newClient (input: Exclude<RedisInput, Client>, options: ConnectionOptions): Client {
  const ours: RedisOptions = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    // A command in flight when the connection drops fails at once (the caller sees
    // FST_FIFO_REDIS_UNAVAILABLE) instead of being replayed after the caller gave up.
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    // A peer that never closes its side must not keep the socket (and close()) waiting long.
    disconnectTimeout: 500,
  }
  // The user's own retry/timeout choices win; lazyConnect and maxRetriesPerRequest are how the store works.
  return isClusterInput(input)
    ? newCluster(input, ours)
    : typeof input === 'string'
      ? new Redis(input, ours)
      : new Redis({ ...ours, ...input, lazyConnect: true, maxRetriesPerRequest: 0 })
}
