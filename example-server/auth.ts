import { createHash, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * The example's `dashboard.auth` hook (Fastify's form, and Express's below), a demo policy (write your own for production):
 *
 * - Requests from this machine (127.0.0.1, ::1) are let in, with every action:
 *   the example listens on 127.0.0.1 by default, so only you can reach it.
 * - From elsewhere (HOST=0.0.0.0), a request must carry FIFO_ADMIN_TOKEN,
 *   as `Authorization: Bearer <token>` (scripts) or as the password of HTTP
 *   Basic auth (the browser asks for it; any user name). Without
 *   FIFO_ADMIN_TOKEN set, other machines are refused.
 */
export function demoAuth (token: string | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const refusal = demoPolicy(token)
  return async (request, reply) => {
    const message = refusal(request.socket.remoteAddress, request.headers.authorization)
    if (message === null) return
    reply.header('www-authenticate', CHALLENGE)
    await reply.code(401).send({ statusCode: 401, code: 'FST_FIFO_UNAUTHORIZED', error: 'Unauthorized', message })
  }
}

/** The same policy as an Express middleware, for the Express example. */
export function demoAuthExpress (token: string | undefined): (req: Request, res: Response, next: NextFunction) => void {
  const refusal = demoPolicy(token)
  return (req, res, next) => {
    const message = refusal(req.socket.remoteAddress, req.headers.authorization)
    if (message === null) return next()
    res.set('www-authenticate', CHALLENGE).status(401).json({ statusCode: 401, code: 'FST_FIFO_UNAUTHORIZED', error: 'Unauthorized', message })
  }
}

const CHALLENGE = 'Basic realm="fastify-fifo example", charset="UTF-8"'

/** null when the caller may in, else why not. */
function demoPolicy (token: string | undefined): (remoteAddress: string | undefined, authorization: string | undefined) => string | null {
  const expected = token === undefined || token === '' ? null : digest(token)
  return (remoteAddress, authorization) => {
    if (isLoopback(remoteAddress)) return null
    const given = presentedToken(authorization)
    if (expected !== null && given !== null && timingSafeEqual(digest(given), expected)) return null
    return expected === null
      ? 'the example dashboard only answers this machine; set FIFO_ADMIN_TOKEN to let others in with it'
      : 'send FIFO_ADMIN_TOKEN as a Bearer token or as the Basic auth password'
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
