import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { parse as parseQuery } from 'node:querystring'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { FifoCore } from '../core/fifo'
import type { Logger } from '../core/log'
import type { ResolvedDashboard } from '../core/options'
import { apiRoutes, type AdminRoute } from '../core/admin/api'
import { authRefusalBody, guardAction, isDataUrl, matchSegments, notFoundError, securityHeaders, thrownErrorBody, UI_ROOT, type ErrorBody } from '../core/admin/http'
import { readJsonBody, send, staticFiles } from './http-io'
import { check, compileValidator, serialize, type Validator } from './schema-io'

/** The Express form of dashboard.auth: a middleware. Call next() to let the request through; next(err) or a reply of its own refuses it. */
export type ExpressAuth = (req: Request, res: Response, next: NextFunction) => unknown

const JSON_TYPE = 'application/json; charset=utf-8'
const BODY_LIMIT = 4096

interface CompiledRoute {
  route: AdminRoute
  method: string
  segments: string[]
  params?: Validator
  query: Validator
  body?: Validator
  response: Record<string, unknown>
}

export interface AdminHandlerOptions {
  core: FifoCore
  dashboard: ResolvedDashboard
  refusal: string | null
  log: Logger
  requestId: (req: Request) => string
}

/**
 * The admin JSON API, metrics and dashboard as one Express middleware, for
 * `app.use('/fifo', fifo.router())`. It routes by itself on the raw
 * (still percent-encoded) path relative to its mount, so Express 4 and 5 path
 * syntaxes never matter, "/" in a queue name arrives as %2F intact, and a
 * 256-character name is just a segment. Every reply is the one the Fastify
 * plugin gives for the same request: same schemas, codes and bodies.
 */
export function adminHandler (opts: AdminHandlerOptions): RequestHandler {
  const { refusal } = opts
  const auth = opts.dashboard.auth as ExpressAuth | null
  const routes = apiRoutes(opts.core.adminContext(refusal)).map(compile)
  const files = staticFiles()
  const indexHtml = readFileSync(path.join(UI_ROOT, 'index.html'))

  async function serve (req: Request, res: Response, next: NextFunction, requestId: string, log: Logger): Promise<void> {
    const url = req.url
    const mark = url.indexOf('?')
    const pathname = mark === -1 ? url : url.slice(0, mark)
    const rawQuery = mark === -1 ? '' : url.slice(mark + 1)
    for (const [name, value] of Object.entries(securityHeaders(isDataUrl(url)))) res.setHeader(name, value)

    if (auth !== null) {
      try {
        await runAuth(auth, req, res)
      } catch (err) {
        if (res.headersSent) return
        const body = authRefusalBody(err, requestId)
        if (body.statusCode >= 500) log.error({ err }, 'fastify-fifo: dashboard.auth failed')
        sendError(res, body)
        return
      }
      if (res.headersSent || res.writableEnded) return
    }

    const method = req.method === 'HEAD' ? 'GET' : req.method
    if (pathname === '/' && method === 'GET') {
      const original = req.originalUrl.split('?')[0]
      if (req.baseUrl !== '' && !original.endsWith('/')) {
        res.statusCode = 302
        res.setHeader('location', req.baseUrl + '/' + (mark === -1 ? '' : url.slice(mark)))
        res.end()
        return
      }
      send(res, 200, 'text/html; charset=utf-8', indexHtml)
      return
    }

    const segments = pathname.split('/').slice(1)
    for (const compiled of routes) {
      if (compiled.method !== method) continue
      const params = matchSegments(compiled.segments, segments)
      if (params === null) continue
      await runRoute(compiled, req, res, { params, rawQuery, requestId, log })
      return
    }

    if (method === 'GET') {
      const file = await files(pathname)
      if (file !== null) {
        send(res, 200, file.type, file.body)
        return
      }
    }
    // Mounted at the root, everything else belongs to the host app.
    if (req.baseUrl === '') {
      next()
      return
    }
    throw notFoundError(req.method, req.originalUrl)
  }

  async function runRoute (compiled: CompiledRoute, req: Request, res: Response, input: { params: Record<string, string>, rawQuery: string, requestId: string, log: Logger }): Promise<void> {
    const { route } = compiled
    let body: unknown
    if (route.mutates) {
      guardAction(refusal, req.headers['content-type'])
      body = await readJsonBody(req as IncomingMessage & { body?: unknown, _body?: boolean }, BODY_LIMIT)
    }
    // Fastify's order: params, body, querystring.
    check(compiled.params, input.params)
    check(compiled.body, body)
    const query: Record<string, unknown> = { ...parseQuery(input.rawQuery) }
    check(compiled.query, query)
    const result = await route.handler({ params: input.params, query, body, requestId: input.requestId, log: input.log })
    if (route.produces !== undefined) {
      send(res, 200, route.produces, String(result))
      return
    }
    send(res, 200, JSON_TYPE, serialize(compiled.response, result))
  }

  return function fifoAdmin (req: Request, res: Response, next: NextFunction): void {
    const requestId = opts.requestId(req)
    const log = opts.log.child({ reqId: requestId })
    serve(req, res, next, requestId, log).catch((error: unknown) => {
      const body = thrownErrorBody(error, requestId)
      if (body.statusCode >= 500) log.error({ err: error }, 'fastify-fifo: admin API request failed')
      else log.info({ code: body.code, message: body.message }, 'fastify-fifo: admin API request refused')
      if (res.headersSent) {
        res.destroy()
        return
      }
      // A body left unread (a refused action) must not be taken for the next request on this connection.
      if (!req.complete) res.setHeader('connection', 'close')
      sendError(res, body)
    })
  }
}

function sendError (res: ServerResponse, body: ErrorBody): void {
  send(res, body.statusCode, JSON_TYPE, JSON.stringify(body))
}

function compile (route: AdminRoute): CompiledRoute {
  const { schema } = route
  return {
    route,
    method: route.method,
    segments: route.url.split('/').slice(1),
    params: schema.params === undefined ? undefined : compileValidator('params', schema.params),
    query: compileValidator('querystring', schema.querystring ?? { type: 'object' }),
    body: schema.body === undefined ? undefined : compileValidator('body', schema.body),
    response: (schema.response[200] ?? {}) as Record<string, unknown>,
  }
}

/**
 * Runs the auth middleware. Resolves when it lets the request through
 * (next(), or an `async (req, res)` hook that returns without replying, or
 * one that replied: the caller checks); rejects with what it refused with.
 */
async function runAuth (auth: ExpressAuth, req: Request, res: Response): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let settled = false
    const done = (err?: unknown): void => {
      if (settled) return
      settled = true
      res.off('finish', onEnd)
      res.off('close', onEnd)
      if (err === undefined || err === null || err === 'route' || err === 'router') resolve()
      else reject(err)
    }
    // A middleware that answers without calling next() ends the wait too.
    const onEnd = (): void => { done() }
    res.once('finish', onEnd)
    res.once('close', onEnd)
    let returned: unknown
    try {
      returned = auth(req, res, done)
    } catch (err) {
      done(err)
      return
    }
    const promise = returned !== null && typeof returned === 'object' && typeof (returned as Promise<unknown>).then === 'function' ? returned as Promise<unknown> : null
    if (auth.length < 3) {
      // `(req, res) => …` or `async (req, res) => …`: returning is letting through.
      if (promise === null) done()
      else promise.then(() => { done() }, (err: unknown) => { done(err ?? new Error('refused')) })
    } else if (promise !== null) {
      promise.then(undefined, (err: unknown) => { done(err ?? new Error('refused')) })
    } else if (res.headersSent) {
      done()
    }
  })
}
