import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Fastify from 'fastify'
import fifo from '../../plugin'
import { startCluster, type TestCluster } from '../helpers/redis-cluster'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'
import { checkHistory, detailLine, summaryLine, type Report } from './checker'
import { EventLog, readEvents } from './events'
import { Fleet, inject, planFaults, type InjectContext } from './faults'
import { finalState } from './final-state'
import { Producers } from './producer'
import { partitionBase } from '../../plugin/store/redis/partitions'

/**
 * `npm run chaos -- --seconds 60 --instances 3 --queues 40 [--seed N] [--fsync everysec|always]
 *   [--rate 80] [--hot-share 0.08] [--gap-ms 900,1800] [--lease-ms 1500] [--drain-seconds 90] [--out dir] [--cluster [--partitions 12]]`
 *
 * Starts its own redis-server with AOF on, K instances of app.ts, and producers
 * enqueueing into Q queues (one hot queue, the rest per-key queues); injects
 * faults on a seeded schedule (kill -9 + restart, SIGSTOP past the lease then
 * SIGCONT, graceful restart, CLIENT KILL, redis-server kill/stop + start on
 * the same AOF; handlers that throw or hang are part of the task mix); then
 * drains, reads the store's final state, runs the history checker, prints the
 * summary line and exits 1 on any loss, violation, unfenced overlap, crash or
 * stuck task.
 *
 * --cluster: the same on a real Redis Cluster (3 masters × 2 replicas, AOF on)
 * with the plugin's `replicas: 1`; the Redis restarts become kill -9 of the
 * namespace's master with a replica promoted (the old master restarted later
 * as a replica), plus replica kills and CLIENT KILLs on the master. With
 * --partitions N the namespace spreads over the masters; the Redis faults hit
 * the master of partition 0. Master kills: one per 90 s of run (at least 2).
 */
export interface ChaosOptions {
  seconds: number
  instances: number
  queues: number
  seed: number
  fsync: 'everysec' | 'always'
  /** Target enqueues per second, all lanes together. */
  rate: number
  /** Share of the rate that goes to the one hot queue (a single queue runs one task at a time, so keep it below what it can drain under faults). */
  hotShare: number
  leaseMs: number
  sweepMs: number
  gapMs: [number, number]
  drainSeconds: number
  /** Keep the event logs here (default: a temp dir, removed when the run passes). */
  out: string | null
  /** Run on a Redis Cluster with master and replica kills (see above). */
  cluster: boolean
  /** The plugin's partitions (with --cluster). */
  partitions: number
}

export const defaults: ChaosOptions = {
  seconds: 60,
  instances: 3,
  queues: 40,
  seed: 1,
  fsync: 'everysec',
  rate: 80,
  hotShare: 0.08,
  leaseMs: 1500,
  sweepMs: 250,
  gapMs: [900, 1800],
  drainSeconds: 90,
  out: null,
  cluster: false,
  partitions: 1,
}

