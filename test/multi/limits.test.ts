import '../helpers/guard'
import t from 'tap'
import { MultiCluster, sleep, type SeenEvent } from './cluster'

// G9 across processes: a limiter's concurrency holds across three server processes, including a kill -9 of a holder.

interface Run { inst: string, queue: string, seq: number }

/** The most runs open at once, from start/end events (a killed process's open runs end when it was killed). */
function peak (seen: SeenEvent[], killed: { inst: string, at: number } | null): number {
  const edges: Array<[number, number]> = []
  const open = new Map<string, number>()
  for (const e of seen) {
    const ev = e.event as { type: string } & Partial<Run>
    if (ev.type !== 'start' && ev.type !== 'end') continue
    const key = `${e.inst}|${ev.queue}|${ev.seq}`
    if (ev.type === 'start') { open.set(key, e.at); edges.push([e.at, 1]) } else if (open.delete(key)) edges.push([e.at, -1])
  }
  for (const [key] of open) if (killed !== null && key.startsWith(killed.inst + '|')) edges.push([killed.at, -1])
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let max = 0
  for (const [, d] of edges) { now += d; max = Math.max(max, now) }
  return max
}

t.test('concurrency 2 across three processes: never three running, and a killed holder\'s slot comes back after the lease', async (t) => {
  const leaseMs = 1500
  const cluster = await MultiCluster.start(3, { leaseMs, sweepMs: 100, concurrency: 4, limiter: { concurrency: 2 } })
  t.teardown(() => cluster.close())
  const [a, b, c] = cluster.procs
  await cluster.enqueue(a, 'victim', 1, { ms: 20, firstMs: 30_000 })
  const started = await cluster.waitFor('the victim to start', (e) => (e.event as { type: string, queue?: string }).type === 'start' && (e.event as { queue?: string }).queue === 'victim')
  for (let seq = 1; seq <= 4; seq++) for (let q = 0; q < 8; q++) await cluster.enqueue([a, b, c][(q + seq) % 3], `q${q}`, seq, { ms: 30 })
  await sleep(300)
  const holder = cluster.proc(started.inst)
  const killedAt = Date.now()
  holder.kill9()
  await holder.exited
  const deadline = Date.now() + 30_000
  while (await cluster.pending() > 0 && Date.now() < deadline) await sleep(100)
  t.equal(await cluster.pending(), 0, 'every task ran')
  const max = peak(cluster.seen, { inst: holder.inst, at: killedAt })
  t.ok(max <= 2, `at most 2 running at once across the processes (peak ${max})`)
  t.ok(max === 2, 'the limit was reached (the test could have failed)')
  const rerun = cluster.seen.find((e) => e.at > killedAt && e.inst !== holder.inst && (e.event as { type: string, queue?: string }).type === 'start' && (e.event as { queue?: string }).queue === 'victim')
  t.ok(rerun !== undefined, 'the killed holder\'s task ran again elsewhere')
})
