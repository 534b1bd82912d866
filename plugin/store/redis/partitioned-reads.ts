import { Cluster, type Redis } from 'ioredis'
import type { DeadLetter, InstanceRow, ListQueuesQuery, Overview, Page, PartitionRow, QueueRow, TaskRow } from '../store'
import { globalId, keySlot, partitionOf, queuePartition } from './partitions'
import type { RedisStore } from './redis-store'

/**
 * Admin reads of a partitioned namespace (partitioned.ts), merged so the
 * admin API and dashboard see one namespace: counts summed, pages merged in
 * the order one partition would give, instances joined by id.
 */

const SUMMED = ['queues', 'waiting', 'running', 'retrying', 'halted', 'paused', 'missingHandler', 'throttled', 'pendingTasks', 'deadLetters',
  'completedLastMinute', 'failedLastMinute'] as const

export function mergeOverviews (all: Overview[]): Overview {
  const newest = all.reduce((a, b) => (b.now > a.now ? b : a))
  const out: Overview = { ...newest, series: newest.series.map((b) => ({ ...b, completed: 0, failed: 0 })) }
  for (const key of SUMMED) out[key] = 0
  out.liveInstances = 0
  out.oldestHeadAgeMs = 0
  let oldestAt = Infinity
  for (const o of all) {
    for (const key of SUMMED) out[key] += o[key]
    // Every instance heartbeats every partition: each one counts them all.
    out.liveInstances = Math.max(out.liveInstances, o.liveInstances)
    // Each age is against its own read's clock: compare the heads' times, age them at the newest.
    if (o.oldestHeadAgeMs > 0) oldestAt = Math.min(oldestAt, o.now - o.oldestHeadAgeMs)
    // Buckets are 10 s of each node's clock; aligned by index from the newest end.
    const shift = out.series.length - o.series.length
    o.series.forEach((b, i) => {
      const into = out.series[i + shift]
      if (into !== undefined) {
        into.completed += b.completed
        into.failed += b.failed
      }
    })
  }
  if (oldestAt !== Infinity) out.oldestHeadAgeMs = Math.max(0, out.now - oldestAt)
  return out
}

/** The listing order one partition's `{p}:queues` index gives (see lua/_queue.lua): urgency score, then name bytes. */
export function queueUrgency (row: QueueRow): [number, string] {
  let score: number
  if (row.haltedAt !== null && !row.paused) score = row.haltedAt
  else if (row.head !== null) score = 1e13 + (Number.isFinite(row.head.enqueuedAt) ? row.head.enqueuedAt : 0)
  else score = 3e13
  return [score, row.name]
}

/**
 * Rows `offset … offset + limit` of the union of `pages`, each of which holds
 * its partition's first `offset + limit` rows in order. Sorting is by `key`
 * (number, then string by UTF-8 bytes, as Redis sorts members); equal keys keep
 * partition order (the sort is stable).
 */
export function mergePages<T> (pages: Array<Page<T>>, offset: number, limit: number, key: (item: T) => [number, string]): Page<T> {
  const keyed = pages.flatMap((p) => p.items).map((item) => {
    const [n, s] = key(item)
    return { item, n, s: Buffer.from(s, 'utf8') }
  })
  keyed.sort((a, b) => (a.n - b.n) || Buffer.compare(a.s, b.s))
  const from = Math.max(0, Math.floor(offset))
  return {
    items: keyed.slice(from, from + Math.max(0, Math.floor(limit))).map((k) => k.item),
    total: pages.reduce((sum, p) => sum + p.total, 0),
    offset,
    limit,
  }
}

/** One row per instance: its newest record, with the queues it holds in every partition. */
export function mergeInstances (all: InstanceRow[][]): InstanceRow[] {
  const byId = new Map<string, InstanceRow>()
  for (const rows of all) {
    for (const row of rows) {
      const seen = byId.get(row.id)
      if (seen === undefined) {
        byId.set(row.id, { ...row })
      } else {
        const held = seen.queuesHeld + row.queuesHeld
        if (row.lastHeartbeatAt > seen.lastHeartbeatAt) Object.assign(seen, row)
        seen.queuesHeld = held
      }
    }
  }
  return [...byId.values()].sort((a, b) => b.lastHeartbeatAt - a.lastHeartbeatAt)
}

