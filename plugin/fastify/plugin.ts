import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FifoCore, type Fifo, type RequestFifo } from '../core/fifo'
import { resolveOptions, type DashboardOptions as CoreDashboardOptions, type FifoOptions as CoreFifoOptions } from '../core/options'
import adminRoutes from './routes'

/**
 * Runs on every dashboard, API and metrics request. Throw (an error with a
 * statusCode) or send a reply (e.g. 401) to refuse. Callback-style hooks
 * (`(request, reply, done)`, as @fastify/basic-auth's) work too.
 */
export type FastifyAuthHook =
  ((request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown) |
  ((request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void)

// Interfaces rather than aliases, so that type errors name them plainly.
export interface DashboardOptions extends CoreDashboardOptions<FastifyAuthHook> {}
export interface FifoOptions extends Omit<CoreFifoOptions<FastifyAuthHook>, 'dashboard'> {
  /**
   * The admin API and dashboard. false turns both off.
   * @default { path: '/fifo', readOnly: false, showArgs: true }
   */
  dashboard?: false | DashboardOptions
}
export type { Fifo, RequestFifo }

declare module 'fastify' {
  interface FastifyInstance {
    fifo: Fifo
  }
  interface FastifyRequest {
    fifo: RequestFifo
  }
}

const plugin: FastifyPluginAsync<FifoOptions> = async (app: FastifyInstance, rawOptions: FifoOptions) => {
  const opts = resolveOptions(rawOptions)
  const core = await FifoCore.create(opts, app.log)

  app.decorate('fifo', core.api)
  app.decorateRequest('fifo', {
    getter (this: FastifyRequest): RequestFifo {
      return core.forRequest(String(this.id))
    },
  })

  app.addHook('onReady', async () => { core.start() })
  app.addHook('preClose', async () => { core.stopClaiming() })
  app.addHook('onClose', async () => { await core.close() })

  if (opts.dashboard !== null) {
    await app.register(adminRoutes, { prefix: opts.dashboard.path, core, dashboard: opts.dashboard })
  }
}

export const fifo = fp(plugin, { fastify: '5.x', name: 'fastify-fifo' })
