import type { SystemName } from '../systems/types'

/** What the bench runner asks a child process to do (one job per child). */
export type Job =
  | { role: 'drain', system: SystemName, url: string, ns: string, tasks: number, warmup: number, pipelinedAcks?: number }
  | { role: 'enqueue', system: SystemName, url: string, ns: string, calls: number, inFlight: number, warmup: number, keys: number }
  | { role: 'pickup', system: SystemName, url: string, ns: string, samples: number, warmup: number, hotWarmup: number }
  // wait-latency: pickup and enqueue-and-wait, the worker in this process or in a process of its own (bench/wait-worker.ts).
  | { role: 'wait', system: SystemName, url: string, ns: string, samples: number, warmup: number, worker: WaitWorker }
  // `fill`: worker 0 pre-fills keyCount × perKey tasks in this shape before it reports ready.
  // `limiter`: one rate limit on every task (throttled scenario; see OpenOptions.limiter).
  | { role: 'worker', system: SystemName, url: string, ns: string, slots: number, keyCount: number, processes: number, index: number, bullmqShared: boolean, fill: { perKey: number, shape: Shape } | null, limiter?: { max: number, perMs: number } }
  // many-queues' safe-mode limit (lib/many-limit.ts): this process's share of keyCount × perKey handler sleeps, one no-op EVALSHA between a queue's tasks; no queue library.
  | { role: 'many-limit', url: string, ns: string, slots: number, keyCount: number, perKey: number, processes: number, index: number }
  // saturate: no-op handlers that only count (progress = tasks run).
  | { role: 'counter', system: SystemName, url: string, ns: string, slots: number, bullmqShared: boolean }
  // saturate: enqueues over `keys` keys with `inFlight` calls out, as fast as it can while fewer than `backlog` of its tasks wait (progress = tasks enqueued).
  | { role: 'producer', system: SystemName, url: string, ns: string, keys: number, offset: number, inFlight: number, backlog: number, bullmqShared: boolean }
  | { role: 'memory', system: SystemName, url: string, ns: string, tasks: number }
  | { role: 'http', system: SystemName, url: string, ns: string, keys: number, framework?: 'fastify' | 'express' }

/** Where wait-latency's worker runs: in the producer's process (one instance) or in another process. */
export type WaitWorker = 'same process' | 'other process'

/** grouped: a key's tasks are enqueued together (a lane per key); round-robin: one task of every key in turn. */
export type Shape = 'grouped' | 'round-robin'

export interface CpuUse { userUs: number, systemUs: number }

/**
 * Per-task start/end times (process.hrtime, ns as numbers: one clock for every
 * process on the machine); `grant`: the store's grant time of a limited start
 * (Redis clock, ms), NaN when the system does not say.
 */
export interface TaskRecords { key: number[], seq: number[], start: number[], end: number[], grant: number[] }

export type ChildMessage =
  | { type: 'ready', port?: number }
  | { type: 'progress', done: number }
  | { type: 'result', result: ChildResult }
  | { type: 'error', message: string }

export type ChildResult =
  | { role: 'drain', tasks: number, ns: number, cpu: CpuUse, violations: number, warmup: number }
  | { role: 'enqueue', calls: number, ns: number, cpu: CpuUse }
  | { role: 'pickup', latenciesMs: number[], cpu: CpuUse }
  | { role: 'wait', pickupMs: number[], waitMs: number[] }
  | { role: 'worker', records: TaskRecords, cpu: CpuUse }
  | { role: 'memory', tasks: number }
  | { role: 'http' }
  | { role: 'counter' | 'producer', count: number }

/** `completed`: tasks run so far by this producer's share of the workers (saturate backlog bound). */
export type MainMessage = { type: 'job', job: Job } | { type: 'go' } | { type: 'stop' } | { type: 'completed', done: number }

/** Deterministic 0, 1 or 2 ms of "work" per task, the same for every system. */
export function workMs (key: number, seq: number): number {
  return (key * 31 + seq * 17) % 3
}

export const keyName = (i: number): string => `k${i}`
export const keyIndex = (key: string): number => Number(key.slice(1))
