import { STATUS_CODES } from 'node:http'
import path from 'node:path'
import { FST_FIFO_INVALID_REQUEST, FST_FIFO_NOT_FOUND, FST_FIFO_READ_ONLY, FST_FIFO_STORE_FAILED, FST_FIFO_UNAUTHORIZED, FST_FIFO_UNSUPPORTED_MEDIA_TYPE } from '../errors'
import type { ResolvedDashboard } from '../options'

/**
 * What both adapters (Fastify, Express) serve the same way: the dashboard's
 * files, its security headers, the error body and the read-only rule.
 */

const { version } = require('../../../package.json') as { version: string }
export const VERSION = version

/** The dashboard's static files; works from plugin/core/admin (tsx, tests) and from dist/core/admin alike. */
export const UI_ROOT = path.join(__dirname, '..', '..', '..', 'ui')

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ')

/** Headers on every admin response, refusals included. `isData`: API and metrics (never cached). */
export function securityHeaders (isData: boolean): Record<string, string> {
  return {
    'cache-control': isData ? 'no-store' : 'no-cache',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  }
}

/** True for a URL (relative to anything) that asks for API data or metrics rather than a dashboard file. */
export function isDataUrl (url: string): boolean {
  return url.includes('/api/') || url.endsWith('/api') || url.split('?')[0].endsWith('/metrics')
}

export interface ErrorBody { statusCode: number, code: string, error: string, message: string }

export function errorBody (statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

export function isJsonMediaType (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  return contentType.split(';')[0].trim().toLowerCase() === 'application/json'
}

/**
 * Why actions are refused, or null when allowed. `authExample` is the adapter's
 * own hook shape, shown in the message.
 */
export function readOnlyReason (dashboard: ResolvedDashboard, authExample = 'async (request, reply) => { /* refuse unless the caller is an operator */ }'): string | null {
  if (dashboard.readOnly) return 'the option dashboard.readOnly is true; set it to false (with a dashboard.auth hook) to enable pause, resume, retry, skip, requeue and delete'
  if (dashboard.auth == null) return `no dashboard.auth hook is set; pass dashboard: { auth: ${authExample} } to fastify-fifo to enable pause, resume, retry, skip, requeue and delete`
  return null
}

/**
 * The error body for anything an admin route threw: its own FST_FIFO_* refusal,
 * a 4xx from body parsing as FST_FIFO_INVALID_REQUEST, and anything else as
 * the store failing (503; the details go to the log only: they may name hosts).
 */
export function thrownErrorBody (error: unknown, requestId: string): ErrorBody {
  const e = (error ?? {}) as { code?: unknown, statusCode?: unknown, message?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  const message = typeof e.message === 'string' ? e.message : String(error)
  if (code.startsWith('FST_FIFO_') && status < 500) return errorBody(status, code, message)
  if (code === 'FST_FIFO_REDIS_UNAVAILABLE') return errorBody(503, code, 'Redis is unavailable; see the server log')
  if (status >= 400 && status < 500) return errorBody(status, 'FST_FIFO_INVALID_REQUEST', new FST_FIFO_INVALID_REQUEST(message).message)
  return errorBody(503, 'FST_FIFO_STORE_FAILED', new FST_FIFO_STORE_FAILED(`see the server log for request ${requestId}`).message)
}

/** The body for a refusal by the dashboard.auth hook: its statusCode (401 unless it set 4xx/5xx); a 5xx says no more than the request id. */
export function authRefusalBody (error: unknown, requestId: string): ErrorBody {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  const statusCode = typeof status === 'number' && status >= 400 && status <= 599 ? status : 401
  let message = error instanceof Error ? error.message : 'refused'
  if (statusCode >= 500) message = `the hook failed (request ${requestId}; see the server log)`
  return errorBody(statusCode, 'FST_FIFO_UNAUTHORIZED', new FST_FIFO_UNAUTHORIZED(message).message)
}

/** The 404 for a path no admin route serves. */
export function notFoundError (method: string, url: string): Error {
  const target = url.length > 200 ? url.slice(0, 200) + '…' : url
  return new FST_FIFO_NOT_FOUND(`no fastify-fifo admin route ${method} ${target} (queue names and task ids must be URL-encoded, "/" as %2F)`)
}

/**
 * Runs before an action reads its body: refuses when read-only (`refusal`),
 * then anything but a JSON body (a cross-site form cannot send one).
 */
export function guardAction (refusal: string | null, contentType: string | undefined): void {
  if (refusal !== null) throw new FST_FIFO_READ_ONLY(refusal)
  if (!isJsonMediaType(contentType)) {
    throw new FST_FIFO_UNSUPPORTED_MEDIA_TYPE(contentType === undefined ? 'none (send Content-Type: application/json and a JSON object body, {} when empty)' : JSON.stringify(contentType.slice(0, 100)))
  }
}

/**
 * Matches route segments like ['api', 'queues', ':queue'] against a raw
 * (still percent-encoded) path's segments, decoding the parameters; null when
 * it does not match. Bad percent-encoding is a FST_FIFO_INVALID_REQUEST.
 */
export function matchSegments (pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i]
    if (part.startsWith(':')) {
      if (segments[i] === '') return null
      try {
        params[part.slice(1)] = decodeURIComponent(segments[i])
      } catch {
        throw new FST_FIFO_INVALID_REQUEST(`path parameter ${part.slice(1)} is not valid percent-encoding`)
      }
    } else if (part !== segments[i]) {
      return null
    }
  }
  return params
}