export function parseArgs (argv: string[]): ChaosOptions {
  const o: ChaosOptions = { ...defaults, seed: Math.floor(Math.random() * 1e9) }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    const num = (): number => {
      const n = Number(value)
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number, got ${value}`)
      i++
      return n
    }
    switch (flag) {
      case '--seconds': o.seconds = num(); break
      case '--instances': o.instances = Math.max(2, Math.round(num())); break
      case '--queues': o.queues = Math.max(2, Math.round(num())); break
      case '--seed': o.seed = Math.round(num()); break
      case '--rate': o.rate = num(); break
      case '--hot-share': o.hotShare = Math.min(1, num()); break
      case '--lease-ms': o.leaseMs = Math.round(num()); break
      case '--sweep-ms': o.sweepMs = Math.round(num()); break
      case '--drain-seconds': o.drainSeconds = num(); break
      case '--gap-ms': {
        const [min, max] = String(value).split(',').map(Number)
        if (!(min > 0 && max >= min)) throw new Error(`--gap-ms is min,max in ms, got ${value}`)
        o.gapMs = [min, max]
        i++
        break
      }
      case '--fsync':
        if (value !== 'everysec' && value !== 'always') throw new Error(`--fsync is everysec or always, got ${value}`)
        o.fsync = value
        i++
        break
      case '--out': o.out = resolve(value); i++; break
      case '--cluster': o.cluster = true; break
      case '--partitions': o.partitions = Math.max(1, Math.round(num())); break
      default: throw new Error(`unknown flag ${flag}`)
    }
  }
  return o
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export async function runChaos (o: ChaosOptions, print: (line: string) => void): Promise<{ report: Report, dir: string }> {
  const dir = o.out ?? mkdtempSync(join(tmpdir(), 'fifo-chaos-'))
  mkdirSync(dir, { recursive: true })
  const log = new EventLog(dir, 'runner')
  print(`chaos: seed=${o.seed} seconds=${o.seconds} instances=${o.instances} queues=${o.queues} rate=${o.rate}/s hot=${o.hotShare} leaseMs=${o.leaseMs} fsync=${o.fsync}${o.cluster ? ` cluster=3x2 replicas=1 partitions=${o.partitions}` : ''} logs=${dir}`)

  let redis: TestRedis | null = null
  let cluster: TestCluster | null = null
  if (o.cluster) cluster = await startCluster({ replicasPerMaster: 2, nodeTimeoutMs: 1500, extraArgs: ['--appendfsync', o.fsync] })
  else redis = await startRedis({ appendonly: true, appendfsync: o.fsync })
  const prefix = uniquePrefix('chaos')
  const where = cluster === null
    ? { redisUrl: (redis as TestRedis).url }
    : { redisUrl: '', redis: { cluster: cluster.startupNodes }, plugin: { replicas: 1, replicaTimeoutMs: 1000, partitions: o.partitions } }
  const fleet = new Fleet({ ...where, prefix, logDir: dir, leaseMs: o.leaseMs, sweepMs: o.sweepMs, concurrency: 8, burst: 20, timeoutMs: 2000, attempts: 5 }, log)
  const killAll = (): void => { for (const p of fleet.members) if (p.alive) p.child.kill('SIGKILL') }
  process.once('exit', killAll)
  let report: Report
  try {
    await fleet.start(o.instances)
    const queues = ['hot', ...Array.from({ length: o.queues - 1 }, (_, i) => `key:${i + 1}`)]
    const producers = new Producers({ queues, hot: 'hot', hotShare: o.hotShare, rate: o.rate, log, seed: o.seed, instances: () => fleet.members })
    producers.start()

    const plan = planFaults(o.seed, { seconds: o.seconds, gapMs: o.gapMs, redisRestartsAt: restartsAt(cluster === null ? 2 : Math.max(2, Math.round(o.seconds / 90))), minProcessFaults: Math.ceil(o.seconds * 0.6), ...(cluster === null ? {} : { weights: { 'replica-kill': 6 } }) })
    const ctx: InjectContext = { fleet, redis, log, leaseMs: o.leaseMs, pending: [], ...(cluster === null ? {} : { cluster: { nodes: cluster, base: partitionBase(prefix, 0, o.partitions) } }) }
    const began = Date.now()
    let done = 0; let skipped = 0
    for (const fault of plan) {
      const wait = began + fault.atMs - Date.now()
      if (wait > 0) await sleep(wait)
      // No instance to kill or freeze right now (all frozen, cooling or starting): try again shortly.
      let what = await inject(fault, ctx)
      for (let retry = 0; what === null && retry < 8; retry++) {
        await sleep(250)
        what = await inject(fault, ctx)
      }
      if (what === null) skipped++
      else done++
    }
    const left = began + o.seconds * 1000 - Date.now()
    if (left > 0) await sleep(left)
    print(`chaos: ${done} faults injected (${skipped} skipped: no eligible instance)${cluster === null ? '' : `, ${cluster.forcedFailovers} master elections forced with CLUSTER FAILOVER TAKEOVER`}; draining`)
    await producers.stop()
    await Promise.all(ctx.pending)

    // Drain: every accepted task settles (or the drain times out and the checker says stuck).
    const reader = Fastify({ logger: false })
    const readerClient = cluster?.client({ redisOptions: { maxRetriesPerRequest: 0 }, retryDelayOnClusterDown: 100, retryDelayOnFailover: 100 })
    reader.addHook('onClose', async () => { readerClient?.disconnect() })
    await reader.register(fifo, { redis: readerClient ?? (redis as TestRedis).url, prefix, partitions: cluster === null ? 1 : o.partitions, worker: false, dashboard: false })
    let drained = false
    try {
      const deadline = Date.now() + o.drainSeconds * 1000
      let quiet = 0
      while (Date.now() < deadline) {
        const ov = await reader.fifo.store.overview().catch(() => null)
        quiet = ov !== null && ov.pendingTasks === 0 ? quiet + 1 : 0
        if (quiet >= 3) { drained = true; break }
        await sleep(200)
      }
      await fleet.close()
      const final = await finalState(reader.fifo.store)
      log.close()
      const { events, malformedLines } = readEvents(dir)
      report = checkHistory(events, final, { leaseMs: o.leaseMs, expectDrained: true })
      if (malformedLines > 0) print(`chaos: ${malformedLines} malformed event lines`)
      if (!drained) print(`chaos: drain timed out after ${o.drainSeconds} s`)
    } finally {
      await reader.close()
    }
  } finally {
    await fleet.close().catch(() => {})
    await redis?.cleanup()
    await cluster?.cleanup()
    process.off('exit', killAll)
  }
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2))
  print(summaryLine(report))
  print(detailLine(report))
  for (const v of report.violations.slice(0, 30)) print(`chaos-violation: ${v.kind} ${v.queue ?? ''} ${v.id ?? ''} ${v.detail}`)
  if (report.violations.length > 30) print(`chaos-violation: … ${report.violations.length - 30} more in ${join(dir, 'report.json')}`)
  return { report, dir }
}

/** `n` Redis faults spread over the run: 0.3 and 0.65 of it for two (as before), evenly from 0.1 to 0.9 for more. */
function restartsAt (n: number): number[] {
  if (n <= 2) return [0.3, 0.65]
  return Array.from({ length: n }, (_, i) => 0.1 + 0.8 * i / (n - 1))
}

if (require.main === module) {
  let options: ChaosOptions
  try {
    options = parseArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(2)
  }
  runChaos(options, (line) => process.stdout.write(line + '\n')).then(({ report, dir }) => {
    if (report.ok && options.out === null) rmSync(dir, { recursive: true, force: true })
    else if (!report.ok) process.stdout.write(`chaos: FAILED; event logs kept in ${dir}; reproduce with --seed ${options.seed}\n`)
    process.exit(report.ok ? 0 : 1)
  }, (err: unknown) => {
    process.stderr.write(`chaos: run failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
