// `fastify-fifo/express`: the Express adapter, and everything both adapters share.
// It never loads express at run time (only its types), so it works with
// whichever Express 4 or 5 the app has.
export { createFifo } from './fifo'
export type { ExpressFifo, ExpressFifoOptions, ExpressDashboardOptions, ExpressAuth, Fifo, RequestFifo } from './fifo'
export { taskContext } from '../core/registry'
export * from '../core/errors'
export type { Logger } from '../core/log'
export type { TaskOutcome, WaitedTask, WaitOptions } from '../core/wait'
export type { Task, TaskOptions, TaskContext, LimiterGrant, CallOptions, EnqueuedTask, BackoffOptions } from '../core/registry'
export type * from '../store/store'
export { MemoryStore } from '../store/memory'
export { RedisStore } from '../store/redis/redis-store'
export { task, bindTasks, taskOf } from '../decorator'
export type { TaskMethodOptions, TaskMethod, TaskMethodKeys } from '../decorator'
