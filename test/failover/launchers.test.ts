import '../helpers/guard'
import t from 'tap'
import { startCluster } from '../helpers/redis-cluster'
import { startSentinel } from '../helpers/redis-sentinel'
import { waitUntil } from '../helpers/redis-node'

// The two launchers the failover and cluster tests build on: each starts, takes
// writes, promotes a replica when its master is killed -9, and leaves nothing running.

t.test('cluster: 3 masters + 3 replicas, write, kill a master, its replica takes over', async (t) => {
  const cluster = await startCluster()
  t.teardown(cluster.cleanup)
  t.equal(cluster.nodes.length, 6)
  const masters = await cluster.masters()
  t.equal(masters.length, 3, 'three masters serve slots')
  for (const m of masters) t.equal((await cluster.replicasOf(m)).length, 1, `${m.addr} has one replica`)

  const client = cluster.client()
  t.teardown(() => client.disconnect())
  for (let i = 0; i < 30; i++) await client.set(`k${i}`, String(i))
  const slot = await cluster.keySlot('k7')
  const owner = await cluster.masterForSlot(slot)
  const [replica] = await cluster.replicasOf(owner)
  const onReplica = replica.node.client()
  await onReplica.call('READONLY')
  await waitUntil('the replica to have k7', async () => (await onReplica.get('k7')) === '7')
  onReplica.disconnect()

  const promoted = await cluster.failover(owner)
  t.equal(promoted.id, replica.id, 'the killed master\'s replica is promoted')
  t.equal(await promoted.role(), 'master')
  t.equal((await cluster.masterForSlot(slot)).id, promoted.id, 'it serves the slot now')
  t.equal(await client.get('k7'), '7', 'the client reads the key from the new master')

  await owner.restart()
  await cluster.waitHealthy()
  t.equal(await owner.role(), 'replica', 'the old master rejoins as a replica')
})

t.test('sentinel: master, replica, 3 sentinels; kill the master, the replica is promoted', async (t) => {
  const group = await startSentinel()
  t.teardown(group.cleanup)
  t.equal(group.sentinels.length, 3)
  const first = await group.currentMaster()
  t.equal(first.port, group.servers[0].port, 'the sentinels know the master')

  const client = group.client()
  t.teardown(() => client.disconnect())
  await client.set('a', '1')
  t.equal(await client.call('WAIT', '1', '2000'), 1, 'the replica acknowledged the write')

  const promoted = await group.failover()
  t.equal(promoted.port, group.servers[1].port, 'the replica is the new master')
  await waitUntil('the client to reach the new master', async () => (await client.get('a')) === '1')
  await client.set('b', '2')
  t.equal(await promoted.call('GET', 'b'), '2', 'writes go to the new master')

  await first.restart()
  await group.waitHealthy()
  t.equal((await first.info('replication')).role, 'slave', 'the old master rejoins as a replica')
})
