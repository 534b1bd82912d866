import { taskContext } from '../plugin'

/**
 * Helpers shared by the workflows: simulated network latency, and the entry
 * each handler writes to the ledger (which instance ran it, which attempt).
 */

/** Waits like a network call would: a random time between min and max ms. It stops early if the task is aborted. */
export async function networkCall (minMs = 20, maxMs = 150): Promise<void> {
  const signal = taskContext()?.signal
  const ms = minMs + Math.floor(Math.random() * (maxMs - minMs))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort (): void {
      clearTimeout(timer)
      reject(signal?.reason ?? new Error('aborted'))
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

/** What a handler records about the run it is in. */
export function runInfo (): Record<string, unknown> {
  const ctx = taskContext()
  return { at: Date.now(), task: ctx?.id ?? null, attempt: ctx?.attempt ?? null }
}
