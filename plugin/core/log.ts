/**
 * The logger the core writes to: the subset of pino's interface it uses, so
 * Fastify's `app.log`, a pino logger an Express app passes, or anything shaped
 * like them fits. The core never imports a logging library.
 */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

export interface Logger {
  error: LogFn
  warn: LogFn
  info: LogFn
  debug: LogFn
  child (bindings: Record<string, unknown>): Logger
}

const noop = (): void => {}

/**
 * The default when no logger is given: warnings and errors go to stderr as one
 * JSON line each (a queue that halts must not go unnoticed), info and debug
 * are dropped.
 */
export function quietLogger (bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (objOrMsg: object | string, msg?: string): void => {
    const line = typeof objOrMsg === 'string'
      ? { level, ...bindings, msg: objOrMsg }
      : { level, ...bindings, ...errorsAsText(objOrMsg), msg }
    process.stderr.write(JSON.stringify(line) + '\n')
  }
  return {
    error: write('error') as LogFn,
    warn: write('warn') as LogFn,
    info: noop as LogFn,
    debug: noop as LogFn,
    child: (more) => quietLogger({ ...bindings, ...more }),
  }
}

function errorsAsText (obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(obj)) out[key] = value instanceof Error ? `${value.name}: ${value.message}` : value
  return out
}

/** True when `value` looks like a pino-compatible logger (checked at the option boundary). */
export function isLogger (value: unknown): value is Logger {
  if (value === null || typeof value !== 'object') return false
  const v = value as Record<string, unknown>
  return ['error', 'warn', 'info', 'debug', 'child'].every((k) => typeof v[k] === 'function')
}
