import { readFile } from 'node:fs/promises'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preParsingAsyncHookHandler } from 'fastify'
import { FST_FIFO_INVALID_REQUEST, FST_FIFO_UNSUPPORTED_MEDIA_TYPE } from '../core/errors'
import type { FifoCore } from '../core/fifo'
import type { ResolvedDashboard } from '../core/options'
import { apiRoutes } from '../core/admin/api'
import { authRefusalBody, errorBody, guardAction as checkAction, isDataUrl, notFoundError, readOnlyReason, securityHeaders, thrownErrorBody, UI_ROOT, type ErrorBody } from '../core/admin/http'
import { registerLongParamFallbacks, type RunRoute } from './long-params'
import { schemas } from '../core/admin/schemas'

export interface AdminOptions {
  core: FifoCore
  dashboard: ResolvedDashboard
}

/**
 * The admin JSON API (`<path>/api/*`), Prometheus metrics (`<path>/metrics`)
 * and the dashboard's static files (`<path>/`). Registered by the fifo plugin
 * with `prefix: dashboard.path` and NOT wrapped with fastify-plugin: its hooks,
 * error handler, not-found handler and @fastify/static stay inside this context
 * and never touch the host app's routes.
 */
export default async function adminRoutes (app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { dashboard } = opts
  const refusal = readOnlyReason(dashboard)
  if (refusal !== null) {
    const where = `${app.prefix || '/'}`
    if (dashboard.auth == null) {
      app.log.warn(`fastify-fifo: the admin API at ${where} is read-only and readable by anyone who can reach it: ${refusal}`)
    } else {
      app.log.info(`fastify-fifo: the admin API at ${where} is read-only: ${refusal}`)
    }
  }

  // Security headers first, so even refusals carry them.
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(securityHeaders(isDataUrl(request.url)))
  })

  const auth = dashboard.auth ?? null
  if (auth !== null) {
    // Runs on every request in this context: API, metrics, static files and 404s.
    app.addHook('onRequest', async (request, reply) => {
      try {
        if (auth.length >= 3) {
          // Callback-style hooks such as @fastify/basic-auth's `fastify.basicAuth` and @fastify/auth's.
          const callbackHook = auth as unknown as (req: FastifyRequest, rep: FastifyReply, done: (err?: unknown) => void) => void
          await new Promise<void>((resolve, reject) => {
            callbackHook(request, reply, (err?: unknown) => { if (err !== undefined && err !== null) reject(err); else resolve() })
          })
        } else {
          await (auth as (req: FastifyRequest, rep: FastifyReply) => unknown)(request, reply)
        }
      } catch (err) {
        if (reply.sent) return reply
        const body = authRefusalBody(err, String(request.id))
        if (body.statusCode >= 500) request.log.error({ err }, 'fastify-fifo: dashboard.auth failed')
        return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
      }
      if (reply.sent) return reply
    })
  }

  const notFound = (request: FastifyRequest): Error => notFoundError(request.method, request.url)

  app.setNotFoundHandler(async (request, reply) => {
    const err = notFound(request) as FastifyError
    return reply.code(404).send(errorBody(404, err.code, err.message))
  })

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const body = toErrorBody(error, request)
    if (body.statusCode >= 500) request.log.error({ err: error }, 'fastify-fifo: admin API request failed')
    else request.log.info({ code: body.code, message: body.message }, 'fastify-fifo: admin API request refused')
    // A serializer set for a success reply must not format the error.
    return reply.code(body.statusCode).serializer(JSON.stringify).type('application/json; charset=utf-8').send(body)
  })

  // Read-only and content-type checks run before the body is parsed, so a form
  // post is refused with our 415 rather than a parser error, and a refused
  // action never reads its body.
  const guardAction: preParsingAsyncHookHandler = async (request, _reply, payload) => {
    checkAction(refusal, request.headers['content-type'])
    return payload
  }

  const routes = apiRoutes(opts.core.adminContext(refusal))
  const run: RunRoute = async (route, request, reply, input) => {
    const result = await route.handler({ ...input, requestId: String(request.id), log: request.log })
    if (route.produces !== undefined) reply.type(route.produces)
    return result
  }

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      bodyLimit: route.mutates ? 4096 : undefined,
      preParsing: route.mutates ? guardAction : undefined,
      handler: async (request, reply) => await run(route, request, reply, {
        params: request.params as Record<string, string>,
        query: request.query as Record<string, unknown>,
        body: request.body,
      }),
    })
  }
  registerLongParamFallbacks(app, routes, run, { preParsing: guardAction }, notFound)

  // The page loads its assets by relative URL, so it is served at `<path>/`
  // only, and `<path>` redirects there.
  const indexHtml = await readFile(path.join(UI_ROOT, 'index.html'))
  const page = { schema: { ...schemas.page, hide: true } as object }
  const sendIndex = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => await reply.type('text/html; charset=utf-8').send(indexHtml)
  const base = app.prefix.replace(/\/$/, '')
  if (base === '') {
    app.get('/', page, sendIndex) // dashboard.path '/': nothing to redirect
  } else {
    app.get('/', { ...page, prefixTrailingSlash: 'slash' }, sendIndex)
    app.get('/', { ...page, prefixTrailingSlash: 'no-slash' }, async (request, reply) => {
      const query = request.url.indexOf('?')
      return await reply.redirect(base + '/' + (query === -1 ? '' : request.url.slice(query)), 302)
    })
  }
  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: '/',
    decorateReply: false,
    wildcard: false,
    index: false,
    cacheControl: false,
    dotfiles: 'ignore',
    serveDotFiles: false,
  })
}

function toErrorBody (error: FastifyError, request: FastifyRequest): ErrorBody {
  const code = typeof error.code === 'string' ? error.code : ''
  if (error.validation !== undefined) {
    return errorBody(400, 'FST_FIFO_INVALID_REQUEST', new FST_FIFO_INVALID_REQUEST(`${error.validationContext ?? 'request'}${error.message.replace(/^(body|querystring|params)/, '')}`).message)
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request.headers['content-type']
    return errorBody(415, 'FST_FIFO_UNSUPPORTED_MEDIA_TYPE', new FST_FIFO_UNSUPPORTED_MEDIA_TYPE(JSON.stringify(String(type).slice(0, 100))).message)
  }
  // Our own refusals, body parser refusals (empty or malformed JSON, too
  // large), and anything else as the store failing.
  return thrownErrorBody(error, String(request.id))
}
