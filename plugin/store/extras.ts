/**
 * Per-task extra fields (trace context, a wait flag, …) without a new stored
 * format: they ride in the request-id field of the task record, after a TAB:
 *
 *     reqId\tkey=value\tkey=value
 *
 * A request id never holds control characters, so an old reader sees a longer
 * request id and nothing breaks; STORE_FORMAT stays. Both stores keep the
 * joined field as stored text and split it whenever a task leaves the store
 * (claims show `requestId` and `extras` apart, reads show the request id only).
 * Keep keys short: they are stored with every task that has them.
 */

import { FST_FIFO_INVALID_CALL_OPTION } from '../core/errors'

export type TaskExtras = Record<string, string>

const KEY = /^[a-z][a-z0-9_-]{0,31}$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** The refusal for a request id or extras that cannot be stored (both stores call it), or null. */
export function refuseRequestField (requestId: string | undefined, extras: TaskExtras | undefined): Error | null {
  if (requestId !== undefined && CONTROL.test(requestId)) {
    return new FST_FIFO_INVALID_CALL_OPTION('requestId', `must not contain control characters, got ${JSON.stringify(requestId)}`)
  }
  const bad = extras === undefined ? null : badExtras(extras)
  return bad === null ? null : new FST_FIFO_INVALID_CALL_OPTION('extras', bad)
}

function badExtras (extras: TaskExtras): string | null {
  for (const [key, value] of Object.entries(extras)) {
    if (!KEY.test(key)) return `extra key ${JSON.stringify(key)} must be 1-32 of a-z 0-9 _ - starting with a letter`
    if (typeof value !== 'string' || CONTROL.test(value)) return `extra ${key} must be a string without control characters`
  }
  return null
}

/** The stored request-id field: the request id (or '') then the extras. '' when there is neither. */
export function joinRequestField (requestId: string | null | undefined, extras: TaskExtras | undefined): string {
  let field = requestId ?? ''
  if (extras !== undefined) {
    for (const key in extras) field += '\t' + key + '=' + extras[key]
  }
  return field
}

/** The request id in a stored field (null when none). */
export function requestIdOf (field: string | null): string | null {
  if (field === null) return null
  const tab = field.indexOf('\t')
  if (tab < 0) return field === '' ? null : field
  return tab === 0 ? null : field.slice(0, tab)
}

/** The extras in a stored field, or undefined when it has none. Malformed parts are skipped. */
export function extrasOf (field: string | null): TaskExtras | undefined {
  if (field === null) return undefined
  let tab = field.indexOf('\t')
  if (tab < 0) return undefined
  const extras: TaskExtras = {}
  while (tab >= 0) {
    const next = field.indexOf('\t', tab + 1)
    const part = next < 0 ? field.slice(tab + 1) : field.slice(tab + 1, next)
    const eq = part.indexOf('=')
    if (eq > 0) extras[part.slice(0, eq)] = part.slice(eq + 1)
    tab = next
  }
  return extras
}
