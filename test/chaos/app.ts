import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster } from 'ioredis'
import { FST_FIFO_RATE_LIMITED, taskContext } from '../../plugin'
import { EventLog } from './events'
import { hostLogFile, makeHost } from './hosts'
import { observeStore } from './observe'

/**
 * One server process of a chaos or multi-process run: a Fastify app using the
 * plugin (or an Express app using fastify-fifo/express, `adapter`), with one task, `step(queue, seq, spec)`, whose handler records its
 * start, end and abort in this process's event log (events.ts). Producers
 * enqueue through `POST /enqueue` so an enqueue goes through a real request.
 *
 * Config comes as JSON in argv[2] (see AppConfig). When forked with an IPC
 * channel it reports `{ type: 'ready', port }` and, if `ipcEvents`, every
 * event it logs, so a test can act on them (kill the holder of a task…).
 * SIGTERM closes the app gracefully (hand-over) and exits 0.
 */
export interface AppConfig {
  inst: string
  redisUrl: string
  /** Instead of redisUrl: a Redis Cluster (startup nodes) or a Sentinel group (test/failover). */
  redis?: AppRedis
  /** More plugin options (replicas, partitions…), as given. */
  plugin?: Record<string, unknown>
  prefix: string
  logDir: string
  leaseMs: number
  sweepMs: number
  concurrency?: number
  burst?: number
  /** fastify-fifo's pipelinedAcks (opt-in). Pair with observe: false (the observer follows one head per lease). */
  pipelinedAcks?: number
  commandTimeoutMs?: number
  closeTimeoutMs?: number
  /** The step task's timeoutMs and attempts. */
  timeoutMs?: number
  attempts?: number
  /** Record store settlements (observe.ts). @default true */
  observe?: boolean
  ipcEvents?: boolean
  fsync?: boolean
  /** Log level written to <logDir>/app-<inst>.log. @default 'warn' */
  logLevel?: string
  /** The web framework. @default 'fastify' */
  adapter?: 'fastify' | 'express'
  /**
   * When set, the step task takes a token of one limiter `shared` with these
   * limits (test/multi/limits*.test.ts); a spec with `free` runs as the task
   * `free-step`, the same handler without a limiter.
   */
  limiter?: { max?: number, perMs?: number, concurrency?: number }
}

export type AppRedis =
  | { cluster: Array<{ host: string, port: number }> }
  | { sentinels: Array<{ host: string, port: number }>, name: string }

/** The plugin's `redis` option for a config: a URL, Sentinel options, or a Cluster client made here. */
function redisOption (cfg: AppConfig): string | Cluster | { sentinels: Array<{ host: string, port: number }>, name: string } {
  const r = cfg.redis
  if (r === undefined) return cfg.redisUrl
  if ('cluster' in r) {
    const cluster = new Cluster(r.cluster, {
      clusterRetryStrategy: (times: number) => Math.min(50 * times, 1000),
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      slotsRefreshInterval: 1000,
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 1000 },
    })
    cluster.on('error', () => {})
    return cluster
  }
  return { sentinels: r.sentinels, name: r.name }
}

/** What a task asks its handler to do. `ms`: how long it works. */
export interface StepSpec {
  ms: number
  /** How long attempt 1 works instead of `ms` (a long first run to crash or freeze in). */
  firstMs?: number
  /**
   * throw: fail on attempt 1 · throw-always: fail every time (dead-lettered) ·
   * hang: on attempt 1 wait past timeoutMs, until aborted · zombie: on attempt 1
   * ignore the abort and finish late.
   */
  fault?: 'throw' | 'throw-always' | 'hang' | 'zombie'
  /**
   * Back off: the first `times` runs of this task (counted across processes,
   * in a file of the log directory) work `ms`, then throw
   * FST_FIFO_RATE_LIMITED({ retryAfterMs }) — a call that got a 429.
   */
  rateLimited?: { times: number, retryAfterMs: number }
  /** Run as `free-step`, without the cluster's limiter (only with AppConfig.limiter). */
  free?: boolean
  /** Before working, wait until a file of this name exists in the log directory (a test fills the queue behind it meanwhile). */
  holdUntil?: string
}

export type StepArgs = [queue: string, seq: number, spec: StepSpec]

