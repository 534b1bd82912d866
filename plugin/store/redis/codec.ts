import { extrasOf, joinRequestField, requestIdOf, type TaskExtras } from '../extras'
import type { ClaimedTask, DeadLetter, HeadInfo, InstanceRow, QueueRow, QueueState, TaskRow } from '../store'
import { pendingRow } from '../rows'

/**
 * Decoding what the Lua scripts return. Task records are single strings
 * `id\nname\nenqueuedAt\nrequestId\npayload` (payload last, so it may hold
 * anything); replies are flat arrays. Nothing here throws on bad stored data:
 * a record that does not decode comes back with `corrupt` set.
 */

export interface TaskRecord {
  id: string
  name: string
  enqueuedAt: number
  requestId: string | null
  extras?: TaskExtras
  payload: string
  /** Why the record does not decode; the other fields are best effort. */
  corrupt?: string
}

const TASK_ID = /^[0-9a-z]+-[0-9a-z]+$/

/** The record the enqueue script builds (tests use it to plant records). */
export function encodeTask (task: Omit<TaskRecord, 'corrupt'>): string {
  return `${task.id}\n${task.name}\n${task.enqueuedAt}\n${joinRequestField(task.requestId, task.extras)}\n${task.payload}`
}

export function decodeTask (record: string): TaskRecord {
  const a = record.indexOf('\n')
  const b = a < 0 ? -1 : record.indexOf('\n', a + 1)
  const c = b < 0 ? -1 : record.indexOf('\n', b + 1)
  const d = c < 0 ? -1 : record.indexOf('\n', c + 1)
  if (d < 0) {
    const firstLine = a < 0 ? record : record.slice(0, a)
    return {
      id: TASK_ID.test(firstLine) ? firstLine : '(unknown)',
      name: '',
      enqueuedAt: 0,
      requestId: null,
      payload: record,
      corrupt: `stored record has ${d < 0 ? [a, b, c].filter((i) => i >= 0).length + 1 : 5} of 5 fields`,
    }
  }
  const id = record.slice(0, a)
  const name = record.slice(a + 1, b)
  const enqueuedAt = Number(record.slice(b + 1, c))
  const field = c + 1 === d ? null : record.slice(c + 1, d)
  const payload = record.slice(d + 1)
  const task: TaskRecord = { id, name, enqueuedAt, requestId: requestIdOf(field), payload }
  const extras = extrasOf(field)
  if (extras !== undefined) task.extras = extras
  if (!TASK_ID.test(id)) {
    task.id = '(unknown)'
    task.corrupt = 'stored record has no valid task id'
  } else if (name === '') {
    task.corrupt = 'stored record has no handler name'
  } else if (!Number.isSafeInteger(enqueuedAt) || enqueuedAt < 0 || b + 1 === c) {
    task.enqueuedAt = 0
    task.corrupt = 'stored record has no valid enqueuedAt'
  }
  return task
}

/** A reply element (a Lua false arrives as null; false is tolerated too). */
export type Reply = string | number | boolean | null
export type ReplyList = Reply[]

export function str (value: Reply | undefined): string | null {
  return value === null || value === undefined || value === false ? null : String(value)
}

export function num (value: Reply | undefined): number | null {
  if (value === null || value === undefined || value === false) return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

/** Number of reply fields per queue row (see lua/_row.lua). */
export const ROW_FIELDS = 10

/** A `{p}:heads` field: `<attempts>` or `<attempts>\n<lastError>` (see lua/_head.lua). */
export function decodeHead (value: Reply | undefined): { attempts: number, lastError: string | null } {
  const text = str(value)
  if (text === null) return { attempts: 0, lastError: null }
  const nl = text.indexOf('\n')
  const attempts = Number(nl < 0 ? text : text.slice(0, nl))
  return { attempts: Number.isFinite(attempts) ? attempts : 0, lastError: nl < 0 ? null : text.slice(nl + 1) }
}

/** A queue's state by the contract's precedence (as MemoryStore and lua/_state.lua). */
export function stateOf (row: Pick<QueueRow, 'paused' | 'haltedAt' | 'retryAt' | 'missingHandler' | 'throttledUntil'>, leased: boolean): QueueState {
  if (leased) return 'running'
  if (row.paused) return 'paused'
  if (row.haltedAt !== null) return 'halted'
  if (row.retryAt !== null) return 'retrying'
  if (row.throttledUntil !== null) return 'throttled'
  if (row.missingHandler !== null) return 'missing-handler'
  return 'waiting'
}

/** Owner and expiry of a stored lease `token:number:expiresAt:flags:owner` (see lua/_lease.lua). */
function decodeLease (lease: string | null): { owner: string, expiresAt: number | null } | null {
  if (lease === null) return null
  const parts = lease.split(':')
  return { owner: parts.slice(4).join(':'), expiresAt: num(parts[2] ?? null) }
}

function headInfo (record: string, heads: Reply): HeadInfo {
  const task = decodeTask(record)
  const { attempts, lastError } = decodeHead(heads)
  return {
    id: task.id,
    name: task.name,
    attempts,
    enqueuedAt: task.enqueuedAt,
    lastError,
    payload: task.payload,
    requestId: task.requestId,
  }
}

/** One row from `reply` at `at` (ROW_FIELDS fields, see lua/_row.lua). */
export function decodeQueueRow (reply: ReplyList, at: number): QueueRow {
  const r = (i: number): Reply => reply[at + i] ?? null
  const head = str(r(2))
  const lease = decodeLease(str(r(4)))
  // A {p}:delayed score is a throttle when {p}:throttled names the queue's limiter.
  const limiter = str(r(9))
  const delayedUntil = num(r(5))
  const row = {
    depth: num(r(1)) ?? 0,
    paused: num(r(8)) === 1,
    head: head === null ? null : headInfo(head, r(3)),
    holder: lease?.owner ?? null,
    leaseExpiresAt: lease?.expiresAt ?? null,
    retryAt: limiter === null ? delayedUntil : null,
    missingHandler: str(r(6)),
    haltedAt: num(r(7)),
    throttledUntil: limiter === null ? null : delayedUntil,
    limiter,
  }
  return { name: String(r(0)), state: stateOf(row, lease !== null), ...row }
}

export function pendingTaskRow (queue: string, record: string, position: number, heads: Reply): TaskRow {
  const task = decodeTask(record)
  const { attempts, lastError } = decodeHead(heads)
  return pendingRow({ ...task, queue }, position, position === 0 ? attempts : 0, position === 0 ? lastError : null)
}

function unescapeLine (text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => c === 'n' ? '\n' : '\\')
}