/** Where a key lives: the master serving its slot on a Cluster (as the client last learned), else the client's node. */
function nodeOf (client: Redis | Cluster, slot: number): string {
  if (client instanceof Cluster) {
    const owners = (client as unknown as { slots: string[][] }).slots[slot]
    return owners?.[0] ?? 'unknown'
  }
  const o = client.options
  if (o.path !== undefined && o.path !== null) return o.path
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`
}

export async function partitionRows (client: Redis | Cluster, partitions: RedisStore[]): Promise<PartitionRow[]> {
  const prefix = client.options.keyPrefix ?? ''
  return await Promise.all(partitions.map(async (p, i) => {
    const o = await p.overview()
    const base = p.keys.wake.slice(0, -'wake'.length)
    const slot = keySlot(prefix + base)
    return {
      partition: i,
      tag: base.slice(0, -1),
      slot,
      node: nodeOf(client, slot),
      queues: o.queues,
      depth: o.pendingTasks,
      running: o.running,
      oldestHeadAgeMs: o.oldestHeadAgeMs,
    }
  }))
}

// The reads themselves, one Store method each (PartitionedRedisStore calls them with its partitions).

export async function overview (partitions: RedisStore[]): Promise<Overview> {
  return mergeOverviews(await Promise.all(partitions.map(async (p) => await p.overview())))
}

/** Each partition's first offset + limit rows in urgency order, merged: the global page is exact. */
export async function listQueues (partitions: RedisStore[], query: ListQueuesQuery): Promise<Page<QueueRow>> {
  const n = partitions.length
  const want = { ...query, offset: 0, limit: Math.max(0, Math.floor(query.offset)) + Math.max(0, Math.floor(query.limit)) }
  const pages = await Promise.all(partitions.map(async (p, i) => {
    const page = await p.listQueues(want)
    for (const row of page.items) if (row.head !== null) row.head.id = globalId(i, row.head.id, n)
    return page
  }))
  return mergePages(pages, query.offset, query.limit, queueUrgency)
}

export async function getQueue (partitions: RedisStore[], queue: string): Promise<QueueRow | null> {
  const n = partitions.length
  const i = queuePartition(queue, n)
  const row = await partitions[i].getQueue(queue)
  if (row?.head != null) row.head.id = globalId(i, row.head.id, n)
  return row
}

export async function queueTasks (partitions: RedisStore[], queue: string, offset: number, limit: number): Promise<Page<TaskRow>> {
  const n = partitions.length
  const i = queuePartition(queue, n)
  const page = await partitions[i].queueTasks(queue, offset, limit)
  for (const row of page.items) row.id = globalId(i, row.id, n)
  return page
}

export async function getTask (partitions: RedisStore[], id: string): Promise<TaskRow | null> {
  const at = partitionOf(partitions, id)
  if (at === null) return null
  const row = await at.store.getTask(at.id)
  if (row !== null) row.id = id
  return row
}

export async function listDead (partitions: RedisStore[], offset: number, limit: number): Promise<Page<DeadLetter>> {
  const n = partitions.length
  const want = Math.max(0, Math.floor(offset)) + Math.max(0, Math.floor(limit))
  const pages = await Promise.all(partitions.map(async (p, i) => {
    const page = await p.listDead(0, want)
    for (const d of page.items) d.id = globalId(i, d.id, n)
    return page
  }))
  return mergePages(pages, offset, limit, (d) => [-d.deadAt, ''])
}

export async function getDead (partitions: RedisStore[], id: string): Promise<DeadLetter | null> {
  const at = partitionOf(partitions, id)
  if (at === null) return null
  const dead = await at.store.getDead(at.id)
  if (dead !== null) dead.id = id
  return dead
}

export async function listInstances (partitions: RedisStore[]): Promise<InstanceRow[]> {
  return mergeInstances(await Promise.all(partitions.map(async (p) => await p.listInstances())))
}
