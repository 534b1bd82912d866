import type { DeadLetter, InstanceRow, QueueRow, TaskRow } from '../../store/store'

/**
 * Turns store rows into the admin API's views: adds ages, and drops task
 * arguments when `showArgs` is off, so a payload can only leave the server
 * through these functions.
 */
export interface Presenter {
  queue (row: QueueRow): QueueView
  task (row: TaskRow): TaskView
  dead (row: DeadLetter): DeadView
  instance (row: InstanceRow): InstanceView
}

export interface HeadView {
  id: string
  name: string
  attempts: number
  enqueuedAt: number
  ageMs: number
  lastError: string | null
  requestId: string | null
}

export interface QueueView {
  name: string
  state: QueueRow['state']
  depth: number
  paused: boolean
  head: HeadView | null
  holder: string | null
  leaseExpiresAt: number | null
  retryAt: number | null
  missingHandler: string | null
  haltedAt: number | null
  throttledUntil: number | null
  limiter: string | null
}

export interface TaskView {
  id: string
  queue: string
  name: string
  where: TaskRow['where']
  position: number | null
  attempts: number
  enqueuedAt: number
  ageMs: number
  requestId: string | null
  lastError: string | null
  deadReason: string | null
  deadAt: number | null
  args: string | null
}

export interface DeadView {
  id: string
  queue: string
  name: string
  attempts: number
  enqueuedAt: number
  requestId: string | null
  reason: string
  deadAt: number
  args: string | null
}

export interface InstanceView extends InstanceRow {
  lastHeartbeatAgeMs: number
  self: boolean
}

export function presenter (showArgs: boolean, instanceId: string, now: number = Date.now()): Presenter {
  const age = (since: number): number => Math.max(0, Math.round(now - since))
  const args = (payload: string): string | null => showArgs ? payload : null
  return {
    queue: (row) => ({
      name: row.name,
      state: row.state,
      depth: row.depth,
      paused: row.paused,
      head: row.head === null
        ? null
        : {
            id: row.head.id,
            name: row.head.name,
            attempts: row.head.attempts,
            enqueuedAt: row.head.enqueuedAt,
            ageMs: age(row.head.enqueuedAt),
            lastError: row.head.lastError,
            requestId: row.head.requestId,
          },
      holder: row.holder,
      leaseExpiresAt: row.leaseExpiresAt,
      retryAt: row.retryAt,
      missingHandler: row.missingHandler,
      haltedAt: row.haltedAt,
      throttledUntil: row.throttledUntil,
      limiter: row.limiter,
    }),
    task: (row) => ({
      id: row.id,
      queue: row.queue,
      name: row.name,
      where: row.where,
      position: row.position,
      attempts: row.attempts,
      enqueuedAt: row.enqueuedAt,
      ageMs: age(row.enqueuedAt),
      requestId: row.requestId,
      lastError: row.lastError,
      deadReason: row.deadReason,
      deadAt: row.deadAt,
      args: args(row.payload),
    }),
    dead: (row) => ({
      id: row.id,
      queue: row.queue,
      name: row.name,
      attempts: row.attempts,
      enqueuedAt: row.enqueuedAt,
      requestId: row.requestId,
      reason: row.reason,
      deadAt: row.deadAt,
      args: args(row.payload),
    }),
    instance: (row) => ({
      id: row.id,
      host: row.host,
      pid: row.pid,
      version: row.version,
      startedAt: row.startedAt,
      concurrency: row.concurrency,
      handlers: row.handlers,
      lastHeartbeatAt: row.lastHeartbeatAt,
      lastHeartbeatAgeMs: age(row.lastHeartbeatAt),
      queuesHeld: row.queuesHeld,
      self: row.id === instanceId,
    }),
  }
}
