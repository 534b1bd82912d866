import { randomBytes } from 'node:crypto'
import { errors, type Fifo, type RequestFifo } from '../plugin'
import type { Ledger } from './ledger'
import type { ExampleRoute } from './routes'
import { networkCall, runInfo } from './world'

/**
 * Workflow (c): an event chain. A sign-up creates the account; that step
 * enqueues the welcome email; that one enqueues the start of the trial. Each
 * step is its own task on the user's queue, so a failing step is retried on
 * its own, and the steps after it wait for it.
 *
 * The mail provider fails now and then (FAIL_RATE, default 0.2) so retries show
 * on the dashboard, and always for addresses containing "+fail": after three
 * attempts that user's queue halts, with the error shown, until an operator
 * retries or skips the head in the dashboard.
 */
export interface Signups {
  routes: ExampleRoute[]
  /** Starts the chain for a new user (the load generator uses it too). */
  signUp: (fifo: RequestFifo, email: string) => Promise<Record<string, unknown>>
}

export function signupRoutes (fifo: Fifo, ledger: Ledger, failRate: number): Signups {
  const record = async (userId: string, step: string, details: Record<string, unknown> = {}): Promise<void> => {
    await ledger.append(`user:${userId}`, { step, ...details, ...runInfo(), instance: fifo.instanceId })
  }

  const startTrial = fifo.define('startTrial', { queue: (userId: string) => `user:${userId}` }, async (userId: string) => {
    await networkCall()
    await record(userId, 'startTrial')
  })

  const sendWelcome = fifo.define('sendWelcome', {
    queue: (userId: string) => `user:${userId}`,
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 300, maxDelayMs: 3000 },
    onExhausted: 'halt',
  }, async (userId: string, email: string) => {
    await networkCall(30, 200)
    if (email.includes('+fail')) throw new Error(`mail provider rejected ${email}: mailbox does not exist`)
    if (Math.random() < failRate) throw new Error('mail provider timed out (a random failure; FAIL_RATE sets how often)')
    await record(userId, 'sendWelcome', { email })
    // A retry after a crash may run this again: the dedupe id makes the next step be enqueued once.
    await startTrial.with({ dedupeId: `trial:${userId}` })(userId)
  })

  const createAccount = fifo.define('createAccount', { queue: (userId: string) => `user:${userId}` }, async (userId: string, email: string) => {
    await networkCall()
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
      // Retrying cannot fix this: straight to the dead letters, and the queue goes on.
      throw new errors.FST_FIFO_UNRECOVERABLE(`"${email}" is not an email address`)
    }
    await record(userId, 'createAccount', { email })
    await sendWelcome.with({ dedupeId: `welcome:${userId}` })(userId, email)
  })

  const signUp = async (requestFifo: RequestFifo, email: string): Promise<Record<string, unknown>> => {
    const userId = randomBytes(4).toString('hex')
    const queued = await requestFifo.enqueue(createAccount, userId, email)
    return { ...queued, userId }
  }

  const routes: ExampleRoute[] = [
    {
      method: 'POST',
      url: '/signups',
      schema: {
        body: {
          type: 'object',
          required: ['email'],
          additionalProperties: false,
          properties: { email: { type: 'string', minLength: 3, maxLength: 200 } },
        },
      },
      status: 202,
      handler: async ({ body, fifo }) => await signUp(fifo, body.email),
    },
    {
      method: 'GET',
      url: '/signups/:userId',
      schema: { params: { type: 'object', required: ['userId'], properties: { userId: { type: 'string', pattern: '^[a-f0-9]{1,32}$' } } } },
      handler: async ({ params }) => ({ userId: params.userId, queue: `user:${params.userId}`, steps: await ledger.read(`user:${params.userId}`) }),
    },
  ]
  return { routes, signUp }
}
