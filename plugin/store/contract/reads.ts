import type { InstanceInfo } from './tasks'

/** The Store contract (store.ts): what the admin reads return. */

export type QueueState = 'waiting' | 'running' | 'retrying' | 'halted' | 'missing-handler' | 'paused' | 'throttled'

export interface InstanceRow extends InstanceInfo {
  lastHeartbeatAt: number
  /** Queues this instance holds right now (by the store's lease index). */
  queuesHeld: number
}

export interface HeadInfo {
  id: string
  name: string
  /** Attempts started so far (0 when it has not started yet). */
  attempts: number
  enqueuedAt: number
  lastError: string | null
  payload: string
  requestId: string | null
}

export interface QueueRow {
  name: string
  state: QueueState
  depth: number
  /** true when paused (state is `paused` unless it is still running its head). */
  paused: boolean
  head: HeadInfo | null
  /** Instance id holding the lease, when running. */
  holder: string | null
  leaseExpiresAt: number | null
  /** When a retrying head becomes runnable again. */
  retryAt: number | null
  /** Set when state is `missing-handler`: the handler name the head needs. */
  missingHandler: string | null
  /** Set when halted: when it halted. */
  haltedAt: number | null
  /** When a throttled head may try for its token again (it may be woken sooner when a slot frees). */
  throttledUntil: number | null
  /** Set when throttled: the limiter it waits for ('' for a back-off of a task without one). */
  limiter: string | null
}

/** The fields every view of a task shares, whatever store and state it comes from. */
export interface TaskFields {
  id: string
  queue: string
  name: string
  /** JSON text of the arguments array. */
  payload: string
  /** Store clock, ms since epoch. */
  enqueuedAt: number
  requestId: string | null
}

export interface TaskRow extends TaskFields {
  /** `head`: first in its queue; `pending`: behind the head; `dead`: in the dead letters. */
  where: 'head' | 'pending' | 'dead'
  /** 0-based position in its queue (0 = head); null for dead letters. */
  position: number | null
  attempts: number
  lastError: string | null
  deadReason: string | null
  deadAt: number | null
}

export interface DeadLetter extends TaskFields {
  attempts: number
  reason: string
  deadAt: number
}

export interface Page<T> {
  items: T[]
  total: number
  offset: number
  limit: number
}

export interface ListQueuesQuery {
  state?: QueueState
  /** Case-sensitive substring of the queue name. */
  search?: string
  offset: number
  /** 1–500 */
  limit: number
}

export interface Overview {
  now: number
  queues: number
  waiting: number
  running: number
  retrying: number
  halted: number
  paused: number
  missingHandler: number
  throttled: number
  pendingTasks: number
  deadLetters: number
  liveInstances: number
  /** Settled counts over the last 60 s of store time. */
  completedLastMinute: number
  failedLastMinute: number
  /** 60 buckets of 10 s, oldest first, the last one being the current bucket. */
  series: Array<{ at: number, completed: number, failed: number }>
  /** Age in ms of the oldest head among queues that have one. 0 when none. */
  oldestHeadAgeMs: number
}

/** One partition of the namespace (see the README, Scaling out), for the dashboard's partitions panel. */
export interface PartitionRow {
  partition: number
  /** The partition's hash tag content (`prefix`, or `prefix#i.k` with several partitions) and its Cluster slot. */
  tag: string
  slot: number
  /** `host:port` of the Redis node serving the slot (its master, on a Cluster). */
  node: string
  queues: number
  /** Pending tasks, heads included. */
  depth: number
  running: number
  /** Age in ms of the partition's oldest head (0 when none). */
  oldestHeadAgeMs: number
}
