import { setTimeout as sleep } from 'node:timers/promises'
import type { Running } from '../child'
import { workMs, type ChildMessage, type TaskRecords } from './protocol'

const now = (): number => Number(process.hrtime.bigint())

/**
 * A many-queues task: sleeps its deterministic 0–2 ms (the same for every
 * system) and records its start and end (process.hrtime).
 */
export async function sleepAndRecord (records: TaskRecords, key: number, seq: number, grantedAt?: number): Promise<void> {
  const start = now()
  const ms = workMs(key, seq)
  if (ms > 0) await sleep(ms)
  records.key.push(key)
  records.seq.push(seq)
  records.start.push(start)
  records.end.push(now())
  records.grant.push(grantedAt ?? NaN)
}

/**
 * The measured window of a process that runs recorded tasks: `begin` at go,
 * progress (tasks recorded) every 20 ms, then the records and the CPU used
 * since go at stop.
 */
export function recordingRun (records: TaskRecords, begin: () => Promise<void>, close: () => Promise<void>): Running {
  let cpu0 = process.cpuUsage()
  let progress: NodeJS.Timeout | undefined
  return {
    async run () {
      cpu0 = process.cpuUsage()
      let sent = -1
      progress = setInterval(() => {
        if (records.key.length !== sent) {
          sent = records.key.length
          process.send?.({ type: 'progress', done: sent } satisfies ChildMessage)
        }
      }, 20)
      await begin()
      return null
    },
    async finish () {
      clearInterval(progress)
      const d = process.cpuUsage(cpu0)
      return { role: 'worker', records, cpu: { userUs: d.user, systemUs: d.system } }
    },
    close,
  }
}
