import type { RequestFifo } from '../plugin'

/**
 * The example's HTTP routes, written once for both servers: app.ts binds them
 * to Fastify (which validates with the schemas), express-app.ts to Express
 * (which validates with Ajv and the same schemas). Paths use `:param`, which
 * Fastify and Express 4 and 5 all read the same way.
 */
export interface RouteInput {
  params: Record<string, string>
  body: any
  /** The request's fifo: enqueues carry the request id. */
  fifo: RequestFifo
}

export interface ExampleRoute {
  method: 'GET' | 'POST' | 'PUT'
  url: string
  schema?: { params?: object, body?: object }
  /** The status of a successful reply. @default 200 */
  status?: number
  handler: (input: RouteInput) => Promise<unknown>
}
