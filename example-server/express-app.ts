import Ajv, { type ValidateFunction } from 'ajv'
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express'
import { createFifo, type ExpressFifo, type Logger } from '../plugin/express'
import { demoAuthExpress } from './auth'
import { exampleWorkflows, fifoOptions, PAGE, type ExampleOptions } from './workflows'

/**
 * The example on Express: the same workflows, demo page and dashboard as the
 * Fastify one (app.ts). Call `fifo.start()` once this returns, and
 * `close()` on shutdown.
 */
export function exampleExpressApp (opts: ExampleOptions, logger: Logger): { app: Express, fifo: ExpressFifo, close: () => Promise<void> } {
  const fifo = createFifo({ ...fifoOptions(opts), logger, dashboard: { auth: demoAuthExpress(opts.adminToken) } })
  const { routes, ledger } = exampleWorkflows(fifo, opts, 'express')

  const app = express()
  app.disable('x-powered-by')
  app.use(fifo.middleware())
  app.use('/fifo', fifo.router())
  // Task arguments (order ids, emails) are small; keep request bodies small too.
  const json = express.json({ limit: '64kb' })
  const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, strict: false })
  for (const route of routes) {
    const params = route.schema?.params === undefined ? null : ajv.compile(route.schema.params)
    const body = route.schema?.body === undefined ? null : ajv.compile(route.schema.body)
    const handler: RequestHandler = (req, res, next) => {
      const refusal = invalid(params, req.params, 'params') ?? invalid(body, req.body ?? {}, 'body')
      if (refusal !== null) {
        res.status(400).json({ statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: refusal })
        return
      }
      route.handler({ params: req.params as Record<string, string>, body: req.body, fifo: req.fifo })
        .then((result) => { res.status(route.status ?? 200).json(result) }, next)
    }
    app[route.method === 'GET' ? 'get' : route.method === 'PUT' ? 'put' : 'post'](route.url, json, handler)
  }
  app.get('/', (_req, res) => { res.type('html').send(PAGE) })

  // Refusals (a bad task argument, a closed instance) with their status; anything else is a 500 logged here.
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.statusCode === 'number' ? err.statusCode : typeof err?.status === 'number' ? err.status : 500
    if (status >= 500) logger.error({ err }, 'example: request failed')
    res.status(status).json({ statusCode: status, code: err?.code ?? 'ERROR', error: status >= 500 ? 'Internal Server Error' : 'Bad Request', message: status >= 500 ? 'see the server log' : String(err?.message) })
  }
  app.use(onError)

  return { app, fifo, close: async () => { await fifo.close(); await ledger.close() } }
}

function invalid (validate: ValidateFunction | null, value: unknown, part: string): string | null {
  if (validate === null || validate(value)) return null
  const first = validate.errors?.[0]
  return `${part}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`
}
