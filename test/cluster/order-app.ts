// A server process for order.test.ts: fastify-fifo on a Redis Cluster with
// partitions: 12, a `step` handler that reports each run's start and end to
// the parent over IPC, and enqueues on the parent's request.
import Fastify from 'fastify'
import fifo from '../../plugin'

interface Config { inst: string, nodes: Array<{ host: string, port: number }>, prefix: string }

async function main (): Promise<void> {
  const cfg = JSON.parse(process.argv[2]) as Config
  const send = (msg: unknown): void => { process.send?.(msg) }
  const app = Fastify({ logger: false })
  await app.register(fifo, { redis: { cluster: cfg.nodes }, partitions: 12, prefix: cfg.prefix, instanceId: cfg.inst, concurrency: 16, burst: 5, leaseMs: 5000, sweepMs: 200, dashboard: false })
  const step = app.fifo.define('step', { queue: (q: string) => q }, async (q: string, seq: number) => {
    const start = performance.timeOrigin + performance.now()
    await new Promise((resolve) => setTimeout(resolve, seq % 3))
    send({ type: 'ran', inst: cfg.inst, q, seq, start, end: performance.timeOrigin + performance.now() })
  })
  await app.ready()
  process.on('message', (msg: { type: string, id?: number, q?: string, seq?: number }) => {
    if (msg.type === 'enqueue') {
      step(msg.q as string, msg.seq as number).then(
        (r) => send({ type: 'enqueued', id: msg.id, taskId: r.id }),
        (err: unknown) => send({ type: 'enqueued', id: msg.id, error: String(err) }))
    } else if (msg.type === 'close') {
      app.close().then(() => process.exit(0), () => process.exit(1))
    }
  })
  send({ type: 'ready' })
}
main().catch((err: unknown) => { console.error(err); process.exit(1) })
