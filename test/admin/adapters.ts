import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import express, { type Express } from 'express'
import pino from 'pino'
import fifoPlugin, { type Fifo, type FifoOptions } from '../../plugin'
import { createFifo, type ExpressFifoOptions } from '../../plugin/express'

/**
 * The admin API suite runs once per adapter from one set of cases: each case
 * gets an `Adapter` and builds its app through it. Fastify is driven with
 * inject, Express over real HTTP on a loopback port; both answer through the
 * same `call`.
 */

export type AdapterKind = 'fastify' | 'express'
export const ADAPTERS: AdapterKind[] = ['fastify', 'express']

export interface Reply {
  status: number
  body: any
  headers: IncomingHttpHeaders
  raw: string
}

export interface CallOptions {
  body?: unknown
  headers?: Record<string, string>
  /** Sent as is; null sends no body (and no content-type unless given). */
  raw?: string | null
}

/** Options both adapters take; `auth` is written per adapter when its signature matters. */
export type AppOptions = Record<string, unknown> & { dashboard?: false | Record<string, unknown> }

export interface AdminApp {
  kind: AdapterKind
  fifo: Fifo
  /** JSON lines the app logged (pino levels: 30 info, 40 warn, 50 error). */
  logs: Array<{ level: number, msg: string }>
  /** Starts the app (Fastify ready; Express start() and listen). */
  ready (): Promise<void>
  call (method: string, url: string, opts?: CallOptions): Promise<Reply>
}

export interface BuildExtras {
  /** Where the dashboard is: Fastify's dashboard.path, Express's mount point. @default '/fifo' */
  path?: string
  /** Host routes added before the dashboard: (Fastify app) or (Express app). */
  fastifySetup?: (app: FastifyInstance) => Promise<void> | void
  expressSetup?: (app: Express) => void
}

export interface Adapter {
  kind: AdapterKind
  /** A new app, not started yet; closed when `t` ends. */
  app (t: Test, opts?: AppOptions, extras?: BuildExtras): Promise<AdminApp>
}

function logSink (logs: AdminApp['logs']): Writable {
  return new Writable({
    write (chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line))
      done()
    },
  })
}

function parsed (status: number, headers: IncomingHttpHeaders, raw: string): Reply {
  let body: unknown = raw
  try {
    body = JSON.parse(raw)
  } catch {}
  return { status, body, headers, raw }
}

/** Headers and payload of a call: actions send JSON `{}` unless told otherwise. */
function payloadOf (method: string, opts: CallOptions): { headers: Record<string, string>, payload: string | undefined } {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  let payload: string | undefined
  if (opts.raw !== undefined) {
    payload = opts.raw ?? undefined
  } else if (method !== 'GET' && method !== 'HEAD') {
    payload = JSON.stringify(opts.body ?? {})
    headers['content-type'] ??= 'application/json'
  }
  return { headers, payload }
}

const fastifyAdapter: Adapter = {
  kind: 'fastify',
  async app (t, opts = {}, extras = {}) {
    const logs: AdminApp['logs'] = []
    const app = Fastify({ logger: { level: 'info', stream: logSink(logs) } })
    t.teardown(() => app.close())
    if (extras.fastifySetup !== undefined) await extras.fastifySetup(app)
    const dashboard = opts.dashboard === false ? false : { ...(opts.dashboard ?? {}), ...(extras.path === undefined ? {} : { path: extras.path }) }
    await app.register(fifoPlugin, { leaseMs: 600, sweepMs: 50, ...opts, dashboard } as FifoOptions)
    return {
      kind: 'fastify',
      fifo: app.fifo,
      logs,
      ready: async () => { await app.ready() },
      async call (method, url, callOpts = {}) {
        const { headers, payload } = payloadOf(method, callOpts)
        const res = await app.inject({ method: method as 'GET', url, headers, payload })
        return parsed(res.statusCode, res.headers as IncomingHttpHeaders, res.body)
      },
    }
  },
}

const expressAdapter: Adapter = {
  kind: 'express',
  async app (t, opts = {}, extras = {}) {
    const logs: AdminApp['logs'] = []
    const fifo = createFifo({ leaseMs: 600, sweepMs: 50, logger: pino({ level: 'info' }, logSink(logs)), ...opts } as ExpressFifoOptions)
    const app = express()
    extras.expressSetup?.(app)
    if (opts.dashboard !== false) app.use(extras.path ?? '/fifo', fifo.router())
    let server: Server | null = null
    t.teardown(async () => {
      if (server !== null) {
        server.closeAllConnections()
        await new Promise((resolve) => server!.close(resolve))
      }
      await fifo.close()
    })
    let base = ''
    return {
      kind: 'express',
      fifo,
      logs,
      async ready () {
        await fifo.start()
        server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      },
      async call (method, url, callOpts = {}) {
        const { headers, payload } = payloadOf(method, callOpts)
        // Node sends a DELETE body unframed unless told its length.
        if (payload !== undefined) headers['content-length'] ??= String(Buffer.byteLength(payload))
        return await new Promise<Reply>((resolve, reject) => {
          // No keep-alive: every call is its own connection, closed with the reply.
          const req = httpRequest(base + url, { method, headers, agent: false }, (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => resolve(parsed(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))))
            res.on('error', reject)
          })
          req.on('error', reject)
          req.end(payload)
        })
      },
    }
  },
}

export const adapters: Record<AdapterKind, Adapter> = { fastify: fastifyAdapter, express: expressAdapter }

/** Runs `fn` as a subtest per adapter, named after it. */
export function forEachAdapter (t: Test, fn: (t: Test, adapter: Adapter) => Promise<void>): void {
  for (const kind of ADAPTERS) {
    t.test(kind, async (t) => { await fn(t, adapters[kind]) })
  }
}
