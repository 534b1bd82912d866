/**
 * One bench child process: runs one job for one system, driven by the runner
 * over IPC (job → ready → go → result → stop). Every measured window runs in a
 * fresh process, so systems never share a heap, a JIT or a connection.
 */
import Fastify from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { expressHttpServer } from './lib/express-http'
import { manyLimit } from './lib/many-limit'
import { recordingRun, sleepAndRecord } from './lib/worker-records'
import { wait } from './lib/wait-job'
import { keyIndex, keyName, type ChildMessage, type ChildResult, type CpuUse, type Job, type MainMessage, type Shape, type TaskRecords } from './lib/protocol'
import { openSystem, type Instance, type SystemName } from './systems/types'

const send = (msg: ChildMessage): void => { process.send?.(msg) }
/** Sends and resolves once the message is handed to the OS, so an exit right after cannot drop it. */
const sendNow = async (msg: ChildMessage): Promise<void> => {
  await new Promise<void>((resolve) => {
    if (process.send === undefined) resolve()
    else process.send(msg, undefined, {}, () => resolve())
  })
}
const now = (): number => Number(process.hrtime.bigint())

function cpuSince (start: NodeJS.CpuUsage): CpuUse {
  const d = process.cpuUsage(start)
  return { userUs: d.user, systemUs: d.system }
}

let onGo: () => void = () => {}
let onStop: () => void = () => {}
const go = new Promise<void>((resolve) => { onGo = resolve })
const stop = new Promise<void>((resolve) => { onStop = resolve })

/** Runs `total` calls of `fn` with at most `inFlight` pending. */
async function pool (total: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < total) await fn(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane))
}

/** One job in a child: `run` in the measured window, `finish` at stop, `close` last. */
export interface Running { run: () => Promise<ChildResult | null>, finish: () => Promise<ChildResult | null>, close: () => Promise<void> }

async function drain (job: Extract<Job, { role: 'drain' }>): Promise<Running> {
  const producer = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [] })
  const total = job.warmup + job.tasks
  await pool(total, 100, async (i) => await producer.enqueue('serial', i))
  await producer.close()
  // The first `warmup` tasks let the JIT settle; the window starts when task `warmup` starts.
  let cpu0 = process.cpuUsage()
  let t0 = now()
  let expected = 0
  let violations = 0
  let done = 0
  let finished: () => void = () => {}
  const allDone = new Promise<void>((resolve) => { finished = resolve })
  const consumer = await openSystem(job.system, {
    url: job.url,
    ns: job.ns,
    slots: 1,
    ownedKeys: ['serial'],
    pipelinedAcks: job.pipelinedAcks,
    handler: (_key, seq) => {
      if (done === job.warmup) {
        cpu0 = process.cpuUsage()
        t0 = now()
      }
      if (seq !== expected) violations++
      expected = seq + 1
      if (++done === total) finished()
    },
  })
  return {
    async run () {
      await consumer.start()
      await allDone
      return { role: 'drain', tasks: job.tasks, ns: now() - t0, cpu: cpuSince(cpu0), violations, warmup: job.warmup }
    },
    async finish () { return null },
    async close () { await consumer.close() },
  }
}

async function enqueue (job: Extract<Job, { role: 'enqueue' }>): Promise<Running> {
  const producer = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [] })
  const call = async (i: number): Promise<void> => await producer.enqueue(keyName(i % job.keys), i)
  // Warm-up: connections, script loads and the JIT, not measured.
  await pool(job.warmup, job.inFlight, call)
  return {
    async run () {
      const cpu0 = process.cpuUsage()
      const t0 = now()
      await pool(job.calls, job.inFlight, async (i) => await call(job.warmup + i))
      return { role: 'enqueue', calls: job.calls, ns: now() - t0, cpu: cpuSince(cpu0) }
    },
    async finish () { return null },
    async close () { await producer.close() },
  }
}