/** A dead letter entry `deadAt\nattempts\nqueue\nreason\nlastError\n<record>` (see lua/_dead.lua). */
export function decodeDead (id: string, entry: string): DeadLetter & { lastError: string | null } {
  const parts: number[] = []
  let at = -1
  for (let i = 0; i < 5; i++) {
    at = entry.indexOf('\n', at + 1)
    if (at < 0) break
    parts.push(at)
  }
  if (parts.length < 5) {
    return { id, queue: '', name: '', payload: entry, enqueuedAt: 0, requestId: null, attempts: 0, reason: 'stored dead letter is corrupt', deadAt: 0, lastError: null }
  }
  const [p1, p2, p3, p4, p5] = parts
  const task = decodeTask(entry.slice(p5 + 1))
  const lastError = entry.slice(p4 + 1, p5)
  return {
    id,
    queue: entry.slice(p2 + 1, p3),
    name: task.name,
    payload: task.payload,
    enqueuedAt: task.enqueuedAt,
    requestId: task.requestId,
    attempts: Number(entry.slice(p1 + 1, p2)) || 0,
    reason: unescapeLine(entry.slice(p3 + 1, p4)),
    deadAt: Number(entry.slice(0, p1)) || 0,
    lastError: lastError.startsWith('+') ? unescapeLine(lastError.slice(1)) : null,
  }
}

export { deadTaskRow, publicDead } from '../rows'

/** An instance record `lastHeartbeatAt\n<InstanceInfo JSON>`; null when it does not decode. */
export function decodeInstance (id: string, record: string | null, queuesHeld: number): InstanceRow | null {
  if (record === null) return null
  const nl = record.indexOf('\n')
  try {
    const info = JSON.parse(record.slice(nl + 1)) as Partial<InstanceRow>
    return {
      id,
      host: String(info.host ?? ''),
      pid: Number(info.pid ?? 0),
      version: String(info.version ?? ''),
      startedAt: Number(info.startedAt ?? 0),
      concurrency: Number(info.concurrency ?? 0),
      handlers: Array.isArray(info.handlers) ? info.handlers.map(String) : [],
      lastHeartbeatAt: Number(record.slice(0, nl)) || 0,
      queuesHeld,
    }
  } catch {
    return null
  }
}

/** A head and its lease from a claim.lua reply (or complete.lua's next head). */
export function claimedTask (queue: string, record: string, attempt: number, token: string, leaseExpiresAt: number, lastError: string | null): ClaimedTask {
  const task = decodeTask(record)
  const claimed: ClaimedTask = { id: task.id, queue, name: task.name, payload: task.payload, attempt, enqueuedAt: task.enqueuedAt, token, leaseExpiresAt }
  if (task.requestId !== null) claimed.requestId = task.requestId
  if (task.extras !== undefined) claimed.extras = task.extras
  if (lastError !== null) claimed.lastError = lastError
  if (task.corrupt !== undefined) claimed.corrupt = task.corrupt
  return claimed
}

export function decodeClaim (reply: unknown): ClaimedTask | null {
  const r = reply as ReplyList | null | false
  if (r === null || r === false) return null
  const claimed = claimedTask(String(r[0]), String(r[1]), Number(r[2]), String(r[3]), Number(r[4]), str(r[5]))
  if (r[6] === 1) claimed.handedOver = true
  // With a lookahead (pipelined acks): the records queued behind the head (claim.lua).
  if (r.length > 7) claimed.following = r.slice(7).map((rec) => claimedTask(claimed.queue, String(rec), 1, claimed.token, claimed.leaseExpiresAt, null))
  return claimed
}
