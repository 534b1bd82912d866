import type { AcquireResult, LimiterState, LimitHolder, LimitSpec, LeaseRef, ThrottleInput, ThrottleResult } from '../store'
import { num, str, type ReplyList } from './codec'
import type { ScriptName } from './scripts'

/** Runs a script on this store's key base. */
export type RunScript = (name: ScriptName, args: Array<string | number>) => Promise<unknown>

/** A limiter slot's member: the head of one queue under one lease (queue names hold no line breaks). */
export function holderId (holder: LimitHolder): string {
  return `${holder.queue}\n${holder.token}\n${holder.taskId}`
}

/**
 * The limiter half of RedisStore (README "Rate limits"). A limiter's state
 * (window log, running slots, pause, waiting queues) lives apart from its
 * queues: with several partitions (PartitionedRedisStore) on the partition
 * its name hashes to, while the throttle mark stays with each queue. Taking a
 * token is therefore its own script, run by the queue's holder right before
 * the head starts, and a refusal is a second script on the queue's side
 * (throttle). One code path whatever the partition count: with one partition
 * the two could share a script, but the limited path would then differ from
 * the partitioned one, and the no-limiter hot path (claim, complete) would
 * have to carry limiter arguments it never uses.
 *
 * These are the primitives on one key base; the store (plain or partitioned)
 * wakes the queues a release or resume hands back on their own partitions.
 */
export class RedisLimits {
  readonly #run: RunScript
  readonly #throttledNames: () => Promise<string[]>

  constructor (run: RunScript, throttledNames: () => Promise<string[]>) {
    this.#run = run
    this.#throttledNames = throttledNames
  }

  async acquire (limit: LimitSpec, holder: LimitHolder, slotMs: number): Promise<AcquireResult> {
    const r = await this.#run('limit-acquire', [limit.name, limit.max, limit.perMs, limit.concurrency, holderId(holder), Math.max(1, Math.floor(slotMs)), holder.queue]) as ReplyList
    if (Number(r[0]) === 1) return { ok: true, at: Number(r[1]) }
    return { ok: false, until: Number(r[1]), reason: String(r[2]) as 'rate', now: Number(r[3]) }
  }

  /** Gives a slot back; returns the queues to wake (on their own partitions). */
  async release (limiter: string, holder: LimitHolder): Promise<string[]> {
    return (await this.#run('limit-release', [limiter, holderId(holder)]) as ReplyList).map(String)
  }

  async renew (slots: Array<{ limiter: string, holder: LimitHolder }>, slotMs: number): Promise<void> {
    if (slots.length === 0) return
    const args: Array<string | number> = [Math.max(1, Math.floor(slotMs))]
    for (const slot of slots) args.push(slot.limiter, holderId(slot.holder))
    await this.#run('limit-renew', args)
  }

  async throttle (lease: LeaseRef, input: ThrottleInput): Promise<ThrottleResult> {
    const r = await this.#run('throttle', [lease.queue, lease.token, Math.max(0, Math.floor(input.afterMs)), input.limiter, input.backoff ? '1' : '0',
      Math.max(0, Math.floor(input.maxBackoffs)), input.taskId]) as ReplyList
    switch (Number(r[0])) {
      case -1: return { ok: false, fenced: true }
      case -8: return { ok: false, overCap: true }
      case 2: return { ok: true, until: Number(r[1]), now: Number(r[1]), woken: true }
      default: return { ok: true, until: Number(r[1]), now: Number(r[2]), woken: false }
    }
  }

  async wake (queues: string[], onlyDue: boolean): Promise<number> {
    if (queues.length === 0) return 0
    return Number(await this.#run('wake-throttled', [onlyDue ? '1' : '0', ...queues]))
  }

  async pause (name: string, backoffMs: number | null): Promise<void> {
    await this.#run('limit-pause', [name, backoffMs === null ? '' : Math.max(0, Math.floor(backoffMs))])
  }

  /** Ends a pause; returns the queues to wake. */
  async resume (name: string): Promise<string[]> {
    return (await this.#run('limit-resume', [name]) as ReplyList).map(String)
  }

  /** The limiters whose state is on this key base (queuesWaiting 0: see withWaiting). */
  async states (): Promise<LimiterState[]> {
    const r = await this.#run('list-limiters', []) as ReplyList
    const rows: LimiterState[] = []
    for (let i = 1; i + 5 < r.length; i += 6) {
      const [max, perMs, concurrency] = String(r[i + 1]).split(':').map((n) => Number(n) || 0)
      const pause = str(r[i + 2])
      const until = pause === null ? null : Number(pause.slice(0, pause.indexOf(':')))
      const by = pause === null ? null : pause.slice(pause.indexOf(':') + 1)
      const pausedNow = until !== null && (until < 0 || until > Number(r[0]))
      rows.push({
        name: String(r[i]),
        max: max ?? 0,
        perMs: perMs ?? 0,
        concurrency: concurrency ?? 0,
        usedInWindow: Number(r[i + 3]),
        running: Number(r[i + 4]),
        queuesWaiting: 0,
        paused: pausedNow,
        pausedUntil: pausedNow && until !== null && until >= 0 ? until : null,
        pausedBy: pausedNow ? (by === 'operator' ? 'operator' : 'backoff') : null,
        backoffs: num(r[i + 5]) ?? 0,
      })
    }
    return rows
  }

  /** The limiter each throttled queue on this key base waits for. */
  async throttledNames (): Promise<string[]> {
    return await this.#throttledNames()
  }
}

/** Merges limiter states and throttled queues' limiter names into the admin list, by name. */
export function withWaiting (states: LimiterState[], throttled: string[]): LimiterState[] {
  const waiting = new Map<string, number>()
  for (const limiter of throttled) if (limiter !== '') waiting.set(limiter, (waiting.get(limiter) ?? 0) + 1)
  return states.map((s) => ({ ...s, queuesWaiting: waiting.get(s.name) ?? 0 }))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}
