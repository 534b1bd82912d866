/**
 * The `http` scenario's server (bench/child.ts's http role, Fastify) for the
 * fastify-fifo found in another source tree (see bench/compare-http.ts): a
 * producer-only app (`worker: false`) with `/plain` (`{ ok, seq }`) and
 * `/enqueue` (`request.fifo.enqueue` into one of 100 queues, then the same
 * reply). The plugin is `require(<tree>/plugin)`, so old commits run under one
 * harness. Driven over IPC: job → ready (port); cpu → cpu (µs used so far);
 * profile-start / profile-stop (V8 CPU profile to a file); close.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

export interface HttpJob { tree: string, url: string, ns: string, keys: number, floor: boolean }
export type HttpRequest = { type: 'job', job: HttpJob } | { type: 'cpu' } | { type: 'profile-start' } | { type: 'profile-stop', file: string } | { type: 'close' }
export type HttpMessage = { type: 'ready', port: number } | { type: 'cpu', us: number, sysUs: number } | { type: 'profiled' } | { type: 'error', message: string }

type Plugin = Parameters<FastifyInstance['register']>[0]
interface Fifo { define: (name: string, options: object, handler: (...args: any[]) => unknown) => (...args: unknown[]) => Promise<unknown> }
interface RequestFifo { enqueue: (task: unknown, ...args: unknown[]) => Promise<unknown> }

const send = async (msg: HttpMessage): Promise<void> => await new Promise((resolve) => {
  if (process.send === undefined) resolve()
  else process.send(msg, undefined, {}, () => resolve())
})

let app: FastifyInstance | null = null
let session: Session | null = null
let floorClient: Redis | null = null

/**
 * `/floor`: what an enqueue built like fastify-fifo's must cost at least — the
 * same batching (a call goes at once when none is on the wire, else the calls
 * of this turn go together at setImmediate), one EVALSHA of a script that only
 * returns an id per task, with the same 7 arguments per task, through a bare
 * ioredis client: no validation, no task record, no fifo code.
 */
async function floorRoute (server: FastifyInstance, url: string, keys: number, next: () => number): Promise<void> {
  const client = floorClient = new Redis(url)
  const sha = String(await client.script('LOAD', 'local r = {} for i = 1, #ARGV / 7 do r[i] = {0, tostring(i)} end return r'))
  let waiting: Array<() => void> | null = null
  let args: string[] = []
  let sending = 0
  const flush = (): void => {
    const batch = waiting ?? []
    const sent = args
    waiting = null
    args = []
    sending++
    client.evalsha(sha, 0, ...sent).then(() => {
      sending--
      for (const resolve of batch) resolve()
    }, () => { sending-- })
  }
  server.get('/floor', async () => {
    const s = next()
    await new Promise<void>((resolve) => {
      const now = waiting === null && sending === 0
      if (waiting === null) {
        waiting = []
        if (!now) setImmediate(flush)
      }
      args.push(`k${s % keys}`, 'bench', JSON.stringify([`k${s % keys}`, s]), 'req-1', '', '300000', '')
      waiting.push(resolve)
      if (now) flush()
    })
    return { ok: true, seq: s }
  })
}

async function start (job: HttpJob): Promise<number> {
  const mod = require(join(job.tree, 'plugin')) as { default: Plugin }
  const server = app = Fastify({ logger: false })
  await server.register(mod.default, { redis: job.url, prefix: job.ns, concurrency: 1, worker: false, dashboard: false })
  const task = (server as unknown as { fifo: Fifo }).fifo.define('bench', { queue: (key: string, _seq: number) => key }, async () => {})
  let seq = 0
  server.get('/plain', async () => ({ ok: true, seq: seq++ }))
  server.get('/enqueue', async (request) => {
    const s = seq++
    await (request as unknown as { fifo: RequestFifo }).fifo.enqueue(task, `k${s % job.keys}`, s)
    return { ok: true, seq: s }
  })
  if (job.floor) await floorRoute(server, job.url, job.keys, () => seq++)
  await server.listen({ host: '127.0.0.1', port: 0 })
  const address = server.server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

async function handle (msg: HttpRequest): Promise<void> {
  switch (msg.type) {
    case 'job': await send({ type: 'ready', port: await start(msg.job) }); break
    case 'cpu': {
      const c = process.cpuUsage()
      await send({ type: 'cpu', us: c.user + c.system, sysUs: c.system })
      break
    }
    case 'profile-start':
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 100 })
      await session.post('Profiler.start')
      await send({ type: 'profiled' })
      break
    case 'profile-stop':
      if (session !== null) {
        const { profile } = await session.post('Profiler.stop')
        writeFileSync(msg.file, JSON.stringify(profile))
        session.disconnect()
        session = null
      }
      await send({ type: 'profiled' })
      break
    case 'close':
      await app?.close()
      floorClient?.disconnect()
      process.exit(0)
  }
}

process.on('disconnect', () => process.exit(1))
process.on('message', (msg: HttpRequest) => {
  handle(msg).catch(async (err: unknown) => {
    await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    process.exit(1)
  })
})
