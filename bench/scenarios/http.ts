import autocannon from 'autocannon'
import { Child } from '../lib/children'
import type { Bench } from '../lib/context'
import type { SystemName } from '../systems/types'

async function cannon (url: string, seconds: number): Promise<autocannon.Result> {
  return await autocannon({ url, connections: 50, duration: seconds })
}

/**
 * http: autocannon (50 connections) against a Fastify route that enqueues
 * (fastify-fifo through request.fifo.enqueue, the peers through queue.add)
 * and the same app's route without the enqueue. The server process only
 * enqueues (no worker), so the figure is the cost of the enqueue itself.
 */
export async function http (bench: Bench): Promise<void> {
  await httpOn(bench, 'fastify', 'http', bench.systems)
}

/**
 * http-express: the same on Express 5, fastify-fifo through fastify-fifo/express
 * (req.fifo.enqueue) beside BullMQ's queue.add in the same Express app.
 */
export async function httpExpress (bench: Bench): Promise<void> {
  await httpOn(bench, 'express', 'http-express', bench.systems.filter((s) => s !== 'groupmq'))
}

async function httpOn (bench: Bench, framework: 'fastify' | 'express', scenario: string, systems: SystemName[]): Promise<void> {
  await bench.interleave(scenario, bench.cfg.heavyRounds, async (system, round) => {
    const ns = await bench.fresh()
    const child = await Child.start({ role: 'http', system, url: bench.redis.url, ns, keys: 100, framework })
    child.go()
    try {
      const base = `http://127.0.0.1:${child.port}`
      const warm = bench.cfg.quick ? 0.5 : 1
      await cannon(`${base}/enqueue`, warm)
      await cannon(`${base}/plain`, warm)
      const order = round % 2 === 0 ? ['plain', 'enqueue'] : ['enqueue', 'plain']
      const rps: Record<string, number> = {}
      for (const route of order) {
        const r = await cannon(`${base}/${route}`, bench.cfg.httpSeconds)
        if (r.non2xx > 0 || r.errors > 0) bench.notes.push(`http ${system} /${route}: ${r.non2xx} non-2xx, ${r.errors} errors`)
        rps[route] = r.requests.average
        bench.record(scenario, system, `${route} route req/s`, '/s', r.requests.average)
        bench.record(scenario, system, `${route} route p99`, 'ms', r.latency.p99)
      }
      bench.record(scenario, system, 'enqueue ÷ plain req/s', 'x', rps.enqueue / rps.plain)
    } finally {
      await child.end()
    }
  }, systems)
}
