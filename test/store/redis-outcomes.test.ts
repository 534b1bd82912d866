import '../helpers/guard'
import t, { type Test } from 'tap'
import type { Redis } from 'ioredis'
import { PartitionedRedisStore } from '../../plugin/store/redis/partitioned'
import { queuePartition } from '../../plugin/store/redis/partitions'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import type { NewTask } from '../../plugin/store/store'
import { startRedisWithAdmin, uniquePrefix } from '../helpers/redis-server'

// How a waited enqueue hears its outcome on Redis, beyond the contract: no
// read of the kept outcome while the subscriber held, a read once it dropped
// in between, and no notice missed when it arrives before the enqueue's reply.

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const waited = (n: number, waitMs: number): NewTask => ({ queue: 'q', name: 'job', payload: `[${n}]`, waitMs })
const nextId = (id: string): string => {
  const [num, seq] = id.split('-')
  return `${num}-${(parseInt(seq, 36) + 1).toString(36)}`
}

async function calls (admin: Redis, command: string): Promise<number> {
  const line = (await admin.info('commandstats')).split('\r\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return line === undefined ? 0 : Number(/calls=(\d+)/.exec(line)?.[1] ?? 0)
}

t.test('waited enqueues on Redis', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)
  const open = async (t: Test, prefix = uniquePrefix('ro')): Promise<RedisStore> => {
    const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100 })
    t.teardown(async () => await store.close())
    await store.connect()
    return store
  }

  t.test('while the subscriber holds, nothing is read: the outcome comes only as its notice', async (t) => {
    const store = await open(t)
    const first = await store.enqueue(waited(0, 5000))
    // Plant an outcome under the id the next task will get: a read would find it.
    const id = nextId(first.id)
    await admin.set(store.keys.res + id, 's\nq\n"planted"')
    const gets = await calls(admin, 'get')
    const scripts = await calls(admin, 'evalsha')
    const next = await store.enqueue(waited(1, 150))
    t.equal(next.id, id)
    t.equal(await next.outcome, null, 'the planted outcome was not read; no notice came: null at waitMs')
    t.equal(await calls(admin, 'get'), gets, 'no GET')
    t.equal(await calls(admin, 'evalsha'), scripts + 1, 'one script call: the enqueue')
  })

  t.test('a subscriber that dropped and came back while the enqueue was out: the kept outcome is read once', async (t) => {
    const store = await open(t)
    const first = await store.enqueue(waited(0, 5000))
    const id = nextId(first.id)
    await admin.set(store.keys.res + id, 's\nq\n"kept"')
    const channel = store.keys.res
    // Writes wait while the subscriber connection is killed and re-subscribes (SSUBSCRIBE is not a write).
    await admin.call('CLIENT', 'PAUSE', '4000', 'WRITE')
    const sent = store.enqueue(waited(1, 5000))
    await sleep(20)
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    const deadline = Date.now() + 3500
    let back = false
    while (!back && Date.now() < deadline) {
      await sleep(20)
      const [, subscribers] = await admin.call('PUBSUB', 'SHARDNUMSUB', channel) as [string, number]
      back = Number(subscribers) === 1
    }
    t.ok(back, 'the store re-subscribed while its enqueue was held')
    await sleep(50)
    await admin.call('CLIENT', 'UNPAUSE')
    const next = await sent
    t.equal(next.id, id)
    t.equal(await next.outcome, 's\nq\n"kept"', 'the outcome kept meanwhile is read, not waited out')
  })

  t.test('a notice published while the subscriber is down is found when it is back', async (t) => {
    const prefix = uniquePrefix('ro')
    const store = await open(t, prefix)
    const a = await store.enqueue(waited(1, 10_000))
    const heard = a.outcome
    const c = await store.claim('owner-a', 5000)
    if (c === null) throw new Error('nothing claimed')
    const other = await open(t, prefix)
    // The subscriber is gone (ioredis reconnects it after a delay); the notice of this complete is lost.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    const [, subscribers] = await admin.call('PUBSUB', 'SHARDNUMSUB', store.keys.res) as [string, number]
    t.equal(Number(subscribers), 0, 'nobody hears the notice')
    t.ok((await other.complete({ queue: c.queue, token: c.token }, c.id, 'owner-a', 5000, false, 0, 's\nq\n"while down"')).ok, 'another instance completes it')
    t.equal(await heard, 's\nq\n"while down"', 'read once the re-subscription is confirmed')
  })

  for (const partitions of [1, 3]) {
    t.test(`an outcome published before the enqueue's reply is read is not missed (${partitions === 1 ? 'one namespace' : '3 partitions'})`, async (t) => {
      const prefix = uniquePrefix('re')
      const store = partitions === 1
        ? new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100 })
        : new PartitionedRedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100, partitions })
      t.teardown(async () => await store.close())
      await store.connect()
      const part = store instanceof RedisStore ? store : store.partitions[queuePartition('q', partitions)]
      const local = (id: string): string => id.slice(id.indexOf('.') + 1)
      let last = local((await store.enqueue(waited(0, 5000))).id)
      const publisher = redis.client()
      t.teardown(() => { publisher.disconnect() })
      // The notice is sent in the same turn as the enqueue, on another connection: it may reach
      // this process before or after the enqueue's reply. Either way the outcome is heard.
      for (let k = 1; k <= 40; k++) {
        const id = nextId(last)
        const result = store.enqueue(waited(k, 5000))
        const published = publisher.spublish(part.keys.res, `${id}\ns\nq\n${k}`)
        const r = await result
        await published
        t.equal(local(r.id), id)
        t.equal(await r.outcome, `s\nq\n${k}`)
        last = id
      }
    })
  }
})
