import type { Logger } from '../plugin'
import { DEFAULT_REDIS_URL, redactUrl, redisAnswers } from './redis-probe'
import type { ExampleOptions } from './workflows'

/**
 * What `npm start` (Fastify) and `npm run start:express` share: the settings
 * from the environment, the Redis probe with its memory-store fallback, and
 * shutdown on SIGINT/SIGTERM.
 *
 *   PORT=3001 npm start        a second instance; with Redis, it shares the queues
 *   REDIS_URL=redis://…        which Redis (default redis://127.0.0.1:6379)
 *   HOST=0.0.0.0               listen beyond this machine (then set FIFO_ADMIN_TOKEN)
 *   FIFO_ADMIN_TOKEN=…         lets other machines into the dashboard (Bearer or Basic password)
 *   FIFO_PREFIX=…              key namespace (default fifo-example)
 *   FAIL_RATE=0.2              how often the welcome email fails at random (0 to 1)
 *   LOG_LEVEL=info
 */
const REDIS_PROBE_MS = 1000

function envNumber (name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return value
}

export interface Settings { port: number, host: string, logLevel: string, pretty: boolean }

export function settings (): Settings {
  return {
    port: envNumber('PORT', 3000, 0, 65535),
    host: process.env.HOST ?? '127.0.0.1',
    logLevel: process.env.LOG_LEVEL ?? 'info',
    pretty: process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json',
  }
}

/** pino options both servers log with (JSON lines, or pino-pretty on a terminal). */
export function loggerOptions (s: Settings): Record<string, unknown> {
  return {
    level: s.logLevel,
    ...(s.pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  }
}

/** Probes Redis and says in the log which store the example uses. */
export async function exampleOptions (log: Logger, startCommand: string): Promise<ExampleOptions> {
  const failRate = envNumber('FAIL_RATE', 0.2, 0, 1)
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL
  const answered = await redisAnswers(redisUrl, REDIS_PROBE_MS)
  let fallbackReason: string | null = null
  if (answered) {
    log.info(`example: using Redis at ${redactUrl(redisUrl)}; start more instances with PORT=3001 ${startCommand} to share the queues`)
  } else {
    fallbackReason = `no Redis answered at ${redactUrl(redisUrl)} within ${REDIS_PROBE_MS} ms`
    log.warn(`example: ${fallbackReason}, so the example uses the in-memory store: one instance only, and pending tasks are lost when it stops. Start Redis (or set REDIS_URL) and restart to see durable, shared queues.`)
  }
  return {
    redisUrl: answered ? redisUrl : null,
    fallbackReason,
    namespace: process.env.FIFO_PREFIX ?? 'fifo-example',
    failRate,
    adminToken: process.env.FIFO_ADMIN_TOKEN,
  }
}

/**
 * A signal closes the app: workers stop taking tasks, running ones finish (or
 * are handed over after closeTimeoutMs), then the process exits. npm passes
 * Ctrl-C on to this process as well, so one keypress can arrive twice; only a
 * second signal more than a second later forces the exit.
 */
export function closeOnSignals (log: Logger, close: () => Promise<void>): void {
  let closingSince = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closingSince !== 0) {
      if (Date.now() - closingSince > 1000) {
        log.warn(`example: ${signal} again, exiting without waiting`)
        process.exit(1)
      }
      return
    }
    closingSince = Date.now()
    log.info(`example: ${signal} received, closing (running tasks finish or are handed over)`)
    close().then(() => {
      log.info('example: closed')
      process.exitCode = 0
      // Everything is closed, so the process should end by itself now; if a stray handle keeps it alive, say so and go.
      setTimeout(() => {
        console.error('example: something still held the process open 3 s after close; exiting')
        process.exit(0)
      }, 3000).unref()
    }, (err: unknown) => {
      log.error({ err }, 'example: error while closing')
      process.exitCode = 1
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

export function baseUrl (host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export function failed (err: unknown): never {
  console.error('example: failed to start:', err)
  process.exit(1)
}
