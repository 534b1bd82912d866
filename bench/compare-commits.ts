/**
 * Serial drain of several versions of fastify-fifo, paired round by round in
 * one run on one private redis-server: did a change move the drain?
 *
 *   node scripts/run-ts.mjs bench/compare-commits.ts \
 *     --side before-otel=a863aff --side before-wait=efffef7 --side now=. --side now-no-otel-api=.:noapi \
 *     [--ratio now/before-wait …] [--rounds 9] [--tasks 5000] [--warmup 4000] [--scenario enqueue-seq] [--json FILE]
 *
 * A side is `label=ref`: a commit (its plugin/, ui/, package.json and
 * tsconfig.json are exported with `git archive` into a throwaway directory) or
 * `.` (this working tree). `:noapi` runs it where `@opentelemetry/api` cannot
 * be resolved: a throwaway copy whose node_modules links every package of this
 * tree's node_modules except `@opentelemetry` (the shared node_modules is never
 * touched). Every run is a fresh child process (bench/compare-child.ts) that
 * pre-fills warmup + tasks no-op tasks in one queue and drains them with one
 * slot, the window starting at task `warmup`, as `npm run bench`'s
 * serial-drain. Each round runs every side back to back, in an order rotated
 * by one per round, after FLUSHALL. Reported per side: tasks/s and Node CPU
 * µs per task over the window, Redis CPU µs per task and script calls per
 * task over the whole drain; and the per-round ratio of each side to the
 * first side, median (min–max), and of any other pair named with `--ratio a/b`.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { diff, scriptCalls, snapshot, startRedis } from './lib/redis'
import { summarize, type Summary } from './lib/stats'
import type { CompareJob, CompareMessage, CompareResult } from './compare-child'
import { prepare, type Side } from './lib/trees'
import { arg, num, writeJsonArg } from './lib/cli'

const CHILD = join(__dirname, 'compare-child.ts')

interface Figure { rate: number, nodeUs: number, redisUs: number, scripts: number, otelApi: boolean }

async function runOnce (job: CompareJob, redis: Redis): Promise<{ r: CompareResult, redisUs: number, scripts: number }> {
  const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx']
  const child = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const messages: CompareMessage[] = []
  let wake: () => void = () => {}
  let exited = false
  child.on('message', (m: CompareMessage) => { messages.push(m); wake() })
  child.on('exit', () => { exited = true; wake() })
  const next = async (type: 'ready' | 'result'): Promise<CompareMessage> => {
    const deadline = Date.now() + 300_000
    while (true) {
      const failed = messages.find((m) => m.type === 'error')
      if (failed !== undefined && failed.type === 'error') throw new Error(`compare child failed: ${failed.message}`)
      const found = messages.find((m) => m.type === type)
      if (found !== undefined) return found
      if (exited) throw new Error(`compare child exited before ${type}`)
      if (Date.now() > deadline) throw new Error(`compare child: no ${type} within 300 s`)
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 1000) })
    }
  }
  try {
    child.send({ type: 'job', job })
    await next('ready')
    const before = await snapshot(redis)
    child.send({ type: 'go' })
    const msg = await next('result')
    const after = await snapshot(redis)
    if (msg.type !== 'result') throw new Error('unexpected message')
    const use = diff(before, after)
    // The drain's Redis figures cover the whole drain; enqueue-seq's warm-up ran before the snapshot.
    const total = job.scenario === 'enqueue-seq' ? job.tasks : job.warmup + job.tasks
    return { r: msg.result, redisUs: use.cpuUs / total, scripts: scriptCalls(use).calls / total }
  } finally {
    if (!exited) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { child.kill('SIGKILL'); resolve() }, 10_000)
        child.once('exit', () => { clearTimeout(t); resolve() })
      })
    }
  }
}

const fmt = (s: Summary, digits: number): string => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`

async function main (): Promise<void> {
  const specs = arg('side')
  if (specs.length < 2) throw new Error('give at least two --side label=ref[:noapi]')
  const rounds = num('rounds', 9)
  const tasks = num('tasks', 5000)
  const warmup = num('warmup', 4000)
  const scenario = arg('scenario')[0] ?? 'serial-drain'
  if (scenario !== 'serial-drain' && scenario !== 'enqueue-seq') throw new Error('--scenario is serial-drain or enqueue-seq')
  const scratch = mkdtempSync(join(tmpdir(), 'fifo-compare-'))
  const redis = await startRedis()
  const client = redis.client()
  const sides: Side[] = []
  try {
    for (const spec of specs) {
      const eq = spec.indexOf('=')
      sides.push(prepare(spec.slice(0, eq), spec.slice(eq + 1), scratch))
    }
    const figures = new Map<string, Figure[]>()
    for (const s of sides) figures.set(s.label, [])
    const load0 = (await import('node:os')).loadavg()
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length]
        await client.flushall()
        const { r, redisUs, scripts } = await runOnce({ tree: side.tree, url: redis.url, ns: `cmp${round}${k}`, tasks, warmup, scenario }, client)
        if (r.violations !== 0) throw new Error(`${side.label}: ${r.violations} order violations`)
        const f = { rate: r.tasks / (r.ns / 1e9), nodeUs: r.cpuUs / r.tasks, redisUs, scripts, otelApi: r.otelApi }
        figures.get(side.label)?.push(f)
        console.error(`  round ${round + 1}/${rounds} ${side.label}: ${f.rate.toFixed(0)} tasks/s, Node ${f.nodeUs.toFixed(1)} µs/task, Redis ${f.redisUs.toFixed(1)} µs/task`)
      }
    }
    const load1 = (await import('node:os')).loadavg()
    const base = figures.get(sides[0].label) ?? []
    const rows: object[] = []
    console.log(`${scenario}, ${tasks} tasks after ${warmup} warm-up, ${rounds} paired rounds, load ${load0[0].toFixed(1)} → ${load1[0].toFixed(1)}`)
    console.log('| side | code | @opentelemetry/api | tasks/s | Node CPU µs/task | Redis CPU µs/task | script calls/task | tasks/s ÷ first | Node µs ÷ first | Redis µs ÷ first |')
    console.log('|---|---|---|---|---|---|---|---|---|---|')
    for (const side of sides) {
      const f = figures.get(side.label) ?? []
      const rate = summarize(f.map((x) => x.rate))
      const nodeUs = summarize(f.map((x) => x.nodeUs))
      const redisUs = summarize(f.map((x) => x.redisUs))
      const scripts = summarize(f.map((x) => x.scripts))
      const ratio = (pick: (x: Figure) => number): Summary => summarize(f.map((x, i) => pick(x) / pick(base[i])))
      const r = { rate: ratio((x) => x.rate), nodeUs: ratio((x) => x.nodeUs), redisUs: ratio((x) => x.redisUs) }
      console.log(`| ${side.label} | ${side.sha} | ${f[0]?.otelApi === true ? 'resolvable' : 'absent'} | ${fmt(rate, 0)} | ${fmt(nodeUs, 1)} | ${fmt(redisUs, 1)} | ${fmt(scripts, 2)} | ${fmt(r.rate, 2)} | ${fmt(r.nodeUs, 2)} | ${fmt(r.redisUs, 2)} |`)
      for (const [metric, unit, s] of [['tasks/s', '/s', rate], ['node cpu per task', 'µs', nodeUs], ['redis cpu per task', 'µs', redisUs], ['script calls per task', 'calls', scripts]] as const) {
        rows.push({ scenario, system: `${side.label}@${side.sha}`, metric, value: s.median, unit, runs: s.runs, min: s.min, max: s.max })
      }
      if (side !== sides[0]) {
        for (const [metric, s] of [['tasks/s', r.rate], ['node cpu per task', r.nodeUs], ['redis cpu per task', r.redisUs]] as const) {
          rows.push({ scenario, system: `${side.label}@${side.sha}`, metric: `${metric} ratio (÷ ${sides[0].label})`, value: s.median, unit: 'x', runs: s.runs, min: s.min, max: s.max })
        }
      }
    }
    const extra = arg('ratio').map((pair) => pair.split('/'))
    if (extra.length > 0) {
      console.log('')
      console.log('| paired per round | tasks/s | Node CPU µs/task | Redis CPU µs/task |')
      console.log('|---|---|---|---|')
      for (const [a, b] of extra) {
        const fa = figures.get(a)
        const fb = figures.get(b)
        if (fa === undefined || fb === undefined) throw new Error(`--ratio ${a}/${b}: no such side`)
        const ratio = (pick: (x: Figure) => number): Summary => summarize(fa.map((x, i) => pick(x) / pick(fb[i])))
        const r = { rate: ratio((x) => x.rate), nodeUs: ratio((x) => x.nodeUs), redisUs: ratio((x) => x.redisUs) }
        console.log(`| ${a} ÷ ${b} | ${fmt(r.rate, 2)} | ${fmt(r.nodeUs, 2)} | ${fmt(r.redisUs, 2)} |`)
        for (const [metric, v] of [['tasks/s', r.rate], ['node cpu per task', r.nodeUs], ['redis cpu per task', r.redisUs]] as const) {
          rows.push({ scenario, system: a, metric: `${metric} ratio (÷ ${b})`, value: v.median, unit: 'x', runs: v.runs, min: v.min, max: v.max })
        }
      }
    }
    writeJsonArg(rows)
  } finally {
    client.disconnect()
    await redis.cleanup()
    rmSync(scratch, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
