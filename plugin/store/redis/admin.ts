import type { DeadLetter, EnqueueResult, InstanceRow, ListQueuesQuery, Overview, Page, QueueRow, TaskRow } from '../store'
import { decodeDead, decodeInstance, decodeQueueRow, deadTaskRow, num, pendingTaskRow, publicDead, ROW_FIELDS, str, type ReplyList } from './codec'
import type { RedisConnection } from './connection'
import type { RedisKeys } from './keys'
import type { RunScript } from './limits'
import { outcomeError } from './scripts'

/** Whole, bounded numbers for Lua (which would pass 1e20 or NaN on to Redis as text it refuses). */
const whole = (n: number): number => Number.isFinite(n) ? Math.min(2_000_000_000, Math.max(0, Math.floor(n))) : (n > 0 ? 2_000_000_000 : 0)
const page = (offset: number, limit: number): [number, number] => [whole(offset), whole(limit)]

/**
 * The admin half of RedisStore: operator actions and the admin API's reads,
 * one script each on this store's key base, none of them on the task path.
 */
export class RedisAdmin {
  readonly #run: RunScript
  readonly #conn: RedisConnection
  readonly #keys: RedisKeys
  readonly #deadLetterLimit: number

  constructor (run: RunScript, conn: RedisConnection, keys: RedisKeys, deadLetterLimit: number) {
    this.#run = run
    this.#conn = conn
    this.#keys = keys
    this.#deadLetterLimit = deadLetterLimit
  }

  async pause (queue: string): Promise<void> {
    const code = await this.#run('pause', [queue]) as number
    if (code < 0) throw outcomeError(code, queue)
  }

  async resume (queue: string): Promise<void> {
    const code = await this.#run('resume', [queue]) as number
    if (code < 0) throw outcomeError(code, queue)
  }

  async retryHead (queue: string): Promise<void> {
    const r = await this.#run('retry-head', [queue]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), queue, r[1])
  }

  async skipHead (queue: string, reason: string): Promise<DeadLetter> {
    const r = await this.#run('skip-head', [queue, reason, this.#deadLetterLimit]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), queue)
    return publicDead(decodeDead(String(r[1]), String(r[2])))
  }

  async requeueDead (id: string): Promise<EnqueueResult> {
    const r = await this.#run('requeue-dead', [id]) as ReplyList
    if (Number(r[0]) < 0) throw outcomeError(Number(r[0]), id)
    return { id: String(r[1]), queue: String(r[2]), name: String(r[3]), duplicate: false }
  }

  async deleteDead (id: string): Promise<void> {
    const code = await this.#run('delete-dead', [id]) as number
    if (code < 0) throw outcomeError(code, id)
  }

  async overview (): Promise<Overview> {
    const r = await this.#run('overview', []) as ReplyList
    const now = Number(r[0])
    const series: Overview['series'] = []
    const bucket = Math.floor(now / 10_000)
    for (let i = 0; i < 60; i++) {
      series.push({ at: (bucket - 59 + i) * 10_000, completed: num(r[12 + 2 * i]) ?? 0, failed: num(r[13 + 2 * i]) ?? 0 })
    }
    const lastMinute = series.slice(-6)
    const oldest = Number(r[11])
    return {
      now,
      queues: Number(r[1]),
      waiting: Number(r[2]),
      running: Number(r[3]),
      retrying: Number(r[4]),
      halted: Number(r[5]),
      paused: Number(r[6]),
      missingHandler: Number(r[7]),
      throttled: Number(r[132] ?? 0),
      pendingTasks: Math.max(0, Number(r[8])),
      deadLetters: Number(r[9]),
      liveInstances: Number(r[10]),
      completedLastMinute: lastMinute.reduce((sum, b) => sum + b.completed, 0),
      failedLastMinute: lastMinute.reduce((sum, b) => sum + b.failed, 0),
      series,
      oldestHeadAgeMs: oldest < 0 ? 0 : Math.max(0, now - oldest),
    }
  }

  async listQueues (query: ListQueuesQuery): Promise<Page<QueueRow>> {
    const [offset, limit] = page(query.offset, query.limit)
    const r = await this.#run('list-queues', [query.state ?? '', query.search ?? '', offset, limit]) as ReplyList
    const items: QueueRow[] = []
    for (let at = 1; at + ROW_FIELDS <= r.length; at += ROW_FIELDS) items.push(decodeQueueRow(r, at))
    return { items, total: Number(r[0]), offset: query.offset, limit: query.limit }
  }

  async getQueue (queue: string): Promise<QueueRow | null> {
    const r = await this.#run('get-queue', [queue]) as ReplyList
    return r.length === 0 ? null : decodeQueueRow(r, 0)
  }

  async queueTasks (queue: string, offset: number, limit: number): Promise<Page<TaskRow>> {
    const [from, count] = page(offset, limit)
    const r = await this.#run('queue-tasks', [queue, from, count]) as ReplyList
    const items: TaskRow[] = []
    for (let i = 2; i < r.length; i++) items.push(pendingTaskRow(queue, String(r[i]), from + i - 2, r[1]))
    return { items, total: Number(r[0]), offset, limit }
  }

  async getTask (id: string): Promise<TaskRow | null> {
    const r = await this.#run('get-task', [id]) as ReplyList
    if (r[0] === 1) return pendingTaskRow(String(r[1]), String(r[3]), Number(r[2]), r[4] ?? null)
    if (r[0] === 2) return deadTaskRow(decodeDead(id, String(r[1])))
    return null
  }

  async listDead (offset: number, limit: number): Promise<Page<DeadLetter>> {
    const [from, count] = page(offset, limit)
    const r = await this.#run('list-dead', [from, count]) as ReplyList
    const items: DeadLetter[] = []
    for (let i = 1; i + 1 < r.length; i += 2) {
      const entry = str(r[i + 1])
      if (entry !== null) items.push(publicDead(decodeDead(String(r[i]), entry)))
    }
    return { items, total: Number(r[0]), offset, limit }
  }

  async getDead (id: string): Promise<DeadLetter | null> {
    const client = this.#conn.client
    const entry = await this.#conn.call('getDead', async () => await client.hget(this.#keys.deadrec, id))
    return entry === null ? null : publicDead(decodeDead(id, entry))
  }

  async listInstances (): Promise<InstanceRow[]> {
    const r = await this.#run('list-instances', []) as ReplyList
    const rows: InstanceRow[] = []
    for (let i = 0; i + 2 < r.length; i += 3) {
      const row = decodeInstance(String(r[i]), str(r[i + 1]), Number(r[i + 2]))
      if (row !== null) rows.push(row)
    }
    return rows.sort((a, b) => b.lastHeartbeatAt - a.lastHeartbeatAt)
  }
}