async function pickup (job: Extract<Job, { role: 'pickup' }>): Promise<Running> {
  let started: ((t: number) => void) | null = null
  const instance = await openSystem(job.system, {
    url: job.url,
    ns: job.ns,
    slots: 1,
    ownedKeys: ['pickup'],
    handler: () => {
      const t = now()
      started?.(t)
      started = null
    },
  })
  await instance.start()
  const sample = async (i: number): Promise<number> => {
    // Let the worker finish the previous task and go idle: 10–30 ms, the same
    // sequence for every system.
    await sleep(10 + ((i * 7) % 21))
    const handlerStarted = new Promise<number>((resolve) => { started = resolve })
    const t0 = now()
    await instance.enqueue('pickup', i)
    return ((await handlerStarted) - t0) / 1e6
  }
  // First `hotWarmup` pickups back to back (no idle gap), as a server that has been running has
  // done: V8 has optimised the path, so what the idle samples then show is cold caches after the
  // gap, not code the JIT has not seen yet (bench/README.md, "Where an idle pickup's time goes").
  for (let i = 0; i < job.hotWarmup; i++) {
    const handlerStarted = new Promise<number>((resolve) => { started = resolve })
    await instance.enqueue('pickup', i)
    await handlerStarted
  }
  for (let i = 0; i < job.warmup; i++) await sample(job.hotWarmup + i)
  return {
    async run () {
      const cpu0 = process.cpuUsage()
      const latenciesMs: number[] = []
      for (let i = 0; i < job.samples; i++) latenciesMs.push(await sample(job.hotWarmup + job.warmup + i))
      return { role: 'pickup', latenciesMs, cpu: cpuSince(cpu0) }
    },
    async finish () { return null },
    async close () { await instance.close() },
  }
}

/**
 * Pre-fills keyCount × perKey tasks. A key's tasks are enqueued one after
 * another (each awaited), so every system stores them in order; keys proceed
 * in up to 100 parallel lanes (grouped: a lane per key; round-robin: task s of
 * every key before task s+1 of any).
 */
async function prefill (system: SystemName, url: string, ns: string, keyCount: number, perKey: number, shape: Shape, bullmqShared: boolean): Promise<void> {
  const producer = await openSystem(system, { url, ns, handler: null, slots: 1, ownedKeys: [], bullmqShared })
  try {
    if (shape === 'grouped') {
      await pool(keyCount, 100, async (k) => {
        for (let s = 0; s < perKey; s++) await producer.enqueue(keyName(k), s)
      })
    } else {
      for (let s = 0; s < perKey; s++) {
        await pool(keyCount, 100, async (k) => await producer.enqueue(keyName(k), s))
      }
    }
  } finally {
    await producer.close()
  }
}

async function worker (job: Extract<Job, { role: 'worker' }>): Promise<Running> {
  if (job.fill !== null) await prefill(job.system, job.url, job.ns, job.keyCount, job.fill.perKey, job.fill.shape, job.bullmqShared)
  const records: TaskRecords = { key: [], seq: [], start: [], end: [], grant: [] }
  const ownedKeys: string[] = []
  if (job.system === 'bullmq' && !job.bullmqShared) {
    for (let k = job.index; k < job.keyCount; k += job.processes) ownedKeys.push(keyName(k))
  }
  const instance = await openSystem(job.system, {
    url: job.url,
    ns: job.ns,
    slots: job.slots,
    ownedKeys,
    bullmqShared: job.bullmqShared,
    limiter: job.limiter,
    handler: async (key, seq, grantedAt) => { await sleepAndRecord(records, keyIndex(key), seq, grantedAt) },
  })
  return recordingRun(records, async () => { await instance.start() }, async () => { await instance.close() })
}

/** saturate: a worker whose handler does nothing but count. */
async function counter (job: Extract<Job, { role: 'counter' }>): Promise<Running> {
  let done = 0
  const instance = await openSystem(job.system, {
    url: job.url,
    ns: job.ns,
    slots: job.slots,
    ownedKeys: [],
    bullmqShared: job.bullmqShared,
    handler: () => { done++ },
  })
  let progress: NodeJS.Timeout | undefined
  return {
    async run () {
      progress = setInterval(() => send({ type: 'progress', done }), 20)
      await instance.start()
      return null
    },
    async finish () {
      clearInterval(progress)
      return { role: 'counter', count: done }
    },
    async close () { await instance.close() },
  }
}

/** What the runner last said this producer's tasks have been run (saturate). */
let completedOfMine = 0
let onCompleted: () => void = () => {}

/**
 * saturate: enqueues as fast as it can, `inFlight` calls out at once, over
 * `keys` keys; holds back while `backlog` of its tasks are waiting, so the
 * queues stay full but Redis does not fill up (the steady state measures
 * what is enqueued and run, not a growing backlog).
 */