function reasonCode (reason: unknown): string {
  const code = (reason as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : reason instanceof Error ? reason.name : String(reason)
}

async function pause (ms: number, signal: AbortSignal | null): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    const timer = setTimeout(done, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function main (): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as AppConfig
  const log = new EventLog(cfg.logDir, cfg.inst, { fsync: cfg.fsync })
  const toParent = cfg.ipcEvents === true && typeof process.send === 'function'
  const emit: EventLog['write'] = (body) => {
    log.write(body)
    if (toParent) process.send?.({ type: 'event', inst: cfg.inst, event: body })
  }
  const timeoutMs = cfg.timeoutMs ?? 2000

  const host = await makeHost(cfg.adapter ?? 'fastify', {
    redis: redisOption(cfg),
    prefix: cfg.prefix,
    instanceId: cfg.inst,
    leaseMs: cfg.leaseMs,
    sweepMs: cfg.sweepMs,
    concurrency: cfg.concurrency ?? 8,
    burst: cfg.burst ?? 20,
    pipelinedAcks: cfg.pipelinedAcks ?? 0,
    commandTimeoutMs: cfg.commandTimeoutMs ?? 2000,
    closeTimeoutMs: cfg.closeTimeoutMs ?? 2000,
    dashboard: false,
    ...cfg.plugin,
  }, hostLogFile(cfg.logDir, cfg.inst), cfg.logLevel ?? 'warn')
  if (cfg.observe !== false) observeStore(host.fifo.store, { write: emit })

  const handler = async (queue: string, seq: number, spec: StepSpec): Promise<void> => {
    const ctx = taskContext()
    if (ctx === null) throw new Error('no task context')
    const ref = { id: ctx.id, queue, seq, attempt: ctx.attempt }
    emit(ctx.limiter === null ? { type: 'start', ...ref } : { type: 'start', ...ref, limiter: ctx.limiter.name, grantedAt: ctx.limiter.grantedAt })
    const onAbort = (): void => emit({ type: 'abort', ...ref, reason: reasonCode(ctx.signal.reason) })
    if (ctx.signal.aborted) onAbort()
    else ctx.signal.addEventListener('abort', onAbort, { once: true })
    const first = ctx.attempt === 1
    let backedOff = false
    try {
      if (spec.holdUntil !== undefined) {
        const file = join(cfg.logDir, spec.holdUntil)
        while (!existsSync(file)) await pause(5, ctx.signal)
      }
      if (spec.rateLimited !== undefined) {
        // Runs of one head never overlap, so a plain file counts them across processes.
        const file = join(cfg.logDir, `backoffs-${ctx.id}`)
        const count = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0
        if (count < spec.rateLimited.times) {
          writeFileSync(file, String(count + 1))
          await pause(spec.ms, ctx.signal)
          backedOff = true
          throw new FST_FIFO_RATE_LIMITED({ retryAfterMs: spec.rateLimited.retryAfterMs })
        }
      }
      if (spec.fault === 'throw-always' || (spec.fault === 'throw' && first)) throw new Error(`planned failure of ${queue}#${seq}`)
      if (spec.fault === 'hang' && first) await pause(timeoutMs * 10, ctx.signal)
      if (spec.fault === 'zombie' && first) {
        await pause(timeoutMs + 500, null)
        emit({ type: 'end', ...ref, outcome: 'zombie' })
        return
      }
      await pause(first && spec.firstMs !== undefined ? spec.firstMs : spec.ms, ctx.signal)
      emit({ type: 'end', ...ref, outcome: 'ok' })
    } catch (err) {
      emit({ type: 'end', ...ref, outcome: backedOff ? 'backed-off' : ctx.signal.aborted ? 'aborted' : 'threw' })
      throw err
    }
  }
  const options = {
    queue: (queue: string) => queue,
    attempts: cfg.attempts ?? 5,
    backoff: { type: 'fixed' as const, delayMs: 20 },
    onExhausted: 'dead-letter' as const,
    timeoutMs,
  }
  if (cfg.limiter !== undefined) host.fifo.limiter('shared', cfg.limiter)
  const step = host.fifo.define('step', { ...options, ...(cfg.limiter === undefined ? {} : { limiter: 'shared' }) }, handler)
  const free = cfg.limiter === undefined ? step : host.fifo.define('free-step', options, handler)

  host.post('/enqueue', async (body: { queue: string, seq: number, spec: StepSpec }, requestFifo) => {
    const { queue, seq, spec } = body
    try {
      const task = await requestFifo.enqueue(spec.free === true ? free : step, queue, seq, spec)
      return { status: 200, body: { id: task.id } }
    } catch (err) {
      const code = (err as { code?: unknown }).code
      return { status: 503, body: { code: typeof code === 'string' ? code : 'ERROR', message: (err as Error).message } }
    }
  })

  let closing = false
  process.on('SIGTERM', () => {
    if (closing) return
    closing = true
    host.close().then(() => {
      log.close()
      process.exit(0)
    }, (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`)
      process.exit(1)
    })
  })
  process.on('disconnect', () => { if (!closing) process.kill(process.pid, 'SIGTERM') })

  const port = await host.listen()
  log.write({ type: 'proc', inst: cfg.inst, action: 'ready', pid: process.pid })
  process.send?.({ type: 'ready', inst: cfg.inst, port, pid: process.pid })
}

// Any unhandled rejection or exception is the plugin crashing the server: say so and die,
// so the runner records a crash.
process.on('unhandledRejection', (err) => {
  process.stderr.write(`unhandledRejection: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(70)
})
process.on('uncaughtException', (err) => {
  process.stderr.write(`uncaughtException: ${err.stack ?? String(err)}\n`)
  process.exit(71)
})

main().catch((err: unknown) => {
  process.stderr.write(`startup failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(72)
})
