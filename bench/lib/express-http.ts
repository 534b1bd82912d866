import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createFifo } from '../../plugin/express'
import { openSystem } from '../systems/types'
import type { SystemName } from '../systems/types'

/**
 * The http scenario's server on Express: GET /plain, and GET /enqueue that
 * enqueues one task (fastify-fifo through req.fifo.enqueue from
 * fastify-fifo/express, a peer through its queue.add). Producer only (no
 * worker), like the Fastify server in child.ts.
 */
export async function expressHttpServer (system: SystemName, url: string, ns: string, keyOf: (seq: number) => string): Promise<{ port: number, close: () => Promise<void> }> {
  const app = express()
  app.disable('etag')
  let seq = 0
  let enqueue: (req: express.Request, key: string, seq: number) => Promise<unknown>
  let closeSystem: () => Promise<void>
  if (system === 'fastify-fifo') {
    const fifo = createFifo({ redis: url, prefix: ns, worker: false, dashboard: false })
    const task = fifo.define('bench', { queue: (key: string, _seq: number) => key }, async (_key: string, _seq: number) => {})
    app.use(fifo.middleware())
    await fifo.start()
    enqueue = async (req, key, s) => await req.fifo.enqueue(task, key, s)
    closeSystem = fifo.close
  } else {
    const instance = await openSystem(system, { url, ns, handler: null, slots: 1, ownedKeys: [] })
    enqueue = async (_req, key, s) => { await instance.enqueue(key, s) }
    closeSystem = instance.close
  }
  app.get('/plain', (_req, res) => { res.json({ ok: true, seq: seq++ }) })
  app.get('/enqueue', (req, res, next) => {
    const s = seq++
    enqueue(req, keyOf(s), s).then(() => { res.json({ ok: true, seq: s }) }, next)
  })
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  return {
    port: (server.address() as AddressInfo).port,
    async close () {
      const closed = new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await closed
      await closeSystem()
    },
  }
}
