import { describeError, FST_FIFO_SHUTDOWN } from '../errors'
import { abortRun, type WorkerState } from './state'

/**
 * onClose, once claiming has stopped: waits for the claim loop, lets running
 * heads finish for up to closeTimeoutMs, aborts the rest and hands their
 * queues back, stops the timers and removes the instance record.
 */
export async function shutdown (s: WorkerState, loop: Promise<void> | null): Promise<void> {
  s.closing = true
  await loop
  const running = [...s.holds.values()]
  if (running.length > 0) {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), s.o.closeTimeoutMs) })
    const result = await Promise.race([Promise.allSettled(running.map((h) => h.done)), timedOut])
    clearTimeout(timer)
    if (result === 'timeout') {
      const left = [...s.holds.values()]
      s.o.log.warn({ queues: left.map((h) => h.lease.queue) }, 'fastify-fifo: closeTimeoutMs passed; aborting running tasks and handing their queues over')
      await Promise.allSettled(left.map(async (h) => {
        h.lost = true
        abortRun(h, new FST_FIFO_SHUTDOWN(h.task.name, h.task.id, s.o.closeTimeoutMs))
        s.holds.delete(h.lease.queue)
        // The head started, so its attempt stays counted.
        await s.o.store.release(h.lease, true)
      }))
    }
  }
  if (s.heartbeatTimer !== null) clearInterval(s.heartbeatTimer)
  if (s.sweepTimer !== null) clearInterval(s.sweepTimer)
  for (const t of s.retryTimers) clearTimeout(t)
  s.retryTimers.clear()
  try {
    await s.o.store.removeInstance(s.o.instance.id)
  } catch (err) {
    s.o.log.warn({ err: describeError(err) }, 'fastify-fifo: could not remove the instance record')
  }
}
