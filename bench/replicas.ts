/**
 * What the `replicas` option costs: a master and one replica on loopback
 * (started here on free ports), the store driven directly, replicas 0 and 1
 * in interleaved rounds.
 *
 *   node scripts/run-ts.mjs bench/replicas.ts [--rounds 3] [--tasks 3000]
 *
 * enqueue-seq      one enqueue at a time, each awaited (µs per enqueue)
 * enqueue-conc     20 producers enqueueing at once (tasks/s; batches share one WAIT)
 * serial-drain     one queue, claim then complete-and-take-next until empty,
 *                  as the worker does (µs per task: one script + one WAIT)
 */
import { RedisStore } from '../plugin/store/redis/redis-store'
import { freePort, uniquePrefix } from '../test/helpers/redis-server'
import { launchNode, waitUntil } from '../test/helpers/redis-node'

function arg (name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : Number(process.argv[i + 1])
}

const ROUNDS = arg('rounds', 3)
const TASKS = arg('tasks', 3000)
const LEASE_MS = 60_000

async function round (port: number, replicas: number): Promise<Record<string, number>> {
  const s = new RedisStore({ redis: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('rb'), connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 10, replicas, replicaTimeoutMs: 2000 })
  await s.connect()
  const out: Record<string, number> = {}
  try {
    let t0 = performance.now()
    for (let i = 0; i < TASKS; i++) await s.enqueue({ queue: 'drain', name: 'j', payload: `[${i}]` })
    out['enqueue-seq µs'] = (performance.now() - t0) * 1000 / TASKS

    t0 = performance.now()
    await Promise.all(Array.from({ length: 20 }, async (_, p) => {
      for (let i = 0; i < TASKS / 20; i++) await s.enqueue({ queue: `c${p}`, name: 'j', payload: `[${i}]` })
    }))
    out['enqueue-conc tasks/s'] = TASKS / ((performance.now() - t0) / 1000)

    t0 = performance.now()
    let c = await s.claim('o', LEASE_MS)
    while (c !== null && c.queue !== 'drain') c = await s.claim('o', LEASE_MS)
    let n = 0
    while (c !== null) {
      const r = await s.complete({ queue: c.queue, token: c.token }, c.id, 'o', LEASE_MS, true)
      n++
      c = r.ok ? r.next : null
    }
    out['serial-drain µs/task'] = (performance.now() - t0) * 1000 / n
  } finally {
    await s.close()
  }
  return out
}

async function main (): Promise<void> {
  const master = await launchNode(await freePort())
  const replica = await launchNode(await freePort(), ['--replicaof', '127.0.0.1', String(master.port)])
  try {
    await waitUntil('the replica to sync', async () => (await replica.info('replication')).master_link_status === 'up')
    const rows: Record<string, Record<string, number[]>> = { 'replicas: 0': {}, 'replicas: 1': {} }
    for (let r = 0; r < ROUNDS; r++) {
      for (const replicas of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const figures = await round(master.port, replicas)
        for (const [k, v] of Object.entries(figures)) (rows[`replicas: ${replicas}`][k] ??= []).push(v)
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    console.log(`median of ${ROUNDS} rounds, ${TASKS} tasks each, master + 1 replica on loopback`)
    for (const [mode, figs] of Object.entries(rows)) {
      console.log(mode.padEnd(12), Object.entries(figs).map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join('  |  '))
    }
  } finally {
    await replica.cleanup()
    await master.cleanup()
  }
}

main().catch((err) => { console.error(err); process.exit(1) })
