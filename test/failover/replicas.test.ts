import '../helpers/guard'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fifo from '../../plugin'
import { RedisStore } from '../../plugin/store/redis/redis-store'
import type { NewTask } from '../../plugin/store/store'
import { freePort, uniquePrefix } from '../helpers/redis-server'
import { launchNode, sleep, waitUntil, type RedisNode } from '../helpers/redis-node'

// The `replicas` option: enqueue, claim, complete and fail resolve only once
// Redis WAIT says the replica has the write, and reject with
// FST_FIFO_NOT_REPLICATED when it does not come in time. The replica is
// frozen (SIGSTOP) to hold its acknowledgements back.

const LEASE_MS = 10_000

function task (queue: string, n: number, extra: Partial<NewTask> = {}): NewTask {
  return { queue, name: 'job', payload: JSON.stringify([n]), ...extra }
}

async function pair (tt: Test): Promise<{ master: RedisNode, replica: RedisNode }> {
  const master = await launchNode(await freePort())
  tt.teardown(master.cleanup)
  const replica = await launchNode(await freePort(), ['--replicaof', '127.0.0.1', String(master.port)])
  tt.teardown(replica.cleanup)
  await waitUntil('the replica to sync', async () => (await replica.info('replication')).master_link_status === 'up')
  return { master, replica }
}

function store (tt: Test, master: RedisNode, prefix: string, replicas: number, replicaTimeoutMs = 1500): RedisStore {
  const s = new RedisStore({ redis: `redis://127.0.0.1:${master.port}`, prefix, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 100, replicas, replicaTimeoutMs })
  tt.teardown(async () => await s.close())
  return s
}

/** Tracks whether a promise has settled yet. */
function watch<T> (p: Promise<T>): { settled: () => boolean, promise: Promise<T> } {
  let done = false
  p.then(() => { done = true }, () => { done = true })
  return { settled: () => done, promise: p }
}

t.test('with replicas: 1 each write resolves only once the replica has it', async (t) => {
  const { master, replica } = await pair(t)
  const prefix = uniquePrefix('repl')
  const s = store(t, master, prefix, 1, 3000)
  await s.connect()
  const pendingOnReplica = async (): Promise<string | null> => await replica.call('GET', `{${prefix}}:pending`) as string | null

  replica.pause()
  const enqueued = watch(s.enqueue(task('q', 1)))
  await sleep(300)
  t.notOk(enqueued.settled(), 'the enqueue waits while the replica cannot acknowledge')
  replica.resume()
  t.match(await enqueued.promise, { duplicate: false }, 'it resolves once the replica is back')
  t.equal(await pendingOnReplica(), '1', 'and the replica has the task at that moment')

  // A batch of enqueues in one turn shares one WAIT; all of them are on the replica when they resolve.
  const batch = await Promise.all([2, 3, 4].map(async (n) => await s.enqueue(task('q', n))))
  t.equal(batch.length, 3)
  t.equal(await pendingOnReplica(), '4', 'a batch is confirmed as a whole')

  replica.pause()
  const claim = watch(s.claim('owner', LEASE_MS))
  await sleep(300)
  t.notOk(claim.settled(), 'a claim waits for the replica too')
  replica.resume()
  const c = await claim.promise
  if (c === null) throw new Error('nothing claimed')
  t.match(await replica.call('HGET', `{${prefix}}:lease`, 'q'), new RegExp(`^${c.token}:`), 'the replica has the lease')

  const done = await s.complete({ queue: c.queue, token: c.token }, c.id, 'owner', LEASE_MS, false)
  t.match(done, { ok: true })
  t.equal(await pendingOnReplica(), '3', 'the completion is on the replica')

  const c2 = await s.claim('owner', LEASE_MS)
  if (c2 === null) throw new Error('nothing claimed')
  t.match(await s.fail({ queue: c2.queue, token: c2.token }, { error: 'boom', maxAttempts: 1, delayMs: 0, onExhausted: 'dead-letter' }), { ok: true, outcome: 'dead' })
  t.equal(await pendingOnReplica(), '2', 'the failure is on the replica')
  t.equal(await s.claim('owner', LEASE_MS).then((x) => x?.id), batch[1].id, 'the queue goes on in order')
})

t.test('without the confirmation in time a call rejects with FST_FIFO_NOT_REPLICATED; a retry with the dedupeId is not added twice', async (t) => {
  const { master, replica } = await pair(t)
  const prefix = uniquePrefix('repl')
  const s = store(t, master, prefix, 1, 300)
  await s.connect()

  replica.pause()
  const err = await s.enqueue(task('q', 1, { dedupeId: 'order-1' })).then(() => null, (e: Error & { code?: string }) => e)
  t.match(err, { code: 'FST_FIFO_NOT_REPLICATED', statusCode: 503 }, 'the enqueue is refused')
  t.match(err?.message, /enqueue .*0 of 1 replicas within replicaTimeoutMs \(300 ms\)/, 'the message names the numbers')
  t.match(err?.message, /dedupeId/, 'and says what to do')

  const claimErr = await s.claim('owner', LEASE_MS).then(() => null, (e: Error & { code?: string }) => e)
  t.match(claimErr, { code: 'FST_FIFO_NOT_REPLICATED' }, 'an unconfirmed claim is refused')
  replica.resume()
  await waitUntil('the lease to be given back', async () => (await master.call('HLEN', `{${prefix}}:lease`)) === 0)
  const row = await s.getQueue('q')
  t.match(row, { state: 'waiting', holder: null, head: { attempts: 0 } }, 'the refused claim gave its lease and attempt back')

  // The caller retries as the error says. A replica woken from SIGSTOP may take a moment to
  // catch up, so a retry can itself be unconfirmed: keep retrying, as a caller would.
  let again: Awaited<ReturnType<typeof s.enqueue>> | null = null
  for (let i = 0; again === null; i++) {
    again = await s.enqueue(task('q', 1, { dedupeId: 'order-1' })).catch((e: Error & { code?: string }) => {
      if (e.code !== 'FST_FIFO_NOT_REPLICATED' || i >= 30) throw e
      return null
    })
    if (again === null) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(again.duplicate, true, 'the retry finds the task the refused call stored')
  t.equal((await s.getQueue('q'))?.depth, 1, 'one task, not two')
})

t.test('replicas: 0 (the default) does not wait', async (t) => {
  const { master, replica } = await pair(t)
  const s = store(t, master, uniquePrefix('repl'), 0)
  await s.connect()
  replica.pause()
  t.match(await s.enqueue(task('q', 1)), { duplicate: false }, 'resolves with the replica frozen')
  replica.resume()
})

t.test('the plugin checks the options', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ replicas: 1 }, /"replicas" option .*needs the "redis" option/],
    [{ replicas: -1, redis: 'redis://127.0.0.1:1' }, /"replicas" option must be a whole number/],
    [{ replicas: 1.5, redis: 'redis://127.0.0.1:1' }, /"replicas" option/],
    [{ replicas: 1, redis: 'redis://127.0.0.1:1', replicaTimeoutMs: 5000 }, /"replicaTimeoutMs" option must be below commandTimeoutMs \(5000\)/],
  ]
  for (const [opts, message] of cases) {
    const app = Fastify({ logger: false })
    await t.rejects((async () => { await app.register(fifo, { dashboard: false, ...opts } as never); await app.ready() })(), { code: 'FST_FIFO_INVALID_OPTION', message }, JSON.stringify(opts))
    await app.close().catch(() => {})
  }
})
