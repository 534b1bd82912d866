/* global fetch */
/** Talks to the admin API by relative URL, so the dashboard works under any `dashboard.path`. */
export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

export async function api (path, { method = 'GET', body, signal } = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' }, signal }
  if (method !== 'GET') {
    // Actions take JSON only: the server refuses anything else (415), which is
    // what keeps a cross-site form from triggering them.
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body ?? {})
  }
  let res
  try {
    res = await fetch(path, init)
  } catch (err) {
    if (err && err.name === 'AbortError') throw err
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Retrying…')
  }
  const text = await res.text()
  let data = null
  try {
    data = text === '' ? null : JSON.parse(text)
  } catch {
    data = null
  }
  if (!res.ok) {
    throw new ApiError(res.status, data?.code ?? `HTTP_${res.status}`, data?.message ?? `${res.status} ${res.statusText}`)
  }
  return data
}

export function queuePath (name, suffix = '') {
  return `api/queues/${encodeURIComponent(name)}${suffix}`
}

export function withQuery (path, params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  }
  const s = q.toString()
  return s === '' ? path : `${path}?${s}`
}
