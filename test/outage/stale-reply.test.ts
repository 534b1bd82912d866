import '../helpers/guard'
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import fifo, { taskContext } from '../../plugin'
import { scripts, type ScriptName } from '../../plugin/store/redis/scripts'
import { sleep, until } from '../helpers/app'
import { startRedis, uniquePrefix } from '../helpers/redis-server'
import { RedisProxy } from './proxy'

/**
 * A reply that arrives after the lease it grants has expired (a slow network,
 * or a process frozen by GC, SIGSTOP or a VM pause between sending the call
 * and reading its reply — found by the chaos run, seed 11). By then another
 * instance may have taken the queue over and run later tasks. The late
 * holder must not start the handler: that would run task n after task n+1
 * (G1) while another holder owns the queue (G2). Fencing rejects its
 * completion afterwards, but the handler's side effects have happened.
 */

function runsScript (args: string[], name: ScriptName): boolean {
  const script = scripts().get(name)
  if (script === undefined) throw new Error(`no script ${name}`)
  const cmd = args[0]?.toLowerCase()
  if (cmd === 'evalsha') return args[1] === createHash('sha1').update(script.lua).digest('hex')
  return cmd === 'eval' && args[1] === script.lua
}

interface RunRecord { app: string, n: number, attempt: number, at: number }

async function setup (t: { teardown: (fn: () => Promise<void>) => void }) {
  const redis = await startRedis()
  const proxy = new RedisProxy(redis.port)
  await proxy.listen()
  const prefix = uniquePrefix('sr')
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    await Promise.allSettled(apps.map(async (a) => await a.close()))
    await proxy.close()
    await redis.cleanup()
  })
  const runs: RunRecord[] = []
  const leaseMs = 1000
  const make = async (name: string, url: string, sweepMs: number) => {
    const app = Fastify({ logger: false })
    apps.push(app)
    await app.register(fifo, { redis: url, prefix, leaseMs, sweepMs, concurrency: 1, dashboard: false })
    const step = app.fifo.define('step', { queue: 'q', attempts: 5 }, async (n: number) => {
      runs.push({ app: name, n, attempt: taskContext()?.attempt ?? 0, at: Date.now() })
      await sleep(20)
    })
    return { app, step }
  }
  // `late` talks to Redis through the proxy; `other` directly. An idle `late`
  // claims only when woken (its idle wait is its sweepMs), so the trapped claim
  // is the one the enqueue woke it for.
  const late = await make('late', proxy.url, 2000)
  const other = await make('other', redis.url, 100)
  return { proxy, late, other, runs, leaseMs }
}

function assertOrder (t: { same: (a: unknown, b: unknown, m: string) => void }, runs: RunRecord[], n: number) {
  const nextStart = runs.find((r) => r.n === n + 1)?.at ?? Infinity
  const lateRuns = runs.filter((r) => r.n === n && r.at > nextStart)
  t.same(lateRuns, [], `no run of task ${n} starts after task ${n + 1} started (runs: ${JSON.stringify(runs.map(({ app, n, attempt, at }) => [app, n, attempt, at - runs[0].at]))})`)
}

t.test('a claim whose reply arrives after its lease expired does not run the handler', async (t) => {
  const { proxy, late, other, runs, leaseMs } = await setup(t)
  await late.app.ready()
  // Past the offer of late's first claim (a third of its lease): task 1 then wakes it, and the
  // claim it sends is the trapped call (a head handed to a live offer is the next test's case).
  await sleep(leaseMs / 3 + 150)
  // Enqueues go through `other` (its own connection), so they do not wait behind the held reply.
  const delayed = proxy.delayReplyOf((args) => runsScript(args, 'claim'), leaseMs * 2.5)
  await other.step(1)
  await until('late claimed task 1', () => proxy.trapped.length === 1)
  await other.step(2)
  await other.step(3)
  // The other instance takes the expired lease over and runs the queue.
  await other.app.ready()
  await until('the other instance ran task 3', () => runs.some((r) => r.n === 3), 10_000)
  await delayed
  await sleep(300)
  assertOrder(t, runs, 1)
  t.same(runs.filter((r) => r.app === 'late'), [], 'the late holder ran nothing on its stale claim')
})

t.test('a head handed over whose lease ran out before its holder took it does not run', async (t) => {
  const { proxy, late, other, runs, leaseMs } = await setup(t)
  // late's first claim runs in Redis at once (it finds nothing and leaves its offer), but its reply
  // comes 2.5 leases later, so the head handed to that offer meanwhile waits in late's inbox past
  // its lease, as if late had frozen before its blocking read.
  const delayed = proxy.delayReplyOf((args) => runsScript(args, 'claim'), leaseMs * 2.5)
  await late.app.ready()
  await until('late\'s first claim was trapped', () => proxy.trapped.length === 1)
  await other.step(1)
  await other.step(2)
  await other.app.ready()
  await until('the other instance ran task 2', () => runs.some((r) => r.n === 2), 10_000)
  await delayed
  await sleep(300)
  t.same(runs.filter((r) => r.app === 'late'), [], 'the late holder ran nothing it was handed')
  t.match(runs.find((r) => r.n === 1), { app: 'other', attempt: 2 }, 'the handover counted an attempt; the next holder ran the task as its second')
  assertOrder(t, runs, 1)
})

t.test('a completion whose reply (with the next head) arrives after the lease expired does not run the next head', async (t) => {
  const { proxy, late, other, runs, leaseMs } = await setup(t)
  await late.app.ready()
  await sleep(100)
  // As if `late` froze right after sending the completion: no heartbeat renews its lease meanwhile.
  const delayed = proxy.delayReplyOf((args) => runsScript(args, 'complete'), leaseMs * 2.5, { freeze: true })
  await other.step(1)
  await other.step(2)
  await other.step(3)
  await until('the completion of task 1 was trapped', () => proxy.trapped.length === 1)
  await other.app.ready()
  await until('the other instance ran task 3', () => runs.some((r) => r.n === 3), 10_000)
  await delayed
  await sleep(300)
  t.same(runs.filter((r) => r.app === 'late').map((r) => r.n), [1], 'the late holder ran only task 1')
  assertOrder(t, runs, 2)
})
