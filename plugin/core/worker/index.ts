/**
 * The worker that runs the queues inside the server:
 * worker.ts (the Worker façade and its claim loop), leases.ts (heartbeat,
 * fencing, settling retries, sweep), queue-run.ts (one held queue, pipelined
 * acks), head-run.ts (one head: checks, timeout, abort), permits.ts (the
 * `concurrency` run permits), run-context.ts (what a handler sees),
 * shutdown.ts and state.ts (what they share).
 */
export { Worker } from './worker'
export type { WorkerOptions } from './state'
