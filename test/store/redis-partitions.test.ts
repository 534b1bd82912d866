import '../helpers/guard'
import t from 'tap'
import { createRedisStore } from '../../plugin/store/redis/create'
import { crc16, fnv1a32, keySlot, partitionTag, queuePartition, SLOTS, splitId, globalId } from '../../plugin/store/redis/partitions'
import type { Store } from '../../plugin/store/store'
import { settleHandles } from '../contract/harness'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

// The pure placement functions (part of the stored format), and the recorded
// partition count: a namespace with work refuses an instance with another count.

t.test('placement functions are the documented pure functions', async (t) => {
  t.equal(keySlot('foo'), 12182, 'CRC16 slot as Redis computes it (CLUSTER KEYSLOT foo)')
  t.equal(crc16(Buffer.from('123456789')), 0x31c3, 'CRC16/XMODEM check value')
  t.equal(keySlot('{user1000}.following'), keySlot('user1000'), 'a hash tag decides the slot')
  t.equal(fnv1a32(''), 0x811c9dc5, 'FNV-1a 32 offset basis')
  t.equal(fnv1a32('a'), 0xe40c292c, 'FNV-1a 32 of "a"')
  t.equal(partitionTag('fifo', 0, 1), 'fifo', 'one partition: the prefix itself')
  for (const n of [2, 3, 12, 64]) {
    for (let i = 0; i < n; i++) {
      const slot = keySlot(`{${partitionTag('fifo', i, n)}}:x`)
      if (!(slot >= Math.floor(i * SLOTS / n) && slot < Math.floor((i + 1) * SLOTS / n))) t.fail(`partition ${i}/${n} slot ${slot} outside its range`)
    }
  }
  t.same([0, 1, 2, 11].map((i) => partitionTag('fifo', i, 12)), ['fifo#0.0', 'fifo#1.3', 'fifo#2.2', 'fifo#11.11'], 'pinned: these must never change')
  t.same(['order:1', 'q', 'é'].map((q) => queuePartition(q, 12)), [fnv1a32('order:1') % 12, fnv1a32('q') % 12, fnv1a32('é') % 12])
  t.same(splitId(globalId(7, '3-1k', 12), 12), { partition: 7, id: '3-1k' })
  t.equal(splitId('12.3-1', 12), null, 'no partition 12 of 12')
  t.equal(splitId('3-1', 12), null, 'an id without a partition')
})

t.test('the partition count is recorded; another count is refused while the namespace holds work', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => {
    await redis.cleanup()
    await settleHandles()
  })
  const open = async (prefix: string, partitions: number): Promise<Store> => {
    const store = createRedisStore({ redis: redis.url, prefix, partitions, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100 })
    try {
      await store.connect()
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }

  const prefix = uniquePrefix('pm')
  const twelve = await open(prefix, 12)
  await twelve.enqueue({ queue: 'q', name: 'job', payload: '[1]' })
  await twelve.close()
  await t.rejects(open(prefix, 4), { code: 'FST_FIFO_PARTITIONS_MISMATCH', message: /namespace ".*" has partitions: 12 and holds 1 task\(s\), but this instance is configured with partitions: 4/ })
  await t.rejects(open(prefix, 1), { code: 'FST_FIFO_PARTITIONS_MISMATCH', message: /partitions: 12 .*configured with partitions: 1/ }, 'one partition (earlier versions\' layout) is refused too')
  const again = await open(prefix, 12)
  t.match(await again.overview(), { pendingTasks: 1 }, 'the same count opens it')
  // Drained (and its instance gone), the namespace may change its count.
  const c = await again.claim('o', 5000)
  if (c === null) throw new Error('nothing to claim')
  await again.complete({ queue: c.queue, token: c.token }, c.id, 'o', 5000, false)
  await again.close()
  const four = await open(prefix, 4)
  await four.close()
  const client = redis.client()
  t.equal(await client.get(`{${prefix}}:partitions`), '4', 'the new count is recorded')

  // A namespace of an earlier version (no record, one partition) with tasks refuses partitions: 3.
  const legacy = uniquePrefix('pm')
  const one = await open(legacy, 1)
  await one.enqueue({ queue: 'q', name: 'job', payload: '[1]' })
  await one.close()
  await client.del(`{${legacy}}:partitions`)
  await t.rejects(open(legacy, 3), { code: 'FST_FIFO_PARTITIONS_MISMATCH', message: /has partitions: 1 and holds 1 task\(s\).*configured with partitions: 3/ })
  t.equal(await client.get(`{${legacy}}:partitions`), null, 'a refused instance records nothing')
  client.disconnect()
})
