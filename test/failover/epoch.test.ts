import '../helpers/guard'
import t, { type Test } from 'tap'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import type { ClaimedTask, NewTask } from '../../plugin/store/store'
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis-server'
import { waitUntil } from '../helpers/redis-node'
import { parseInfo } from '../helpers/redis-node'

// Fencing across a failover (lua/_grant.lua): a replica promoted after missing
// the last grants of its master must never hand out a token a stale holder of
// the old master still has. The failover is made by hand here: the replica
// stops replicating (REPLICAOF NO ONE, which gives it a new replication id as
// a promotion does), the old master goes on granting, and both are asked.

const LEASE_MS = 10_000

function task (queue: string, n: number): NewTask {
  return { queue, name: 'job', payload: JSON.stringify([n]) }
}

function store (tt: Test, redis: TestRedis, prefix: string): RedisStore {
  const s = new RedisStore({ redis: redis.url, prefix, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 100 })
  tt.teardown(async () => await s.close())
  return s
}

async function info (redis: TestRedis): Promise<Record<string, string>> {
  const c = redis.client()
  try { return parseInfo(await c.info('replication')) } finally { c.disconnect() }
}

/** A master and its replica, the replica fully synced. */
async function pair (tt: Test): Promise<{ master: TestRedis, replica: TestRedis }> {
  const master = await startRedis({ extraArgs: ['--repl-diskless-sync-delay', '0'] })
  tt.teardown(master.cleanup)
  const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] })
  tt.teardown(replica.cleanup)
  await waitUntil('the replica to sync', async () => (await info(replica)).master_link_status === 'up')
  return { master, replica }
}

/** Waits until the replica has everything the master wrote so far, then cuts it loose (a promotion). */
async function promote (master: TestRedis, replica: TestRedis): Promise<void> {
  const offset = (await info(master)).master_repl_offset
  await waitUntil('the replica to catch up', async () => (await info(replica)).master_repl_offset === offset)
  const c = replica.client()
  await c.call('REPLICAOF', 'NO', 'ONE')
  c.disconnect()
}

function claimed (c: ClaimedTask | null): ClaimedTask {
  if (c === null) throw new Error('nothing claimed')
  return c
}

async function staleHolderIsRefused (t: Test, a: ClaimedTask, b: ClaimedTask, onNew: RedisStore): Promise<void> {
  t.equal(b.queue, a.queue, 'both hold the same queue, one on each master')
  t.not(b.token, a.token, 'the new master never hands out the old master\'s token again')
  t.same(await onNew.complete({ queue: a.queue, token: a.token }, a.id, 'owner-a', LEASE_MS, true), { ok: false, fenced: true }, 'the stale holder\'s result is refused')
  t.same(await onNew.heartbeat({ id: 'owner-a', host: 'h', pid: 1, startedAt: 0, concurrency: 1, handlers: [] } as never, [{ queue: a.queue, token: a.token }], LEASE_MS), [a.queue], 'its heartbeat is told the lease is lost')
  t.match(await onNew.complete({ queue: b.queue, token: b.token }, b.id, 'owner-b', LEASE_MS, false), { ok: true }, 'the new holder completes')
}

t.test('a promoted replica that missed a grant issues a different, larger token (epoch bump)', async (t) => {
  const { master, replica } = await pair(t)
  const prefix = uniquePrefix('epoch')
  const onOld = store(t, master, prefix)
  await onOld.connect()
  // Some history both nodes share: a lease granted and settled on the old master.
  await onOld.enqueue(task('warm', 1))
  const w = claimed(await onOld.claim('owner-w', LEASE_MS))
  await onOld.complete({ queue: w.queue, token: w.token }, w.id, 'owner-w', LEASE_MS, false)
  await onOld.enqueue(task('q', 1))
  await promote(master, replica)

  // The old master grants a lease the promoted replica never hears of.
  const a = claimed(await onOld.claim('owner-a', LEASE_MS))
  const onNew = store(t, replica, prefix)
  await onNew.connect()
  const b = claimed(await onNew.claim('owner-b', LEASE_MS))
  t.ok(BigInt(b.token) > BigInt(a.token), 'the new epoch\'s token is larger than any the old master issued')
  t.ok(BigInt(a.token) > BigInt(w.token), 'tokens grow within one master\'s term')
  await staleHolderIsRefused(t, a, b, onNew)
})

t.test('two masters that both bump from the same epoch still issue different tokens (replication-id tag)', async (t) => {
  const { master, replica } = await pair(t)
  const prefix = uniquePrefix('epoch')
  const onOld = store(t, master, prefix)
  await onOld.connect()
  // Nothing was ever granted: neither node has an epoch yet, so both start epoch 1.
  await onOld.enqueue(task('q', 1))
  await promote(master, replica)
  const a = claimed(await onOld.claim('owner-a', LEASE_MS))
  const onNew = store(t, replica, prefix)
  await onNew.connect()
  const b = claimed(await onNew.claim('owner-b', LEASE_MS))
  t.equal(a.token.length, b.token.length, 'same epoch, same counter width')
  await staleHolderIsRefused(t, a, b, onNew)
})

t.test('a master restarted from its AOF starts a new epoch', async (t) => {
  const redis = await startRedis({ appendonly: true })
  t.teardown(redis.cleanup)
  const prefix = uniquePrefix('epoch')
  const s1 = store(t, redis, prefix)
  await s1.connect()
  await s1.enqueue(task('q', 1))
  const a = claimed(await s1.claim('owner-a', LEASE_MS))
  await s1.release({ queue: a.queue, token: a.token }, false)
  await s1.close()
  await redis.kill()
  await redis.start()
  const s2 = store(t, redis, prefix)
  await s2.connect()
  const b = claimed(await s2.claim('owner-b', LEASE_MS))
  const epochOf = (token: string): bigint => BigInt(token.slice(0, -20))
  t.equal(epochOf(b.token), epochOf(a.token) + 1n, 'the epoch went up by one')
})
