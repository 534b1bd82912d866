import type { Report } from '../chaos/checker'
import { hrNow, readEvents } from '../chaos/events'
import { Producers } from '../chaos/producer'
import { MultiCluster, sleep, type RedisTarget } from '../multi/cluster'

/**
 * A multi-process run with a Redis master failover in the middle: 3 server
 * processes (test/chaos/app.ts) on a Cluster or Sentinel group, producers
 * enqueueing through HTTP into `queues` queues (chaos/producer.ts, with its
 * task mix of throws, hangs and zombies), the namespace's master killed -9
 * after `beforeMs`, a replica promoted, producing on for `afterMs`, then a
 * drain and the history checker.
 */
export interface FailoverRunOptions {
  target: RedisTarget
  /** Kills the master that holds namespace `prefix` and resolves once a replica serves it. */
  failover: (prefix: string) => Promise<string>
  /** The plugin's replicas option (0: off). */
  replicas: number
  queues: number
  rate: number
  beforeMs: number
  afterMs: number
  seed: number
  leaseMs?: number
  sweepMs?: number
  /** More plugin options (e.g. partitions). */
  plugin?: Record<string, unknown>
  drainMs?: number
}

export interface FailoverResult {
  report: Report
  /** From the kill to the first task that started after the promotion (ms). */
  resumeMs: number
  /** From the kill to the promoted replica serving (ms), as the test saw it. */
  promotedMs: number
  /** The enqueue calls refused while the master was gone or unconfirmed, by error. */
  refusals: Record<string, number>
  what: string
  /** When tasks were left after the drain: each such queue's row and the instances, as the store saw them. */
  stuck: string
}

export async function failoverRun (o: FailoverRunOptions): Promise<FailoverResult> {
  const leaseMs = o.leaseMs ?? 1500
  const sweepMs = o.sweepMs ?? 100
  const plugin = { ...(o.replicas > 0 ? { replicas: o.replicas, replicaTimeoutMs: 1000 } : {}), ...o.plugin }
  const multi = await MultiCluster.start(3, { leaseMs, sweepMs, ipcEvents: false, commandTimeoutMs: 3000, concurrency: 8, burst: 10, timeoutMs: 2000, plugin }, o.target)
  try {
    const queues = Array.from({ length: o.queues }, (_, i) => `q${i}`)
    const producers = new Producers({ queues, hot: 'q0', hotShare: 0.05, rate: o.rate, log: multi.log, seed: o.seed, instances: () => multi.procs, requestTimeoutMs: 4000 })
    producers.start()
    await sleep(o.beforeMs)
    multi.log.write({ type: 'redis', action: 'master-kill' })
    const killedHr = hrNow()
    const killedAt = Date.now()
    const what = await o.failover(multi.prefix)
    const promotedMs = Date.now() - killedAt
    const promotedHr = hrNow()
    multi.log.write({ type: 'redis', action: 'promoted', detail: what })
    await sleep(o.afterMs)
    await producers.stop()

    const deadline = Date.now() + (o.drainMs ?? 60_000)
    while (Date.now() < deadline) {
      const left = await multi.pending().catch(() => -1)
      if (left === 0) break
      await sleep(250)
    }
    // Before the processes stop: what holds whatever did not drain (for the failure report).
    const stuck = (await multi.pending().catch(() => -1)) === 0 ? '' : await multi.describePending().catch((err: unknown) => String(err))
    const report = await multi.check(leaseMs)
    const { events } = readEvents(multi.dir)
    // A task may start just after the kill from a reply the old master sent before it died: count from the promotion on.
    const firstStart = events.filter((e) => e.type === 'start' && e.hr > promotedHr).reduce((m, e) => Math.min(m, e.hr), Infinity)
    const refusals: Record<string, number> = {}
    for (const e of events) {
      if (e.type === 'enqueue' && !e.ok) {
        const code = /FST_FIFO_\w+/.exec(e.error)?.[0] ?? e.error.slice(0, 40)
        refusals[code] = (refusals[code] ?? 0) + 1
      }
    }
    return { report, resumeMs: (firstStart - killedHr) / 1000, promotedMs, refusals, what, stuck }
  } finally {
    await multi.close()
  }
}

/** One line for a test's output and the README. */
export function failoverLine (r: FailoverResult): string {
  const p = r.report
  return `accepted=${p.accepted} lost=${p.lost} order=${p.orderViolations} unfenced=${p.unfencedOverlaps} fenced=${p.fencedOverlaps} ` +
    `phantoms=${p.phantoms} rejected=${p.rejectedEnqueues} maxRuns=${p.maxRuns} crashes=${p.crashes} promotedMs=${r.promotedMs} resumeMs=${Math.round(r.resumeMs)} ` +
    `refusals=${JSON.stringify(r.refusals)} violations=${p.violations.map((v) => v.kind).join(',') || 'none'}`
}
