/**
 * Profiles fastify-fifo alone (not part of `npm run bench`): serial-drain or
 * enqueue-seq in this process, on a Redis it starts itself, with the V8 CPU
 * profiler on for the measured window only:
 *   node --import tsx bench/profile.ts drain 20000 [dir]
 *   node --import tsx bench/profile.ts enqueue 10000 [dir]
 *   FIFO_PROFILE_PIPELINED_ACKS=16 node --import tsx bench/profile.ts drain 20000
 * (the last: the drain with the opt-in pipelinedAcks)
 * writes <dir>/<mode>.cpuprofile (default dir /tmp/fifo-prof) and prints self
 * time by function.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { startRedis } from './lib/redis'
import { openSystem } from './systems/types'

const now = (): number => Number(process.hrtime.bigint())

let session: Session | null = null
async function profileStart (): Promise<void> {
  if (process.env.FIFO_PROFILE_OFF === '1') return
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
}
async function profileStop (dir: string, name: string): Promise<void> {
  if (session === null) return
  const { profile } = await session.post('Profiler.stop')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
  session.disconnect()
}

async function main (): Promise<void> {
  const [mode = 'drain', countText = '20000', dir = '/tmp/fifo-prof'] = process.argv.slice(2)
  const count = Number(countText)
  const redis = await startRedis()
  try {
    const producer = await openSystem('fastify-fifo', { url: redis.url, ns: 'prof', handler: null, slots: 1, ownedKeys: [] })
    if (mode === 'enqueue') {
      for (let i = 0; i < 500; i++) await producer.enqueue('k', i)
      await profileStart()
      const cpu0 = process.cpuUsage()
      const t0 = now()
      for (let i = 0; i < count; i++) await producer.enqueue(`k${i % 100}`, i)
      const cpu = process.cpuUsage(cpu0)
      await profileStop(dir, 'enqueue')
      console.log(summarize(dir))
      console.log(`enqueue-seq: ${Math.round(count / ((now() - t0) / 1e9))}/s, node cpu ${((cpu.user + cpu.system) / count).toFixed(1)} µs/call`)
      await producer.close()
      return
    }
    let left = count
    const inflight = new Set<Promise<void>>()
    for (let i = 0; i < count; i++) {
      const p = producer.enqueue('serial', i).then(() => { inflight.delete(p) })
      inflight.add(p)
      if (inflight.size >= 100) await Promise.race(inflight)
    }
    await Promise.all(inflight)
    await producer.close()
    let finished: () => void = () => {}
    const done = new Promise<void>((resolve) => { finished = resolve })
    const consumer = await openSystem('fastify-fifo', { url: redis.url, ns: 'prof', handler: () => { if (--left === 0) finished() }, slots: 1, ownedKeys: ['serial'], pipelinedAcks: Number(process.env.FIFO_PROFILE_PIPELINED_ACKS ?? 0) })
    await profileStart()
    const cpu0 = process.cpuUsage()
    const t0 = now()
    await consumer.start()
    await done
    const cpu = process.cpuUsage(cpu0)
    await profileStop(dir, 'drain')
    console.log(summarize(dir))
    console.log(`serial-drain: ${Math.round(count / ((now() - t0) / 1e9))}/s, node cpu ${((cpu.user + cpu.system) / count).toFixed(1)} µs/task (user ${(cpu.user / count).toFixed(1)}, sys ${(cpu.system / count).toFixed(1)})`)
    await consumer.close()
  } finally {
    await redis.cleanup()
  }
}

/** Self time by function from the newest .cpuprofile in `dir`. */
export function summarize (dir: string, top = 30): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  const prof = JSON.parse(readFileSync(files[0], 'utf8')) as { nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>, samples: number[], timeDeltas: number[] }
  const self = new Map<number, number>()
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0))
  const byFn = new Map<string, number>()
  let total = 0
  for (const n of prof.nodes) {
    const t = self.get(n.id) ?? 0
    total += t
    const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')
    const key = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + t)
  }
  return [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`).join('\n')
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
