import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRedisStore } from '../../plugin/store/redis/create'
import type { Store } from '../../plugin/store/store'
import type { RedisStoreOptions } from '../../plugin/store/redis/redis-store'
import type { AppConfig, StepSpec } from '../chaos/app'
import { checkHistory, type Report } from '../chaos/checker'
import { AppProcess } from '../chaos/cluster'
import { EventLog, hrNow, readEvents, type EventBody } from '../chaos/events'
import { finalState } from '../chaos/final-state'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'

/**
 * A few forked server processes (test/chaos/app.ts) sharing one test Redis,
 * with their events streamed back over IPC so a test can act on them (kill
 * the process that started task 1…) and written to per-process logs so the
 * history checker can judge the whole run at the end.
 */
export interface SeenEvent { inst: string, at: number, event: EventBody }

/**
 * The Redis the processes share: by default a plain test server; a failover
 * test passes a Cluster or Sentinel group (test/failover/targets.ts).
 */
export interface RedisTarget {
  /** For the processes' AppConfig: redisUrl and, for a Cluster or Sentinel, redis. */
  app: Pick<AppConfig, 'redisUrl' | 'redis'>
  /** The `redis` input for a store in this process, and what to close after it. */
  storeInput: () => { redis: RedisStoreOptions['redis'], done: () => void }
  cleanup: () => Promise<void>
}

export function serverTarget (redis: TestRedis): RedisTarget {
  return { app: { redisUrl: redis.url }, storeInput: () => ({ redis: redis.url, done: () => {} }), cleanup: redis.cleanup }
}

export class MultiCluster {
  readonly target: RedisTarget
  readonly dir: string
  readonly prefix: string
  readonly procs: AppProcess[] = []
  readonly seen: SeenEvent[] = []
  readonly log: EventLog
  readonly #base: Omit<AppConfig, 'inst'>
  #waiters = new Set<() => void>()
  #next = 0

  private constructor (target: RedisTarget, base: Omit<AppConfig, 'inst'>, dir: string) {
    this.target = target
    this.dir = dir
    this.prefix = base.prefix
    this.#base = base
    this.log = new EventLog(dir, 'test')
  }

  static async start (size: number, options: Partial<Omit<AppConfig, 'inst'>> = {}, on?: RedisTarget): Promise<MultiCluster> {
    const target = on ?? serverTarget(await startRedis())
    const dir = mkdtempSync(join(tmpdir(), 'fifo-multi-'))
    const base = { ...target.app, prefix: uniquePrefix('multi'), logDir: dir, leaseMs: 1500, sweepMs: 100, ipcEvents: true, ...options }
    const cluster = new MultiCluster(target, base, dir)
    await Promise.all(Array.from({ length: size }, async () => await cluster.spawn()))
    return cluster
  }

  /** Starts one more process; `extra` overrides the cluster's options for it (e.g. its adapter). */
  async spawn (extra: Partial<Omit<AppConfig, 'inst'>> = {}): Promise<AppProcess> {
    const p = new AppProcess({ ...this.#base, ...extra, inst: `p${this.#next++}` })
    this.procs.push(p)
    p.onEvent((event) => {
      this.seen.push({ inst: p.inst, at: Date.now(), event })
      for (const wake of this.#waiters) wake()
    })
    // Generous: on a loaded 2-core machine a forked server can take many seconds to load.
    await p.ready(90_000)
    return p
  }

  proc (inst: string): AppProcess {
    const p = this.procs.find((x) => x.inst === inst)
    if (p === undefined) throw new Error(`no process ${inst}`)
    return p
  }

  /** Resolves with the first event (already seen or coming) that matches; rejects after timeoutMs. */
  async waitFor (what: string, match: (e: SeenEvent) => boolean, timeoutMs = 15_000): Promise<SeenEvent> {
    const found = this.seen.find(match)
    if (found !== undefined) return found
    return await new Promise<SeenEvent>((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiters.delete(check); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)) }, timeoutMs)
      const check = (): void => {
        const hit = this.seen.find(match)
        if (hit === undefined) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(hit)
      }
      this.#waiters.add(check)
    })
  }

  /** Enqueues step(queue, seq, spec) through `via`'s HTTP route and records the accepted task. */
  async enqueue (via: AppProcess, queue: string, seq: number, spec: StepSpec = { ms: 1 }): Promise<string> {
    const beganHr = hrNow()
    const res = await via.enqueue({ queue, seq, spec }, 10_000)
    if (res.status !== 200 || typeof res.body.id !== 'string') throw new Error(`enqueue ${queue}#${seq} via ${via.inst}: ${res.status} ${JSON.stringify(res.body)}`)
    this.log.write({ type: 'enqueue', ok: true, id: res.body.id, queue, seq, beganHr })
    return res.body.id
  }

  /** Records a fault the test caused, for the checker's takeover figures. */
  fault (inst: string, action: 'kill' | 'stop' | 'cont' | 'term'): void {
    this.log.write({ type: 'proc', inst, action })
  }

  /** Pending tasks in the store right now (0 once everything settled). */
  async pending (): Promise<number> {
    return await this.useStore(async (store) => (await store.overview()).pendingTasks)
  }

  /** Runs `fn` with a store of this namespace opened in the test process (an operator's view), then closes it. */
  async useStore<T> (fn: (store: Store) => Promise<T>): Promise<T> {
    const store = await this.#store()
    try {
      return await fn(store)
    } finally {
      await store.close()
    }
  }

  /** For a failure report: every queue that still has tasks, as the store sees it, and the live instances. */
  async describePending (): Promise<string> {
    const store = await this.#store()
    try {
      const lines: string[] = []
      const page = await store.listQueues({ offset: 0, limit: 500 })
      for (const q of page.items) {
        if (q.depth === 0) continue
        lines.push(`${q.name}: state=${q.state} depth=${q.depth} holder=${q.holder} leaseExpiresIn=${q.leaseExpiresAt === null ? null : q.leaseExpiresAt - Date.now()} retryIn=${q.retryAt === null ? null : q.retryAt - Date.now()} paused=${q.paused} head=${JSON.stringify(q.head)}`)
      }
      for (const i of await store.listInstances()) lines.push(`instance ${JSON.stringify(i)}`)
      return lines.join('\n')
    } finally {
      await store.close()
    }
  }

  async #store (): Promise<Store> {
    const { redis, done } = this.target.storeInput()
    // The processes' own partition count (plugin option), so the reads see every partition.
    const partitions = Number((this.#base.plugin as { partitions?: unknown } | undefined)?.partitions ?? 1)
    const store = createRedisStore({ redis, prefix: this.prefix, partitions, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 10_000 })
    const close = store.close.bind(store)
    store.close = async () => { await close(); done() }
    try {
      await store.connect()
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }

  /** Stops every process gracefully, reads the store's final state and runs the history checker. */
  async check (leaseMs = this.#base.leaseMs): Promise<Report> {
    await Promise.all(this.procs.map(async (p) => { if (p.stopped) p.cont(); await p.term() }))
    const store = await this.#store()
    try {
      const final = await finalState(store)
      this.log.close()
      return checkHistory(readEvents(this.dir).events, final, { leaseMs, expectDrained: true })
    } finally {
      await store.close()
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.procs.map(async (p) => {
      if (!p.alive) return
      p.expectExit = true
      p.child.kill('SIGKILL')
      await p.exited
    }))
    this.log.close()
    await this.target.cleanup()
    rmSync(this.dir, { recursive: true, force: true })
    // A child's process handle closes one loop turn after its 'close' event; let it, for the leak guard.
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
