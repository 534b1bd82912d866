import '../helpers/guard'
import t from 'tap'
import type { Redis } from 'ioredis'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { queueKey } from '../../plugin/store/redis/keys'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

// Redis memory per pending task. Target: ≤ 232 bytes (⅓ of BullMQ's 697) for
// a ~105-byte JSON payload. The number goes into lua/enqueue.lua's header.

const TASKS = 10_000

function payload (i: number): string {
  return JSON.stringify([{ orderId: `o-${i}`, qty: i, note: 'n'.repeat(64) }])
}

async function usedMemory (client: Redis): Promise<number> {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

async function fill (store: RedisStore, queues: number): Promise<void> {
  for (let from = 0; from < TASKS; from += 500) {
    await Promise.all(Array.from({ length: 500 }, async (_, k) => {
      const i = from + k
      await store.enqueue({ queue: `order:${i % queues}`, name: 'reserve', payload: payload(i) })
    }))
  }
}

t.test('bytes of Redis memory per pending task', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => await redis.cleanup())
  const admin = redis.client()
  t.teardown(() => admin.disconnect())
  const average = payload(5000).length
  t.ok(average >= 100 && average <= 110, `payload is ~105 bytes (${average})`)

  const measure = async (queues: number): Promise<{ perTask: number, listPerTask: number }> => {
    const store = new RedisStore({ redis: redis.url, prefix: uniquePrefix('mem'), connectTimeoutMs: 5000, commandTimeoutMs: 10_000, deadLetterLimit: 10 })
    try {
      await store.connect()
      // Warm up: the first task creates the counters and index keys.
      await store.enqueue({ queue: 'warm', name: 'reserve', payload: payload(0) })
      const before = await usedMemory(admin)
      await fill(store, queues)
      const after = await usedMemory(admin)
      let listBytes = 0
      for (const num of await admin.hvals(store.keys.qid)) listBytes += Number(await admin.call('MEMORY', 'USAGE', queueKey(store.keys, num), 'SAMPLES', '0'))
      return { perTask: (after - before) / TASKS, listPerTask: listBytes / (TASKS + 1) }
    } finally {
      await store.close()
    }
  }

  await admin.flushall()
  const one = await measure(1)
  t.comment(`one queue: ${one.perTask.toFixed(1)} bytes/task of used_memory, ${one.listPerTask.toFixed(1)} bytes/task by MEMORY USAGE of the list`)
  t.ok(one.perTask <= 232, `≤ 232 bytes per pending task (${one.perTask.toFixed(1)})`)

  await admin.flushall()
  const many = await measure(100)
  t.comment(`100 queues × 100 tasks: ${many.perTask.toFixed(1)} bytes/task of used_memory (includes per-queue keys and index entries)`)
  t.ok(many.perTask <= 232, `≤ 232 bytes per pending task over 100 queues (${many.perTask.toFixed(1)})`)
})
