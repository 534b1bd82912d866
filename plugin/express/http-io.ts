import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { FST_FIFO_INVALID_REQUEST } from '../core/errors'
import { UI_ROOT } from '../core/admin/http'

/**
 * The Express adapter's plain-HTTP parts, written against Node's own request
 * and response so they behave the same under Express 4 and 5: the JSON body
 * of an action, replies, and the dashboard's static files.
 */

/** A refusal with an HTTP status (the Fastify body parser's refusals, as Fastify words them). */
function refused (statusCode: number, message: string): Error {
  const err = new FST_FIFO_INVALID_REQUEST(message) as Error & { statusCode: number }
  err.statusCode = statusCode
  return err
}

/**
 * Reads an action's JSON body, at most `limit` bytes. A body an earlier
 * middleware (express.json()) already parsed is taken as it is.
 */
export async function readJsonBody (req: IncomingMessage & { body?: unknown, _body?: boolean }, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw refused(413, 'Request body is too large')
  // body-parser 1 (Express 4) marks req._body; 2 (Express 5) just leaves the stream read.
  if (req._body === true || req.readableEnded) {
    if (req.body === undefined || req.body === null) throw refused(400, "Body cannot be empty when content-type is set to 'application/json'")
    return req.body
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw refused(413, 'Request body is too large')
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw refused(400, "Body cannot be empty when content-type is set to 'application/json'")
  // Fastify's JSON parser (secure-json-parse) also refuses __proto__ and
  // constructor.prototype keys, with the same message as for bad JSON.
  let body: unknown
  try {
    body = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)) throw new SyntaxError('forbidden key')
      return value
    })
  } catch {
    throw refused(400, "Body is not valid JSON but content-type is set to 'application/json'")
  }
  return body
}

/** Ends the response with `body` (HEAD requests get the headers only: Node drops the body). */
export function send (res: ServerResponse, statusCode: number, contentType: string, body: string | Buffer): void {
  res.statusCode = statusCode
  res.setHeader('content-type', contentType)
  res.setHeader('content-length', Buffer.byteLength(body))
  res.end(body)
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
}

export interface StaticFile { type: string, body: Buffer }

/**
 * The dashboard's files (ui/), read once and kept: a handful of small files.
 * `pathname` is the raw request path relative to the mount; null when it
 * names no file (dot files, `..`, directories, unknown types are never served).
 */
export function staticFiles (): (pathname: string) => Promise<StaticFile | null> {
  const cache = new Map<string, Promise<StaticFile | null>>()
  return async (pathname) => {
    let decoded: string
    try {
      decoded = decodeURIComponent(pathname)
    } catch {
      return null
    }
    const parts = decoded.split('/').filter((p) => p !== '')
    if (parts.length === 0 || parts.some((p) => p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return null
    const type = TYPES[path.extname(decoded).toLowerCase()]
    if (type === undefined) return null
    const file = path.join(UI_ROOT, ...parts)
    if (!file.startsWith(UI_ROOT + path.sep)) return null
    let entry = cache.get(file)
    if (entry === undefined) {
      // Only files that exist stay cached, so unknown paths cannot grow the cache.
      entry = readFile(file).then((body) => ({ type, body }), () => { cache.delete(file); return null })
      cache.set(file, entry)
    }
    return await entry
  }
}
