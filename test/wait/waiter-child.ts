// A process that enqueues one task with `wait` and then waits (the parent kills it -9).
import Fastify from 'fastify'
import fifo from '../../plugin'

const [redisUrl, prefix] = process.argv.slice(2)
async function main (): Promise<void> {
  const app = Fastify()
  await app.register(fifo, { redis: redisUrl, prefix, worker: false, dashboard: false })
  const job = app.fifo.define('job', { queue: 'killed-waiter' }, async (n: number) => n)
  await app.ready()
  // Never settles here: no instance runs the queue until the parent starts one.
  job.with({ wait: 60_000 })(7).then(() => process.stdout.write('settled\n'), () => process.stdout.write('rejected\n'))
}
main().catch((err) => { process.stderr.write(String(err) + '\n'); process.exit(1) })
