import { measure } from '../cluster'
import { log, type Bench } from '../lib/context'
import { startCluster } from '../../test/helpers/redis-cluster'
import { uniquePrefix } from '../../test/helpers/redis-server'

/**
 * cluster: one namespace on 1 node (the bench's own redis-server) vs on its
 * own 3-master Redis Cluster with partitions: 12, fastify-fifo only, in the
 * same round: idle pickup, a drain of many queues with no-op handlers
 * (tasks/s), Redis CPU per task on each master and the balance max ÷ mean.
 * Everything runs in this one process, so on a small machine tasks/s is
 * capped by Node, not Redis; the per-master Redis cost is the figure that
 * carries over to real hardware (see bench/cluster.ts and README, Scaling out).
 */
export async function cluster (bench: Bench): Promise<void> {
  const scenario = 'cluster'
  if (!bench.systems.includes('fastify-fifo')) return
  const tasks = bench.cfg.quick ? 5000 : 20_000
  const c = await startCluster({ masters: 3, replicasPerMaster: 0 })
  try {
    await bench.interleave(scenario, bench.cfg.heavyRounds, async (system) => {
      const one = bench.redis.client()
      const single = await measure('1 node', { redis: bench.redis.url, prefix: uniquePrefix('bc') }, [one], tasks, 300, 100)
      one.disconnect()
      const masters = (await c.masters()).map((m) => m.node.client())
      const spread = await measure('3 masters × partitions 12', { redis: { cluster: c.startupNodes }, partitions: 12, prefix: uniquePrefix('bc') }, masters, tasks, 300, 100)
      for (const m of masters) m.disconnect()
      bench.record(scenario, system, 'pickup p50, 1 node', 'ms', single.pickupP50Ms)
      bench.record(scenario, system, 'pickup p50, 3 masters × 12', 'ms', spread.pickupP50Ms)
      bench.record(scenario, system, 'pickup cluster ÷ 1 node', 'x', spread.pickupP50Ms / single.pickupP50Ms)
      bench.record(scenario, system, 'tasks/s, 1 node', '/s', single.tasksPerSecond)
      bench.record(scenario, system, 'tasks/s, 3 masters × 12', '/s', spread.tasksPerSecond)
      bench.record(scenario, system, 'redis cpu per task, 1 node', 'µs', single.redisUsPerTask[0])
      spread.redisUsPerTask.forEach((us, i) => bench.record(scenario, system, `redis cpu per task, master ${i + 1}`, 'µs', us))
      bench.record(scenario, system, 'redis cpu balance (max ÷ mean)', 'x', spread.balance)
      log(`  cluster: pickup ${single.pickupP50Ms.toFixed(2)} → ${spread.pickupP50Ms.toFixed(2)} ms, ${Math.round(single.tasksPerSecond)} → ${Math.round(spread.tasksPerSecond)} tasks/s, balance ${spread.balance.toFixed(2)}`)
    }, ['fastify-fifo'])
  } finally {
    await c.cleanup()
  }
}
