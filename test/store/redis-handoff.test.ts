import '../helpers/guard'
import t, { type Test } from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import { redisKeys } from '../../plugin/store/redis/keys'
import type { ClaimedTask, NewTask } from '../../plugin/store/store'
import { startRedisWithAdmin, uniquePrefix } from '../helpers/redis-server'

// Handoff (lua/_handoff.lua): an idle claimer's offer, a head handed to it by
// an enqueue, and every way an offer ends. RedisStore only: the memory store
// has no round trip to save, and ignores offers.

const LEASE_MS = 3000
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const job = (queue: string, n: number): NewTask => ({ queue, name: 'job', payload: `[${n}]` })

t.test('handoff', async (t) => {
  const { redis, admin } = await startRedisWithAdmin(t)

  async function open (tt: Test, prefix: string, extra: { replicas?: number } = {}): Promise<RedisStore> {
    const store = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100, ...extra })
    tt.teardown(async () => await store.close())
    await store.connect()
    return store
  }

  /** A worker's store and a producer's store on one namespace. */
  async function pair (tt: Test): Promise<{ worker: RedisStore, producer: RedisStore, prefix: string }> {
    const prefix = uniquePrefix('ho')
    return { worker: await open(tt, prefix), producer: await open(tt, prefix), prefix }
  }

  const offers = async (prefix: string): Promise<string[]> => await admin.zrange(redisKeys(prefix).idle, '0', '-1')
  const wakes = async (prefix: string): Promise<number> => await admin.llen(redisKeys(prefix).wake)

  t.test('an enqueue hands a queue to the idle claimer: the blocked wait returns the head with its lease', async (t) => {
    const { worker, producer, prefix } = await pair(t)
    t.equal(await worker.claim('w1', LEASE_MS, 1000), null, 'nothing waiting')
    t.same(await offers(prefix), [`${LEASE_MS}\tw1`], 'the empty claim left an offer')
    const waiting = worker.waitForWork(5000)
    await sleep(50)
    const r = await producer.enqueue(job('q', 1))
    const got = await waiting
    t.ok(typeof got === 'object', 'the wait returns a head, not a wake-up')
    const c = got as ClaimedTask
    t.match(c, { id: r.id, queue: 'q', name: 'job', payload: '[1]', attempt: 1, handedOver: true })
    t.match(c.token, /^\d+$/)
    t.match(await producer.getQueue('q'), { state: 'running', holder: 'w1', head: { id: r.id, attempts: 1 } })
    t.same(await offers(prefix), [], 'one queue per offer')
    t.equal(await wakes(prefix), 0, 'nobody was woken')
    t.equal(await admin.llen(redisKeys(prefix).ready), 0, 'the queue never waited')
    // An ordinary lease: the next task follows on complete, and nothing is left behind.
    const second = await producer.enqueue(job('q', 2))
    t.match(await worker.complete({ queue: 'q', token: c.token }, c.id, 'w1', LEASE_MS, true), { ok: true, next: { id: second.id, token: c.token } })
    t.equal(await admin.exists(redisKeys(prefix).inbox + 'w1'), 0, 'the inbox is empty')
  })

  t.test('a head handed over while the claimer was not waiting comes first from its next claim', async (t) => {
    const { worker, producer } = await pair(t)
    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    const r = await producer.enqueue(job('a', 1))
    await producer.enqueue(job('b', 1))
    const c = await worker.claim('w1', LEASE_MS, 1000)
    t.match(c, { id: r.id, queue: 'a', attempt: 1, handedOver: true })
    const next = await worker.claim('w1', LEASE_MS, 1000)
    t.match(next, { queue: 'b', attempt: 1 }, 'then the ready list, as before')
    t.equal(next?.handedOver, undefined)
  })

  t.test('an offer ends: by its time, by the next claim, or when its owner claims on enqueue', async (t) => {
    const { worker, producer, prefix } = await pair(t)
    t.equal(await worker.claim('w1', LEASE_MS, 40), null)
    await sleep(80)
    await producer.enqueue(job('late', 1))
    t.match(await producer.getQueue('late'), { state: 'waiting' }, 'an offer past its time takes nothing')
    t.equal(await wakes(prefix), 1, 'and the queue woke a worker as before')
    t.equal(await worker.waitForWork(1000), true)
    t.match(await worker.claim('w1', LEASE_MS, 1000), { queue: 'late' })
    t.same(await offers(prefix), [], 'a claim that found work took its offer back')

    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    t.equal(await worker.claim('w1', LEASE_MS), null, 'a claim without an offer')
    t.same(await offers(prefix), [], 'takes the earlier one back')
    await producer.enqueue(job('x', 1))
    t.match(await producer.getQueue('x'), { state: 'waiting' })
    t.match(await worker.claim('w1', LEASE_MS), { queue: 'x' })

    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    const own = await worker.enqueue(job('mine', 1), { owner: 'w1', leaseMs: LEASE_MS })
    t.ok(own.claimed, 'claimed on enqueue')
    t.same(await offers(prefix), [], 'a claim on enqueue takes its owner\'s offer back (its slots may be full)')
  })

  t.test('closing gives back a head handed over and not taken', async (t) => {
    const prefix = uniquePrefix('ho')
    const producer = await open(t, prefix)
    const worker = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100 })
    await worker.connect()
    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    const r = await producer.enqueue(job('q', 1))
    t.match(await producer.getQueue('q'), { state: 'running', holder: 'w1' })
    await worker.close()
    t.match(await producer.getQueue('q'), { state: 'waiting', holder: null, head: { id: r.id, attempts: 0 } }, 'back, its attempt taken back')
    t.same(await offers(prefix), [])
    t.match(await producer.claim('w2', LEASE_MS), { id: r.id, attempt: 1 }, 'the next claimer starts it as its first attempt')
  })

  t.test('interruptWait takes the offer back', async (t) => {
    const { worker, producer, prefix } = await pair(t)
    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    const waiting = worker.waitForWork(5000)
    await sleep(30)
    worker.interruptWait()
    t.equal(await waiting, false)
    for (let i = 0; i < 50 && (await offers(prefix)).length > 0; i++) await sleep(10)
    t.same(await offers(prefix), [], 'no offer left')
    await producer.enqueue(job('q', 1))
    t.match(await producer.getQueue('q'), { state: 'waiting' })
  })

  t.test('a claimer that died with its offer out: the handed lease runs out and the sweep recovers the queue', async (t) => {
    const prefix = uniquePrefix('ho')
    const producer = await open(t, prefix)
    const shortLease = 300
    const dead = await open(t, prefix)
    t.equal(await dead.claim('gone', shortLease, 100), null)
    const r = await producer.enqueue(job('q', 1))
    t.match(await producer.getQueue('q'), { state: 'running', holder: 'gone' }, 'handed to the dead claimer')
    await sleep(shortLease + 50)
    t.match(await producer.sweep([]), { recovered: 1 })
    t.match(await producer.claim('w2', LEASE_MS), { id: r.id, attempt: 2 }, 'taken over like any expired lease')
    await sleep(10)
    t.equal(await admin.exists(redisKeys(prefix).inbox + 'gone'), 0, 'the dead claimer\'s inbox expired with the lease')
    t.equal(await dead.claim('gone-too', shortLease, 50), null)
    await sleep(100)
    t.same(await offers(prefix), [`${shortLease}\tgone-too`])
    await producer.sweep([])
    t.same(await offers(prefix), [], 'the sweep drops offers past their time')
  })

  t.test('no handoff with the replicas option (a handed lease would not wait for WAIT)', async (t) => {
    const prefix = uniquePrefix('ho')
    // A master without replicas: WAIT times out, which is fine for a claim that finds nothing.
    const worker = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 3000, commandTimeoutMs: 3000, deadLetterLimit: 100, replicas: 1, replicaTimeoutMs: 100 })
    t.teardown(async () => await worker.close())
    await worker.connect()
    t.equal(await worker.claim('w1', LEASE_MS, 1000), null)
    t.same(await offers(prefix), [], 'no offer')
  })
})
