/**
 * fastify-fifo's own JavaScript per enqueue, for several trees, paired round
 * by round: what the HTTP route's enqueue costs before it reaches the store.
 *
 *   node scripts/run-ts.mjs bench/compare-enqueue-cost.ts --side before=main --side now=. \
 *     [--side before-noapi=main:noapi] [--rounds 8] [--calls 100000]
 *
 * Sides as in bench/compare-commits.ts. Each run is a fresh process that
 * registers the side's plugin with a store whose enqueue answers at once (a
 * MemoryStore subclass: no Redis, no batching), calls `app.fifo.enqueue(task,
 * key, seq)` 50 at a time (100 queues) `calls` times to warm up and `calls`
 * times measured, and reports its CPU µs per call: validation, encoding, the
 * layers' promises and the tracing check, nothing of the store's.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { summarize, type Summary } from './lib/stats'
import { prepare, type Side } from './lib/trees'
import { arg } from './lib/cli'

interface Fifo { define: (name: string, options: object, handler: (...args: any[]) => unknown) => unknown, enqueue: (task: unknown, ...args: unknown[]) => Promise<unknown> }

async function child (tree: string, calls: number): Promise<void> {
  const Fastify = (await import('fastify')).default
  const { MemoryStore } = require(join(tree, 'plugin', 'store', 'memory')) as { MemoryStore: new (o: { deadLetterLimit: number }) => object }
  class Answering extends MemoryStore {
    async connect (): Promise<void> {}
    enqueue (task: { queue: string, name: string }): Promise<unknown> {
      return Promise.resolve({ id: '1-1', queue: task.queue, name: task.name, duplicate: false })
    }
  }
  const app = Fastify({ logger: false })
  await app.register((require(join(tree, 'plugin')) as { default: Parameters<typeof app.register>[0] }).default, { store: new Answering({ deadLetterLimit: 10 }), worker: false, dashboard: false })
  const fifo = (app as unknown as { fifo: Fifo }).fifo
  const task = fifo.define('bench', { queue: (key: string, _seq: number) => key }, async () => {})
  await app.ready()
  const run = async (): Promise<void> => {
    for (let i = 0; i < calls; i += 50) {
      const pending: Array<Promise<unknown>> = []
      for (let j = 0; j < 50; j++) pending.push(fifo.enqueue(task, `k${(i + j) % 100}`, i + j))
      await Promise.all(pending)
    }
  }
  await run()
  const cpu0 = process.cpuUsage()
  await run()
  const cpu = process.cpuUsage(cpu0)
  process.send?.({ us: (cpu.user + cpu.system) / calls })
  await app.close()
}

async function once (tree: string, calls: number): Promise<number> {
  const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx']
  return await new Promise<number>((resolve, reject) => {
    const c = fork(__filename, ['--child', tree, String(calls)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let us: number | null = null
    c.on('message', (m: { us: number }) => { us = m.us })
    c.on('exit', (code) => { if (us === null) reject(new Error(`enqueue-cost child exited ${code} without a figure`)); else resolve(us) })
  })
}

const fmt = (s: Summary): string => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`

async function main (): Promise<void> {
  const rounds = Number(arg('rounds')[0] ?? 8)
  const calls = Number(arg('calls')[0] ?? 100_000)
  const scratch = mkdtempSync(join(tmpdir(), 'fifo-compare-cost-'))
  try {
    const sides: Side[] = arg('side').map((spec) => {
      const eq = spec.indexOf('=')
      return prepare(spec.slice(0, eq), spec.slice(eq + 1), scratch)
    })
    if (sides.length === 0) throw new Error('give at least one --side label=ref[:noapi]')
    const figures = new Map<string, number[]>(sides.map((s) => [s.label, []]))
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length]
        const us = await once(side.tree, calls)
        figures.get(side.label)?.push(us)
        console.error(`  round ${round + 1}/${rounds} ${side.label}: ${us.toFixed(2)} µs per enqueue`)
      }
    }
    const first = figures.get(sides[0].label) ?? []
    console.log(`fastify-fifo's JavaScript per enqueue (store answering at once), ${calls} calls, ${rounds} paired rounds`)
    console.log('| side | code | Node CPU µs per enqueue | ÷ first, per round |')
    console.log('|---|---|---|---|')
    for (const side of sides) {
      const f = figures.get(side.label) ?? []
      const vs = side === sides[0] ? '' : fmt(summarize(f.map((x, i) => x / first[i])))
      console.log(`| ${side.label} | ${side.sha}${side.noApi ? ' (no @opentelemetry/api)' : ''} | ${fmt(summarize(f))} | ${vs} |`)
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
} else {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
