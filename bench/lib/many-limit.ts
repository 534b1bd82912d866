import { Redis } from 'ioredis'
import type { Running } from '../child'
import type { Job, TaskRecords } from './protocol'
import { recordingRun, sleepAndRecord } from './worker-records'

/**
 * many-queues' safe-mode limit, one of its worker processes: no queue
 * library, no stored tasks. The process runs its share of the queues (queue
 * k in process k mod processes, in order of k), `slots` at a time: each slot
 * takes the next queue and runs its tasks one after another with the same
 * handler sleep as every system (workMs), and between a queue's consecutive
 * tasks it makes exactly one no-op EVALSHA round trip on the process's one
 * Redis connection — the least the safe mode needs (the completion that hands
 * back the next head). The records have the workers' shape, so the scenario
 * measures tasks/s, CPU and the slots' ceiling the same way.
 */
export async function manyLimit (job: Extract<Job, { role: 'many-limit' }>): Promise<Running> {
  const redis = new Redis(job.url)
  const sha = await redis.script('LOAD', 'return 1') as string
  for (let i = 0; i < 200; i++) await redis.evalsha(sha, 1, `{${job.ns}}:warm`)
  const records: TaskRecords = { key: [], seq: [], start: [], end: [], grant: [] }
  const mine: number[] = []
  for (let k = job.index; k < job.keyCount; k += job.processes) mine.push(k)
  let next = 0
  const slot = async (): Promise<void> => {
    while (next < mine.length) {
      const k = mine[next++]
      const queueKey = `{${job.ns}}:q${k}`
      for (let seq = 0; seq < job.perKey; seq++) {
        if (seq > 0) await redis.evalsha(sha, 1, queueKey)
        await sleepAndRecord(records, k, seq)
      }
    }
  }
  return recordingRun(records, async () => { await Promise.all(Array.from({ length: job.slots }, slot)) }, async () => { redis.disconnect() })
}
