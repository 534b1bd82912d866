import Fastify from 'fastify'
import { exampleApp } from './app'
import { baseUrl, closeOnSignals, exampleOptions, failed, loggerOptions, settings } from './boot'

/**
 * `npm start`: the fastify-fifo example on Fastify, http://127.0.0.1:3000
 * (dashboard at /fifo). `npm run start:express` runs the same on Express.
 * Environment: see boot.ts.
 */
async function main (): Promise<void> {
  const s = settings()
  const app = Fastify({
    logger: loggerOptions(s),
    // Task arguments (order ids, emails) are small; keep request bodies small too.
    bodyLimit: 64 * 1024,
  })
  const opts = await exampleOptions(app.log, 'npm start')
  await app.register(exampleApp, opts)
  closeOnSignals(app.log, async () => { await app.close() })

  await app.listen({ port: s.port, host: s.host })
  const base = baseUrl(s.host, (app.server.address() as { port: number }).port)
  app.log.info(`example: ready. Demo page ${base}/ · dashboard ${base}/fifo · store: ${opts.redisUrl === null ? 'memory' : 'redis'}`)
}

main().catch(failed)
