import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * The example's `dashboard.auth` hook, a demo policy (write your own for production):
 *
 * - Requests from this machine (127.0.0.1, ::1) are let in, with every action:
 *   the example listens on 127.0.0.1 by default, so only you can reach it.
 * - From elsewhere (HOST=0.0.0.0), a request must carry FIFO_ADMIN_TOKEN,
 *   as `Authorization: Bearer <token>` (scripts) or as the password of HTTP
 *   Basic auth (the browser asks for it; any user name). Without
 *   FIFO_ADMIN_TOKEN set, other machines are refused.
 */
export function demoAuth (token: string | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = token === undefined || token === '' ? null : digest(token)
  return async (request, reply) => {
    if (isLoopback(request.socket.remoteAddress)) return
    const given = presentedToken(request.headers.authorization)
    if (expected !== null && given !== null && timingSafeEqual(digest(given), expected)) return
    reply.header('www-authenticate', 'Basic realm="fastify-fifo example", charset="UTF-8"')
    await reply.code(401).send({
      statusCode: 401,
      code: 'FST_FIFO_UNAUTHORIZED',
      error: 'Unauthorized',
      message: expected === null
        ? 'the example dashboard only answers this machine; set FIFO_ADMIN_TOKEN to let others in with it'
        : 'send FIFO_ADMIN_TOKEN as a Bearer token or as the Basic auth password',
    })
  }
}

function digest (text: string): Buffer {
  // Equal-length inputs for timingSafeEqual, whatever the token's length.
  return createHash('sha256').update(text).digest()
}

function isLoopback (address: string | undefined): boolean {
  if (address === undefined) return false
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

function presentedToken (header: string | undefined): string | null {
  if (header === undefined) return null
  const [scheme, value] = header.split(' ', 2)
  if (value === undefined) return null
  if (scheme.toLowerCase() === 'bearer') return value
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon === -1 ? null : decoded.slice(colon + 1)
  }
  return null
}
