import type { DeadLetter, InstanceRow, ListQueuesQuery, Overview, Page, QueueRow, TaskRow } from '../store'
import { compareUrgency, deadLetter, deadTaskRow, pendingTaskRow, queueState } from './records'
import type { MemoryState } from './state'

// The admin reads of MemoryStore. Each builds fresh objects, so callers never hold store records.

export function overview (state: MemoryState): Overview {
  const now = state.now()
  const counts = { waiting: 0, running: 0, retrying: 0, halted: 0, paused: 0, 'missing-handler': 0, throttled: 0 }
  let oldestHead = Infinity
  for (const q of state.queues.values()) {
    counts[queueState(q)]++
    const headId = q.ids.at(0)
    if (headId !== undefined) oldestHead = Math.min(oldestHead, state.task(headId).enqueuedAt)
  }
  let liveInstances = 0
  for (const record of state.instances.values()) {
    if (record.lastHeartbeatAt + record.ttlMs > now) liveInstances++
  }
  const lastMinute = state.stats.lastMinute(now)
  return {
    now,
    queues: state.queues.size,
    waiting: counts.waiting,
    running: counts.running,
    retrying: counts.retrying,
    halted: counts.halted,
    paused: counts.paused,
    missingHandler: counts['missing-handler'],
    throttled: counts.throttled,
    pendingTasks: state.tasks.size,
    deadLetters: state.dead.size,
    liveInstances,
    completedLastMinute: lastMinute.completed,
    failedLastMinute: lastMinute.failed,
    series: state.stats.series(now),
    oldestHeadAgeMs: oldestHead === Infinity ? 0 : Math.max(0, now - oldestHead),
  }
}

/** Filters, then sorts by urgency: O(Q log Q) in the number of queues. */
export function listQueues (state: MemoryState, query: ListQueuesQuery): Page<QueueRow> {
  const rows: QueueRow[] = []
  for (const q of state.queues.values()) {
    if (query.search !== undefined && !q.name.includes(query.search)) continue
    if (query.state !== undefined && queueState(q) !== query.state) continue
    rows.push(state.row(q))
  }
  rows.sort(compareUrgency)
  return { items: rows.slice(query.offset, query.offset + query.limit), total: rows.length, offset: query.offset, limit: query.limit }
}

export function getQueue (state: MemoryState, queue: string): QueueRow | null {
  const q = state.queues.get(queue)
  return q === undefined ? null : state.row(q)
}

export function queueTasks (state: MemoryState, queue: string, offset: number, limit: number): Page<TaskRow> {
  const q = state.queues.get(queue)
  if (q === undefined) return { items: [], total: 0, offset, limit }
  const items = q.ids.slice(offset, limit).map((id, i) => pendingTaskRow(state.task(id), offset + i))
  return { items, total: q.ids.length, offset, limit }
}

export function getTask (state: MemoryState, id: string): TaskRow | null {
  const task = state.tasks.get(id)
  if (task !== undefined) {
    const head = state.head(state.queue(task.queue))
    return pendingTaskRow(task, task.seq - head.seq)
  }
  const dead = state.dead.get(id)
  return dead === undefined ? null : deadTaskRow(dead)
}

export function listDead (state: MemoryState, offset: number, limit: number): Page<DeadLetter> {
  // Walks from the newest end; at most `deadLetterLimit` entries exist.
  const newestFirst = [...state.dead.values()].reverse()
  return { items: newestFirst.slice(offset, offset + limit).map(deadLetter), total: newestFirst.length, offset, limit }
}

export function getDead (state: MemoryState, id: string): DeadLetter | null {
  const dead = state.dead.get(id)
  return dead === undefined ? null : deadLetter(dead)
}

export function listInstances (state: MemoryState): InstanceRow[] {
  const now = state.now()
  const held = new Map<string, number>()
  for (const name of state.held) {
    const owner = state.queue(name).lease?.owner
    if (owner !== undefined) held.set(owner, (held.get(owner) ?? 0) + 1)
  }
  const rows: InstanceRow[] = []
  for (const record of state.instances.values()) {
    if (record.lastHeartbeatAt + record.ttlMs <= now) continue
    rows.push({
      ...record.info,
      handlers: [...record.info.handlers],
      lastHeartbeatAt: record.lastHeartbeatAt,
      queuesHeld: held.get(record.info.id) ?? 0,
    })
  }
  return rows.sort((a, b) => b.lastHeartbeatAt - a.lastHeartbeatAt)
}