async function producer (job: Extract<Job, { role: 'producer' }>): Promise<Running> {
  const instance = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [], bullmqShared: job.bullmqShared })
  let sent = 0
  const state = { stopped: false }
  let progress: NodeJS.Timeout | undefined
  const lanes: Array<Promise<void>> = []
  const lane = async (): Promise<void> => {
    while (!state.stopped) {
      if (sent - completedOfMine >= job.backlog) {
        await new Promise<void>((resolve) => { onCompleted = resolve; setTimeout(resolve, 50) })
        continue
      }
      const i = sent++
      await instance.enqueue(keyName((job.offset + i) % job.keys), i)
    }
  }
  return {
    async run () {
      progress = setInterval(() => send({ type: 'progress', done: sent }), 20)
      for (let i = 0; i < job.inFlight; i++) lanes.push(lane())
      return null
    },
    async finish () {
      state.stopped = true
      onCompleted()
      await Promise.allSettled(lanes)
      clearInterval(progress)
      return { role: 'producer', count: sent }
    },
    async close () { await instance.close() },
  }
}

async function memory (job: Extract<Job, { role: 'memory' }>): Promise<Running> {
  const producer = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [] })
  const note = 'n'.repeat(64)
  // One task first, so per-queue structures are not counted per task.
  await producer.enqueuePayload('orders', { orderId: 'o-0', qty: 0, note })
  return {
    async run () {
      await pool(job.tasks, 100, async (i) => await producer.enqueuePayload('orders', { orderId: `o-${i + 1}`, qty: i + 1, note }))
      return { role: 'memory', tasks: job.tasks }
    },
    async finish () { return null },
    async close () { await producer.close() },
  }
}

async function http (job: Extract<Job, { role: 'http' }>): Promise<Running & { port: number }> {
  if (job.framework === 'express') {
    const server = await expressHttpServer(job.system, job.url, job.ns, (s) => keyName(s % job.keys))
    return { port: server.port, async run () { return null }, async finish () { return { role: 'http' } }, close: server.close }
  }
  const app = Fastify({ logger: false })
  const instance: Instance = await openSystem(job.system, { url: job.url, ns: job.ns, handler: null, slots: 1, ownedKeys: [], app })
  let seq = 0
  app.get('/plain', async () => ({ ok: true, seq: seq++ }))
  app.get('/enqueue', async (request) => {
    const s = seq++
    await instance.enqueueFromRequest(request, keyName(s % job.keys), s)
    return { ok: true, seq: s }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    async run () { return null },
    async finish () { return { role: 'http' } },
    async close () {
      await app.close()
      await instance.close()
    },
  }
}

/**
 * FIFO_BENCH_CPU_PROFILE=<dir>: every child records a V8 CPU profile of its
 * measured window to <dir>/<role>-<system>-<pid>.cpuprofile (for finding where
 * the time goes; the profiler itself slows the run, so figures from such a run
 * are not comparable).
 */
const profileDir = process.env.FIFO_BENCH_CPU_PROFILE
async function startProfile (): Promise<Session | null> {
  if (profileDir === undefined || profileDir === '') return null
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return session
}
async function stopProfile (session: Session | null, job: Job): Promise<void> {
  if (session === null || profileDir === undefined) return
  const { profile } = await session.post('Profiler.stop')
  mkdirSync(profileDir, { recursive: true })
  writeFileSync(join(profileDir, `${job.role}-${'system' in job ? job.system : 'limit'}-${process.pid}.cpuprofile`), JSON.stringify(profile))
  session.disconnect()
}

async function main (job: Job): Promise<void> {
  let running: Running & { port?: number }
  switch (job.role) {
    case 'drain': running = await drain(job); break
    case 'enqueue': running = await enqueue(job); break
    case 'pickup': running = await pickup(job); break
    case 'wait': running = await wait(job); break
    case 'worker': running = await worker(job); break
    case 'many-limit': running = await manyLimit(job); break
    case 'counter': running = await counter(job); break
    case 'producer': running = await producer(job); break
    case 'memory': running = await memory(job); break
    case 'http': running = await http(job); break
  }
  send({ type: 'ready', port: running.port })
  await go
  const session = await startProfile()
  const result = await running.run()
  if (result !== null) await sendNow({ type: 'result', result })
  await stop
  const final = await running.finish()
  await stopProfile(session, job)
  if (final !== null) await sendNow({ type: 'result', result: final })
  await running.close()
}

// The runner is gone (killed or crashed): nobody will send stop, so do not linger.
process.on('disconnect', () => process.exit(1))

process.on('message', (msg: MainMessage) => {
  if (msg.type === 'job') {
    // Exit as soon as the job is closed: a peer's stray timer must not keep the child alive.
    main(msg.job).then(() => process.exit(0), async (err: unknown) => {
      await sendNow({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
      process.exit(1)
    })
  } else if (msg.type === 'go') {
    onGo()
  } else if (msg.type === 'stop') {
    onStop()
  } else if (msg.type === 'completed') {
    completedOfMine = msg.done
    const wake = onCompleted
    onCompleted = () => {}
    wake()
  }
})
