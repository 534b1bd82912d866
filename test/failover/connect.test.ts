import '../helpers/guard'
import t, { type Test } from 'tap'
import { Cluster } from 'ioredis'
import { RedisStore, type RedisStoreOptions } from '../../plugin/store/redis/redis-store'
import { startCluster } from '../helpers/redis-cluster'
import { startSentinel } from '../helpers/redis-sentinel'
import { waitUntil } from '../helpers/redis-node'
import { freePort, uniquePrefix } from '../helpers/redis-server'

// Start-up against a Sentinel group or a Cluster that cannot serve: connect()
// fails within connectTimeoutMs with FST_FIFO_REDIS_UNAVAILABLE, and no
// credential reaches the message.

const CONNECT_MS = 1500
const SECRET = 'sekret-Pa55word'

async function failsFast (t: Test, redis: RedisStoreOptions['redis'], what: string): Promise<void> {
  const s = new RedisStore({ redis, prefix: uniquePrefix('conn'), connectTimeoutMs: CONNECT_MS, commandTimeoutMs: 2000, deadLetterLimit: 10 })
  t.teardown(async () => await s.close())
  const began = Date.now()
  const err = await s.connect().then(() => null, (e: Error & { code?: string }) => e)
  const ms = Date.now() - began
  t.match(err, { code: 'FST_FIFO_REDIS_UNAVAILABLE' }, `${what}: refused as unavailable`)
  t.ok(ms < CONNECT_MS + 1500, `${what}: within connectTimeoutMs (${ms} ms)`)
  t.notMatch(`${err?.message ?? ''} ${err?.stack ?? ''}`, SECRET, `${what}: no secret in the error`)
}

t.test('Sentinel: an unknown master name, and a master that is down with no replica to promote', async (t) => {
  const group = await startSentinel({ replicas: 0 })
  t.teardown(group.cleanup)
  await failsFast(t, { sentinels: group.sentinelAddrs, name: 'no-such-master', password: SECRET, sentinelPassword: SECRET }, 'unknown master name')
  await (await group.currentMaster()).kill()
  await failsFast(t, { sentinels: group.sentinelAddrs, name: group.name, password: SECRET }, 'master down, nothing to promote')
})

t.test('Cluster: unknown startup nodes, and a cluster that is down at start', async (t) => {
  const nowhere = new Cluster([{ host: '127.0.0.1', port: await freePort() }], { redisOptions: { password: SECRET }, lazyConnect: true })
  nowhere.on('error', () => {})
  t.teardown(() => nowhere.disconnect())
  await failsFast(t, nowhere, 'unknown nodes')

  const cluster = await startCluster()
  t.teardown(cluster.cleanup)
  // A master and its replica gone: its slots are served by nobody, cluster_state:fail.
  const [master] = await cluster.masters()
  const replicas = await cluster.replicasOf(master)
  await Promise.all([master.kill(), ...replicas.map(async (r) => await r.kill())])
  const alive = cluster.nodes.find((n) => n.running)
  await waitUntil('cluster_state:fail', async () => String(await alive?.node.call('CLUSTER', 'INFO')).includes('cluster_state:fail'))
  const down = new Cluster(cluster.startupNodes, { redisOptions: { password: SECRET }, lazyConnect: true })
  down.on('error', () => {})
  t.teardown(() => down.disconnect())
  await failsFast(t, down, 'cluster down')
})
