import type { Server } from 'node:http'
import pino from 'pino'
import { baseUrl, closeOnSignals, exampleOptions, failed, loggerOptions, settings } from './boot'
import { exampleExpressApp } from './express-app'

/**
 * `npm run start:express`: the same example on Express, http://127.0.0.1:3000
 * (dashboard at /fifo). Environment: see boot.ts. Shutdown: stop accepting
 * connections (server.close), then fifo.close() hands the queues over.
 */
async function main (): Promise<void> {
  const s = settings()
  const log = pino(loggerOptions(s))
  const opts = await exampleOptions(log, 'npm run start:express')
  const { app, fifo, close } = exampleExpressApp(opts, log)
  await fifo.start()

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(s.port, s.host, () => resolve(listening))
    listening.once('error', reject)
  })
  closeOnSignals(log, async () => {
    const closed = new Promise((resolve) => server.close(resolve))
    server.closeIdleConnections()
    await Promise.all([closed, close()])
  })
  const base = baseUrl(s.host, (server.address() as { port: number }).port)
  log.info(`example: ready on Express. Demo page ${base}/ · dashboard ${base}/fifo · store: ${fifo.storeKind}`)
}

main().catch(failed)
