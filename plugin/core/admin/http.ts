import { STATUS_CODES } from 'node:http'
import path from 'node:path'
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
