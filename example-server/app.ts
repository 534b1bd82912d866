import type { FastifyInstance } from 'fastify'
import fifo from '../plugin'
import { demoAuth } from './auth'
import { exampleWorkflows, fifoOptions, PAGE, type ExampleOptions } from './workflows'

export type { ExampleOptions }

/** The example on Fastify: the fifo plugin, its dashboard at /fifo, the workflows' routes and a demo page at /. */
export async function exampleApp (app: FastifyInstance, opts: ExampleOptions): Promise<void> {
  await app.register(fifo, { ...fifoOptions(opts), dashboard: { path: '/fifo', auth: demoAuth(opts.adminToken) } })

  const { routes, ledger } = exampleWorkflows(app.fifo, opts, 'fastify')
  app.addHook('onClose', async () => { await ledger.close() })
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      handler: async (request, reply) => {
        const result = await route.handler({ params: request.params as Record<string, string>, body: request.body, fifo: request.fifo })
        return reply.code(route.status ?? 200).send(result)
      },
    })
  }
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
}
