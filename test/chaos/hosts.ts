import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import express from 'express'
import Fastify from 'fastify'
import pino from 'pino'
import fifo, { type Fifo, type FifoOptions, type RequestFifo } from '../../plugin'
import { createFifo } from '../../plugin/express'

/**
 * The web framework a chaos/multi process runs on: the same fifo options, a
 * POST route whose handler gets the request's fifo, listen, and a graceful
 * close (Fastify's app.close(); Express's server.close() then fifo.close()).
 */
export interface Host {
  fifo: Fifo
  /** Adds POST `path`; `handle` answers with a status and a JSON body. */
  post: (path: string, handle: (body: any, requestFifo: RequestFifo) => Promise<{ status: number, body: unknown }>) => void
  /** Starts (after every define) and listens on a loopback port. */
  listen: () => Promise<number>
  close: () => Promise<void>
}

export async function makeHost (adapter: 'fastify' | 'express', options: FifoOptions & { dashboard: false }, logFile: string, logLevel: string): Promise<Host> {
  if (adapter === 'fastify') {
    const app = Fastify({ logger: { level: logLevel, file: logFile } })
    await app.register(fifo, options)
    return {
      fifo: app.fifo,
      post: (path, handle) => {
        app.post(path, async (request, reply) => {
          const { status, body } = await handle(request.body, request.fifo)
          return await reply.code(status).send(body)
        })
      },
      listen: async () => {
        await app.listen({ port: 0, host: '127.0.0.1' })
        return (app.server.address() as AddressInfo).port
      },
      close: async () => { await app.close() },
    }
  }
  const expressFifo = createFifo({ ...options, logger: pino({ level: logLevel }, pino.destination({ dest: logFile, sync: false })) })
  const app = express()
  app.use(express.json(), expressFifo.middleware())
  let server: Server | null = null
  return {
    fifo: expressFifo,
    post: (path, handle) => {
      app.post(path, (req, res, next) => {
        handle(req.body, req.fifo).then(({ status, body }) => { res.status(status).json(body) }, next)
      })
    },
    listen: async () => {
      await expressFifo.start()
      server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
      return (server.address() as AddressInfo).port
    },
    close: async () => {
      // Stop taking requests, then hand the queues over.
      const closed = server === null ? Promise.resolve() : new Promise((resolve) => server!.close(resolve))
      server?.closeIdleConnections()
      await Promise.all([closed, expressFifo.close()])
    },
  }
}

export const hostLogFile = (logDir: string, inst: string): string => join(logDir, `app-${inst}.log`)
