import Fastify, { type FastifyInstance } from 'fastify'
import fifo, { type FifoOptions } from '../../plugin'
import type { TestCluster } from './redis-cluster'
import { startRedis, uniquePrefix, type TestRedis } from './redis-server'

/** 'cluster': a shared Redis Cluster (set by useCluster) with partitions: 12. */
export type StoreKind = 'memory' | 'redis' | 'cluster'

let sharedCluster: TestCluster | null = null

/** The Cluster that 'cluster' backends use (one per test file: starting one takes seconds); null to stop. */
export function useCluster (cluster: TestCluster | null): void {
  sharedCluster = cluster
}

export const CLUSTER_PARTITIONS = 12

/** Builds apps on one backend: a shared redis-server (one prefix per backend) or the memory store. */
export interface Backend {
  kind: StoreKind
  redis: TestRedis | null
  prefix: string
  /** A new app registered with fifo; closed by cleanup(). */
  app (opts?: Partial<FifoOptions>): Promise<FastifyInstance>
  cleanup (): Promise<void>
}

export async function backend (kind: StoreKind, sharedMemoryStore?: FifoOptions['store']): Promise<Backend> {
  const redis = kind === 'redis' ? await startRedis() : null
  const prefix = uniquePrefix('e')
  const apps: FastifyInstance[] = []
  return {
    kind,
    redis,
    prefix,
    async app (opts = {}) {
      const app = Fastify({ logger: false })
      apps.push(app)
      const base: FifoOptions = kind === 'redis'
        ? { redis: redis!.url, prefix, leaseMs: 600, sweepMs: 50, dashboard: false }
        : kind === 'cluster'
          ? { redis: { cluster: clusterNodes() }, partitions: CLUSTER_PARTITIONS, prefix, leaseMs: 600, sweepMs: 50, dashboard: false }
          : { leaseMs: 600, sweepMs: 50, dashboard: false, ...(sharedMemoryStore === undefined ? {} : { store: sharedMemoryStore }) }
      await app.register(fifo, { ...base, ...opts })
      return app
    },
    async cleanup () {
      await Promise.allSettled(apps.map(async (a) => await a.close()))
      await redis?.cleanup()
    },
  }
}

function clusterNodes (): Array<{ host: string, port: number }> {
  if (sharedCluster === null) throw new Error('a cluster backend needs useCluster(cluster) first')
  return sharedCluster.startupNodes
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function until<T> (what: string, check: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}
