import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Running } from '../child'
import type { Job } from './protocol'
import { openSystem, type Instance } from '../systems/types'

const now = (): number => Number(process.hrtime.bigint())

/**
 * wait-latency: an idle worker; per sample (after 10–30 ms idle) the time from
 * an enqueue until its handler starts (pickup), then from an enqueue until its
 * outcome is back (enqueue-and-wait). The worker is this process's own
 * instance (fastify-fifo: the producer's app, so claim on enqueue applies) or
 * runs in a child process (bench/wait-worker.ts) that reports when its
 * handler starts (process.hrtime: one clock for every process on the machine).
 */
export async function wait (job: Extract<Job, { role: 'wait' }>): Promise<Running> {
  let started: ((t: number) => void) | null = null
  const onStart = (t: number): void => {
    started?.(t)
    started = null
  }
  let producer: Instance
  let worker: ChildProcess | null = null
  if (job.worker === 'same process') {
    producer = await openSystem(job.system, { url: job.url, ns: job.ns, slots: 1, ownedKeys: ['wait'], handler: () => { onStart(now()) } })
    await producer.start()
  } else {
    worker = fork(join(__dirname, '..', 'wait-worker.ts'), [job.system, job.url, job.ns], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const ready = new Promise<void>((resolve, reject) => {
      worker?.on('message', (m: { type: 'ready' } | { type: 'started', t: string }) => {
        if (m.type === 'ready') resolve()
        else onStart(Number(m.t))
      })
      worker?.on('exit', (code) => { reject(new Error(`wait worker exited (${code ?? '?'})`)) })
    })
    await ready
    producer = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [] })
  }
  const sample = async (i: number): Promise<[number, number]> => {
    await sleep(10 + ((i * 7) % 21))
    let handlerStarted = new Promise<number>((resolve) => { started = resolve })
    let t0 = now()
    await producer.enqueue('wait', 2 * i)
    const pickup = ((await handlerStarted) - t0) / 1e6
    await sleep(10 + ((i * 11) % 21))
    handlerStarted = new Promise<number>((resolve) => { started = resolve })
    t0 = now()
    await producer.enqueueAndWait('wait', 2 * i + 1)
    const waited = (now() - t0) / 1e6
    await handlerStarted
    return [pickup, waited]
  }
  for (let i = 0; i < job.warmup; i++) await sample(i)
  return {
    async run () {
      const pickupMs: number[] = []
      const waitMs: number[] = []
      for (let i = 0; i < job.samples; i++) {
        const [p, w] = await sample(job.warmup + i)
        pickupMs.push(p)
        waitMs.push(w)
      }
      return { role: 'wait', pickupMs, waitMs }
    },
    async finish () { return null },
    async close () {
      await producer.close()
      if (worker !== null && worker.exitCode === null) {
        const exited = new Promise<void>((resolve) => worker?.once('exit', () => resolve()))
        worker.disconnect()
        await exited
      }
    },
  }
}
