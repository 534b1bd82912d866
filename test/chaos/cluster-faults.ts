import type { ClusterNode, TestCluster } from '../helpers/redis-cluster'
import type { EventLog } from './events'

/**
 * Redis faults of `npm run chaos -- --cluster`, on a real Cluster (3 masters
 * × 2 replicas): a master killed -9 and its replica promoted (the old master
 * restarted a little later, rejoining as a replica), a replica killed -9 and
 * restarted, and CLIENT KILL on the namespace's master. Only the master that
 * serves the namespace is faulted, so every fault hits the run.
 */

let lastPromotionAt = 0

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** The master serving `base`, a key of the namespace (its first partition's `{tag}:`). */
async function namespaceMaster (cluster: TestCluster, base: string): Promise<ClusterNode> {
  return await cluster.masterForSlot(await cluster.keySlot(base))
}

/** kill -9 the namespace's master; returns once a replica serves it. The old master restarts in the background (pushed to `pending`). */
export async function killMaster (cluster: TestCluster, base: string, log: EventLog, pending: Array<Promise<void>>, restartAfterMs: number): Promise<string> {
  // Every replica in sync first: the one promoted must be one that acknowledged the confirmed writes.
  // And not inside the previous failover's window: masters refuse to vote again for 2 × node timeout,
  // so a master killed right after its own promotion stalls the election (one double fault
  // Redis Cluster does not cover; a forced takeover then may pick a replica without the last writes).
  const since = Date.now() - lastPromotionAt
  const settle = cluster.nodeTimeoutMs * 2 + 1000
  if (since < settle) await sleep(settle - since)
  await cluster.waitHealthy(30_000).catch(() => {})
  const master = await namespaceMaster(cluster, base)
  const live = (await cluster.replicasOf(master)).filter((r) => r.running)
  if (live.length === 0) return 'no master kill: the namespace master has no running replica'
  log.write({ type: 'redis', action: 'master-kill', detail: master.addr })
  const promoted = await cluster.failover(master)
  lastPromotionAt = Date.now()
  log.write({ type: 'redis', action: 'promoted', detail: promoted.addr })
  pending.push(sleep(restartAfterMs).then(async () => {
    await master.restart()
    log.write({ type: 'redis', action: 'replica-start', detail: master.addr })
    await cluster.waitHealthy(60_000).catch(() => {})
  }))
  return `master ${master.addr} kill -9, replica ${promoted.addr} promoted`
}

/** kill -9 one replica of the namespace's master while another one stays up; restarts it after `downMs`. */
export async function killReplica (cluster: TestCluster, base: string, log: EventLog, pending: Array<Promise<void>>, pick: number, downMs: number): Promise<string | null> {
  const master = await namespaceMaster(cluster, base)
  const live = (await cluster.replicasOf(master)).filter((r) => r.running)
  if (live.length < 2) return null
  const victim = live[Math.min(live.length - 1, Math.floor(pick * live.length))]
  log.write({ type: 'redis', action: 'replica-kill', detail: victim.addr })
  await victim.kill()
  pending.push(sleep(downMs).then(async () => {
    await victim.restart()
    log.write({ type: 'redis', action: 'replica-start', detail: victim.addr })
  }))
  return `replica ${victim.addr} kill -9 for ${downMs} ms`
}

/** CLIENT KILL TYPE normal on the namespace's master. */
export async function clientKill (cluster: TestCluster, base: string, log: EventLog): Promise<string> {
  const master = await namespaceMaster(cluster, base)
  await master.node.call('CLIENT', 'KILL', 'TYPE', 'normal').catch(() => {})
  log.write({ type: 'redis', action: 'client-kill' })
  return `CLIENT KILL TYPE normal on ${master.addr}`
}
