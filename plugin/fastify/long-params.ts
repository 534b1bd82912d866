import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { FST_FIFO_INVALID_REQUEST } from '../core/errors'
import type { AdminRoute } from '../core/admin/api'
import { matchSegments } from '../core/admin/http'

/** Runs an admin route for a Fastify request (see routes.ts). */
export type RunRoute = (route: AdminRoute, request: FastifyRequest, reply: FastifyReply, input: { params: Record<string, string>, query: Record<string, unknown>, body: unknown }) => Promise<unknown>

/**
 * Queue names may be 256 characters (task ids may be longer), but Fastify's
 * router refuses a path parameter longer than the host app's `maxParamLength`
 * (100 by default) and answers 404. Rather than ask every user to raise a
 * server-wide option, each parametric route gets a wildcard sibling: the
 * router falls back to it only when the `:param` route did not match, and it
 * matches the raw (still percent-encoded) path against the same route table,
 * validates with the same schemas and serializes with the same response schema.
 */
export function registerLongParamFallbacks (
  app: FastifyInstance,
  routes: AdminRoute[],
  run: RunRoute,
  hooks: { preParsing: NonNullable<Parameters<FastifyInstance['route']>[0]['preParsing']> },
  notFound: (request: FastifyRequest) => Error
): void {
  const groups = new Map<string, { method: AdminRoute['method'], base: string, routes: AdminRoute[] }>()
  for (const route of routes) {
    const colon = route.url.indexOf('/:')
    if (colon === -1) continue
    const base = route.url.slice(0, colon + 1)
    const key = `${route.method} ${base}`
    const group = groups.get(key) ?? { method: route.method, base, routes: [] }
    group.routes.push(route)
    groups.set(key, group)
  }

  for (const { method, base, routes: candidates } of groups.values()) {
    const mutates = candidates.some((r) => r.mutates)
    app.route({
      method,
      url: `${base}*`,
      schema: { hide: true } as object,
      bodyLimit: mutates ? 4096 : undefined,
      preParsing: mutates ? hooks.preParsing : undefined,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const rawPath = request.url.split('?')[0]
        const start = rawPath.indexOf(base, app.prefix.length)
        if (start === -1) throw notFound(request)
        const segments = rawPath.slice(start + base.length).split('/')
        for (const route of candidates) {
          const params = matchSegments(route.url.slice(base.length).split('/'), segments)
          if (params === null) continue
          const query = { ...(request.query as Record<string, unknown>) }
          check(request, route.schema.params, params, 'params')
          check(request, route.schema.querystring, query, 'querystring')
          const body = request.body ?? {}
          check(request, route.schema.body, body, 'body')
          const result = await run(route, request, reply, { params, query, body })
          if (typeof result === 'string') return result
          const serialize = reply.compileSerializationSchema(route.schema.response[200] as Record<string, unknown>, '200')
          reply.type('application/json; charset=utf-8').serializer(serialize)
          return result
        }
        throw notFound(request)
      },
    })
  }
}

function check (request: FastifyRequest, schema: object | undefined, value: unknown, part: 'params' | 'querystring' | 'body'): void {
  if (schema === undefined) return
  const validate = request.compileValidationSchema(schema as Record<string, unknown>, part)
  if (validate(value) !== true) {
    const first = validate.errors?.[0]
    const where = part + (first?.instancePath ?? '')
    throw new FST_FIFO_INVALID_REQUEST(`${where} ${first?.message ?? 'is invalid'}`)
  }
}
