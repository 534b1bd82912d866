import '../helpers/guard'
import Fastify from 'fastify'
import t from 'tap'
import fifo from '../../plugin'
import { PartitionedRedisStore } from '../../plugin/store/redis/partitioned'
import { settleHandles } from '../contract/harness'
import { startCluster } from '../helpers/redis-cluster'
import { launchNode } from '../helpers/redis-node'
import { freePort, uniquePrefix } from '../helpers/redis-server'

// Starting against a Cluster through the public API: partitions spread over
// the masters; unknown nodes and a cluster that is down fail within
// connectTimeoutMs with FST_FIFO_REDIS_UNAVAILABLE and no secret; a changed
// partition count on a namespace with tasks is refused.

const SECRET = 's3cret-Pa55word'
const CONNECT_MS = 1500

async function startApp (opts: Record<string, unknown>): Promise<{ err: unknown, ms: number }> {
  const app = Fastify({ logger: false })
  const started = Date.now()
  try {
    await app.register(fifo, { dashboard: false, connectTimeoutMs: CONNECT_MS, ...opts })
    await app.ready()
    return { err: null, ms: Date.now() - started }
  } catch (err) {
    return { err, ms: Date.now() - started }
  } finally {
    await app.close().catch(() => {})
  }
}

t.test('unknown cluster nodes fail within connectTimeoutMs, without the password', async (t) => {
  const port = await freePort()
  const { err, ms } = await startApp({ redis: { cluster: [`redis://default:${SECRET}@127.0.0.1:${port}`] }, partitions: 12 })
  t.match(err, { code: 'FST_FIFO_REDIS_UNAVAILABLE' })
  t.notMatch(String((err as Error).message), SECRET, 'no secret in the message')
  t.ok(ms < CONNECT_MS + 2000, `failed after ${ms} ms (connectTimeoutMs ${CONNECT_MS})`)
  await settleHandles()
})

t.test('a cluster that is down (no slot served) fails within connectTimeoutMs, without the password', async (t) => {
  const port = await freePort()
  const node = await launchNode(port, ['--cluster-enabled', 'yes'])
  t.teardown(async () => { await node.cleanup() })
  const { err, ms } = await startApp({ redis: { cluster: [`redis://:${SECRET}@127.0.0.1:${port}`] }, partitions: 12 })
  t.match(err, { code: 'FST_FIFO_REDIS_UNAVAILABLE' })
  t.notMatch(String((err as Error).message), SECRET, 'no secret in the message')
  t.ok(ms < CONNECT_MS + 2000, `failed after ${ms} ms (connectTimeoutMs ${CONNECT_MS})`)
})

t.test('on a 3-master cluster', async (t) => {
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
  t.teardown(async () => {
    await cluster.cleanup()
    await settleHandles()
  })
  const nodes = cluster.startupNodes

  t.test('partitions: 12 puts 4 partitions on each master', async (t) => {
    const store = new PartitionedRedisStore({ redis: { cluster: nodes }, prefix: uniquePrefix('cs'), partitions: 12, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 100 })
    t.teardown(async () => await store.close())
    await store.connect()
    const rows = await store.partitionStats()
    t.equal(rows.length, 12)
    const perNode = new Map<string, number>()
    for (const row of rows) perNode.set(row.node, (perNode.get(row.node) ?? 0) + 1)
    const masters = (await cluster.masters()).map((m) => m.addr).sort()
    t.same([...perNode.keys()].sort(), masters, 'every master serves partitions')
    t.same([...perNode.values()], [4, 4, 4])
    for (const row of rows) t.equal((await cluster.masterForSlot(row.slot)).addr, row.node, `partition ${row.partition} on the master of slot ${row.slot}`)
  })

  t.test('changing partitions on a namespace with tasks is refused, naming both numbers', async (t) => {
    const prefix = uniquePrefix('cs')
    const app = Fastify({ logger: false })
    await app.register(fifo, { redis: { cluster: nodes }, partitions: 12, prefix, dashboard: false, worker: false })
    const job = app.fifo.define('job', { queue: (q: string) => q }, async (_q: string) => {})
    await app.ready()
    await job('a')
    await app.close()
    const { err } = await startApp({ redis: { cluster: nodes }, partitions: 6, prefix })
    t.match(err, { code: 'FST_FIFO_PARTITIONS_MISMATCH', message: /has partitions: 12 and holds 1 task\(s\), but this instance is configured with partitions: 6/ })
  })
})
