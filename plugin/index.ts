// The package's main entry: the Fastify plugin, and everything both adapters share.
// Express users import 'fastify-fifo/express'.
import { fifo } from './fastify/plugin'

export { fifo }
export default fifo
export type { FifoOptions, DashboardOptions, FastifyAuthHook, Fifo, RequestFifo } from './fastify/plugin'
export { taskContext } from './core/registry'
export * from './core/errors'
export type { LimiterOptions, LimiterDefinition } from './core/limits'
export type { Logger } from './core/log'
export type { TaskOutcome, WaitedTask, WaitOptions } from './core/wait'
export type { Task, TaskOptions, TaskContext, LimiterGrant, CallOptions, EnqueuedTask, BackoffOptions } from './core/registry'
export type * from './store/store'
export { MemoryStore } from './store/memory'
export { RedisStore } from './store/redis/redis-store'
export { task, bindTasks, taskOf } from './decorator'
export type { TaskMethodOptions, TaskMethod, TaskMethodKeys } from './decorator'

// CommonJS: require('fastify-fifo') is the plugin itself, with every named export on it (Fastify plugin convention).
module.exports = Object.assign(fifo, module.exports)
