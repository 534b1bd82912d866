import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const MAX_LENGTH = 128
const ID = Symbol('fastify-fifo.requestId')

function usable (value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH || CONTROL.test(value)) return null
  return value
}

/**
 * The request's id, in this order: `req.id` (set by pino-http,
 * express-request-id and the like), the X-Request-Id header, else a new one
 * kept on the request. An id with control characters or over 128 characters
 * is not used: it ends up in log lines and stored task records.
 */
export function requestIdOf (req: IncomingMessage & { id?: unknown, [ID]?: string }): string {
  const known = req[ID]
  if (known !== undefined) return known
  const header = req.headers['x-request-id']
  const id = usable(req.id) ?? usable(Array.isArray(header) ? undefined : header) ?? `req-${randomUUID()}`
  req[ID] = id
  return id
}
