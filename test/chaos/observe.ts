import type { ClaimedTask, Store } from '../../plugin/store/store'
import type { EventBody } from './events'

/**
 * Test instrumentation: wraps the store an app uses (app.fifo.store, the same
 * object its worker calls) so that every settlement the worker attempts is
 * recorded with the store's answer — accepted, fenced, or failed to reach
 * Redis. The checker uses these as ground truth for "the store accepted this
 * completion" and "this holder was fenced". Must run before app.ready().
 */
interface Head { id: string, seq: number, attempt: number }

function seqOf (task: ClaimedTask): number {
  try {
    const args = JSON.parse(task.payload) as unknown
    return Array.isArray(args) && typeof args[1] === 'number' ? args[1] : -1
  } catch {
    return -1
  }
}

function errorCode (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : err instanceof Error ? err.message.slice(0, 200) : String(err)
}

export function observeStore (store: Store, log: { write: (body: EventBody) => void }): void {
  // queue + token → the head the holder of that lease is running.
  const heads = new Map<string, Head>()
  const key = (queue: string, token: string): string => `${queue}\u0000${token}`
  const remember = (task: ClaimedTask | null): void => {
    if (task === null) return
    const head = { id: task.id, seq: seqOf(task), attempt: task.attempt }
    heads.set(key(task.queue, task.token), head)
    log.write({ type: 'claimed', id: head.id, queue: task.queue, seq: head.seq, attempt: head.attempt })
  }

  const claim = store.claim.bind(store)
  const enqueue = store.enqueue.bind(store)
  const complete = store.complete.bind(store)
  const fail = store.fail.bind(store)
  const heartbeat = store.heartbeat.bind(store)
  const pauseLimiter = store.pauseLimiter.bind(store)

  store.claim = async (owner, leaseMs) => {
    const task = await claim(owner, leaseMs)
    remember(task)
    return task
  }

  // Claim on enqueue: the worker's enqueue may come back holding the new head.
  store.enqueue = async (task, offer) => {
    const result = await enqueue(task, offer)
    if (result.claimed !== undefined) remember(result.claimed)
    return result
  }

  store.complete = async (lease, taskId, owner, leaseMs, keep, lookahead, outcome, claimNext) => {
    const k = key(lease.queue, lease.token)
    const head = heads.get(k) ?? { id: '?', seq: -1, attempt: -1 }
    const ref = { id: head.id, queue: lease.queue, seq: head.seq, attempt: head.attempt }
    try {
      const result = await complete(lease, taskId, owner, leaseMs, keep, lookahead, outcome, claimNext)
      log.write({ type: 'settle', ...ref, op: 'complete', result: result.ok ? 'ok' : 'fenced' })
      heads.delete(k)
      if (result.ok) remember(result.next)
      // A completion that released its queue may come back holding another one (claimNext).
      if (result.ok && result.claimed !== undefined) remember(result.claimed)
      return result
    } catch (err) {
      log.write({ type: 'settle', ...ref, op: 'complete', result: 'error', error: errorCode(err) })
      throw err
    }
  }

  store.fail = async (lease, input) => {
    const k = key(lease.queue, lease.token)
    const head = heads.get(k) ?? { id: '?', seq: -1, attempt: -1 }
    const ref = { id: head.id, queue: lease.queue, seq: head.seq, attempt: head.attempt }
    try {
      const result = await fail(lease, input)
      log.write(result.ok
        ? { type: 'settle', ...ref, op: 'fail', result: 'ok', outcome: result.outcome }
        : { type: 'settle', ...ref, op: 'fail', result: 'fenced' })
      heads.delete(k)
      return result
    } catch (err) {
      log.write({ type: 'settle', ...ref, op: 'fail', result: 'error', error: errorCode(err) })
      throw err
    }
  }

  // Once this returns, the pause is in the store: a grant after it respects the pause.
  store.pauseLimiter = async (limiter, ms) => {
    await pauseLimiter(limiter, ms)
    log.write({ type: 'limiter-paused', limiter, ms })
  }

  store.heartbeat = async (instance, held, leaseMs) => {
    const lost = await heartbeat(instance, held, leaseMs)
    for (const queue of lost) log.write({ type: 'lease-lost', queue })
    const renewed = held.map((l) => l.queue).filter((q) => !lost.includes(q))
    if (renewed.length > 0) log.write({ type: 'renewed', queues: renewed })
    return lost
  }
}
