/**
 * The `http` scenario for several versions of fastify-fifo, paired round by
 * round in one run on one private redis-server: did a change move the enqueue
 * route against the plain route?
 *
 *   node scripts/run-ts.mjs bench/compare-http.ts --side before=main --side now=. \
 *     [--rounds 8] [--seconds 3] [--connections 50] [--floor] [--profile DIR] [--json FILE]
 *
 * Sides are given as in bench/compare-commits.ts (`label=ref`, `.` = this
 * working tree, `:noapi` without @opentelemetry/api). Each round runs every
 * side back to back, in an order rotated by one per round: a fresh server
 * process (bench/compare-http-child.ts, the http scenario's Fastify app on that
 * side's plugin), warm-up, then autocannon against `/plain` and `/enqueue`
 * (their order alternating by round). Reported per side and route: requests/s,
 * the server's Node CPU µs per request and Redis CPU µs per request; per side,
 * enqueue ÷ plain requests/s and the enqueue route's Node CPU µs per request
 * beyond the plain route's (what the enqueue itself costs the app), each the
 * median (min–max) of per-round figures; and each side's per-round ratio to the
 * first side; and per route the kernel's part of the server's CPU, autocannon's
 * CPU per request and script calls per request. `--floor` adds a third route,
 * `/floor` (see bench/compare-http-child.ts): the same batching through a bare
 * ioredis client and a script that only returns ids, what an enqueue of this
 * design costs at least. With `--profile DIR` the first round also writes a V8 CPU profile
 * of each side's enqueue window (the profiler slows that round: its figures are
 * left out).
 */
import autocannon from 'autocannon'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { diff, scriptCalls, snapshot, startRedis } from './lib/redis'
import { summarize, type Summary } from './lib/stats'
import { prepare, type Side } from './lib/trees'
import { arg, num, writeJsonArg } from './lib/cli'
import type { HttpMessage, HttpRequest } from './compare-http-child'

const CHILD = join(__dirname, 'compare-http-child.ts')

interface RouteFigure {
  rps: number
  /** The server's CPU per request, and the kernel's part of it. */
  nodeUs: number
  sysUs: number
  redisUs: number
  /** autocannon's (this process's) CPU per request. */
  clientUs: number
  scripts: number
  non2xx: number
}
interface Figure { plain: RouteFigure, enqueue: RouteFigure, floor?: RouteFigure }

/** One server process of one side, over IPC. */
class Server {
  readonly #child: ChildProcess
  readonly #messages: HttpMessage[] = []
  #wake: () => void = () => {}
  #exited = false

  constructor () {
    const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx']
    this.#child = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (m: HttpMessage) => { this.#messages.push(m); this.#wake() })
    this.#child.on('exit', () => { this.#exited = true; this.#wake() })
  }

  async ask<T extends HttpMessage['type']> (msg: HttpRequest, reply: T): Promise<Extract<HttpMessage, { type: T }>> {
    this.#child.send(msg)
    const deadline = Date.now() + 60_000
    while (true) {
      const failed = this.#messages.find((m) => m.type === 'error')
      if (failed !== undefined && failed.type === 'error') throw new Error(`http child failed: ${failed.message}`)
      const i = this.#messages.findIndex((m) => m.type === reply)
      if (i >= 0) return this.#messages.splice(i, 1)[0] as Extract<HttpMessage, { type: T }>
      if (this.#exited) throw new Error(`http child exited before ${reply}`)
      if (Date.now() > deadline) throw new Error(`http child: no ${reply} within 60 s`)
      await new Promise<void>((resolve) => { this.#wake = resolve; setTimeout(resolve, 1000) })
    }
  }

  async close (): Promise<void> {
    if (this.#exited) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { this.#child.kill('SIGKILL'); resolve() }, 10_000)
      this.#child.once('exit', () => { clearTimeout(t); resolve() })
      this.#child.send({ type: 'close' } satisfies HttpRequest)
    })
  }
}

async function cannon (url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return await autocannon({ url, connections, duration: seconds })
}

async function measure (server: Server, redis: Redis, url: string, seconds: number, connections: number): Promise<RouteFigure> {
  const r0 = await snapshot(redis)
  const c0 = await server.ask({ type: 'cpu' }, 'cpu')
  const own0 = process.cpuUsage()
  const r = await cannon(url, seconds, connections)
  const own = process.cpuUsage(own0)
  const c1 = await server.ask({ type: 'cpu' }, 'cpu')
  const r1 = await snapshot(redis)
  const requests = r.requests.total
  const use = diff(r0, r1)
  return {
    rps: r.requests.average,
    nodeUs: (c1.us - c0.us) / requests,
    sysUs: (c1.sysUs - c0.sysUs) / requests,
    redisUs: use.cpuUs / requests,
    clientUs: (own.user + own.system) / requests,
    scripts: scriptCalls(use).calls / requests,
    non2xx: r.non2xx + r.errors,
  }
}

interface Opts { seconds: number, connections: number, profile: string | null, floor: boolean }

async function runOnce (side: Side, redis: Redis, url: string, ns: string, round: number, opts: Opts): Promise<Figure> {
  const server = new Server()
  try {
    const { port } = await server.ask({ type: 'job', job: { tree: side.tree, url, ns, keys: 100, floor: opts.floor } }, 'ready')
    const base = `http://127.0.0.1:${port}`
    await cannon(`${base}/enqueue`, 1, opts.connections)
    await cannon(`${base}/plain`, 1, opts.connections)
    const out: Partial<Figure> = {}
    const routes: Array<'plain' | 'enqueue' | 'floor'> = opts.floor ? ['plain', 'enqueue', 'floor'] : ['plain', 'enqueue']
    if (opts.floor) await cannon(`${base}/floor`, 1, opts.connections)
    for (let i = 0; i < routes.length; i++) {
      const route = routes[(round + i) % routes.length]
      const profiling = opts.profile !== null && route === 'enqueue'
      if (profiling) await server.ask({ type: 'profile-start' }, 'profiled')
      out[route] = await measure(server, redis, `${base}/${route}`, opts.seconds, opts.connections)
      if (profiling && opts.profile !== null) await server.ask({ type: 'profile-stop', file: join(opts.profile, `http-enqueue-${side.label}.cpuprofile`) }, 'profiled')
    }
    return out as Figure
  } finally {
    await server.close()
  }
}

const fmt = (s: Summary, digits: number): string => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`

async function main (): Promise<void> {
  const specs = arg('side')
  if (specs.length < 1) throw new Error('give at least one --side label=ref[:noapi]')
  const rounds = num('rounds', 8)
  const seconds = num('seconds', 3)
  const connections = num('connections', 50)
  const profile = arg('profile')[0] ?? null
  const floor = process.argv.includes('--floor')
  if (profile !== null) mkdirSync(profile, { recursive: true })
  const scratch = mkdtempSync(join(tmpdir(), 'fifo-compare-http-'))
  const redis = await startRedis()
  const client = redis.client()
  try {
    const sides: Side[] = specs.map((spec) => {
      const eq = spec.indexOf('=')
      return prepare(spec.slice(0, eq), spec.slice(eq + 1), scratch)
    })
    const figures = new Map<string, Figure[]>(sides.map((s) => [s.label, []]))
    const load0 = loadavg()
    const total = profile === null ? rounds : rounds + 1
    for (let round = 0; round < total; round++) {
      const profiling = profile !== null && round === 0
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length]
        await client.flushall()
        const f = await runOnce(side, client, redis.url, `cmp${round}${k}`, round, { seconds, connections, profile: profiling ? profile : null, floor })
        if (f.plain.non2xx + f.enqueue.non2xx > 0) throw new Error(`${side.label}: ${f.plain.non2xx} + ${f.enqueue.non2xx} failed requests`)
        console.error(`  round ${round + 1}/${total}${profiling ? ' (profiled, left out)' : ''} ${side.label}: plain ${f.plain.rps.toFixed(0)}/s ${f.plain.nodeUs.toFixed(1)} µs (sys ${f.plain.sysUs.toFixed(1)}) + client ${f.plain.clientUs.toFixed(1)} µs, ` +
          `enqueue ${f.enqueue.rps.toFixed(0)}/s ${f.enqueue.nodeUs.toFixed(1)} µs (sys ${f.enqueue.sysUs.toFixed(1)}) + client ${f.enqueue.clientUs.toFixed(1)} µs + Redis ${f.enqueue.redisUs.toFixed(1)} µs (${f.enqueue.scripts.toFixed(2)} script calls), ratio ${(f.enqueue.rps / f.plain.rps).toFixed(2)}` +
          (f.floor === undefined ? '' : `; floor ${f.floor.rps.toFixed(0)}/s ${f.floor.nodeUs.toFixed(1)} µs + Redis ${f.floor.redisUs.toFixed(1)} µs, ratio ${(f.floor.rps / f.plain.rps).toFixed(2)}`))
        if (!profiling) figures.get(side.label)?.push(f)
      }
    }
    const load1 = loadavg()
    const first = figures.get(sides[0].label) ?? []
    const rows: object[] = []
    console.log(`http (Fastify), ${connections} connections, ${seconds} s per route, ${rounds} paired rounds, load ${load0[0].toFixed(1)} → ${load1[0].toFixed(1)}`)
    console.log('| side | code | plain req/s | enqueue req/s | enqueue ÷ plain | Node µs/req plain | Node µs/req enqueue | enqueue − plain Node µs | Redis µs/enqueue | script calls/enqueue | ratio ÷ first | Node µs (enqueue − plain) ÷ first |')
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for (const side of sides) {
      const f = figures.get(side.label) ?? []
      const ratio = (x: Figure): number => x.enqueue.rps / x.plain.rps
      const extra = (x: Figure): number => x.enqueue.nodeUs - x.plain.nodeUs
      const s = {
        plain: summarize(f.map((x) => x.plain.rps)),
        enqueue: summarize(f.map((x) => x.enqueue.rps)),
        ratio: summarize(f.map(ratio)),
        plainUs: summarize(f.map((x) => x.plain.nodeUs)),
        enqueueUs: summarize(f.map((x) => x.enqueue.nodeUs)),
        extraUs: summarize(f.map(extra)),
        redisUs: summarize(f.map((x) => x.enqueue.redisUs)),
        scripts: summarize(f.map((x) => x.enqueue.scripts)),
        vsRatio: summarize(f.map((x, i) => ratio(x) / ratio(first[i]))),
        vsExtra: summarize(f.map((x, i) => extra(x) / extra(first[i]))),
      }
      const vs = side === sides[0] ? '' : `${fmt(s.vsRatio, 2)} | ${fmt(s.vsExtra, 2)}`
      console.log(`| ${side.label} | ${side.sha} | ${fmt(s.plain, 0)} | ${fmt(s.enqueue, 0)} | ${fmt(s.ratio, 2)} | ${fmt(s.plainUs, 1)} | ${fmt(s.enqueueUs, 1)} | ${fmt(s.extraUs, 1)} | ${fmt(s.redisUs, 1)} | ${fmt(s.scripts, 2)} | ${vs === '' ? ' | ' : vs} |`)
      for (const [metric, unit, v] of [
        ['plain route req/s', '/s', s.plain], ['enqueue route req/s', '/s', s.enqueue], ['enqueue ÷ plain req/s', 'x', s.ratio],
        ['node cpu per plain request', 'µs', s.plainUs], ['node cpu per enqueue request', 'µs', s.enqueueUs],
        ['node cpu of the enqueue (enqueue − plain)', 'µs', s.extraUs], ['redis cpu per enqueue request', 'µs', s.redisUs], ['script calls per enqueue request', 'calls', s.scripts],
      ] as const) {
        rows.push({ scenario: 'http', system: `${side.label}@${side.sha}`, metric, value: v.median, unit, runs: v.runs, min: v.min, max: v.max })
      }
      if (side !== sides[0]) {
        rows.push({ scenario: 'http', system: `${side.label}@${side.sha}`, metric: `enqueue ÷ plain req/s ratio (÷ ${sides[0].label})`, value: s.vsRatio.median, unit: 'x', runs: s.vsRatio.runs, min: s.vsRatio.min, max: s.vsRatio.max })
      }
    }
    console.log('')
    console.log('| side | route | req/s | ÷ plain req/s | Node µs/req (of which kernel) | autocannon µs/req | Redis µs/req | script calls/req |')
    console.log('|---|---|---|---|---|---|---|---|')
    for (const side of sides) {
      const f = figures.get(side.label) ?? []
      for (const route of ['plain', 'enqueue', 'floor'] as const) {
        const g = f.map((x) => x[route]).filter((x): x is RouteFigure => x !== undefined)
        if (g.length === 0) continue
        const of = (pick: (x: RouteFigure) => number): Summary => summarize(g.map(pick))
        const vsPlain = summarize(f.filter((x) => x[route] !== undefined).map((x) => (x[route] as RouteFigure).rps / x.plain.rps))
        console.log(`| ${side.label} | ${route} | ${fmt(of((x) => x.rps), 0)} | ${fmt(vsPlain, 2)} | ${fmt(of((x) => x.nodeUs), 1)} (${fmt(of((x) => x.sysUs), 1)}) | ${fmt(of((x) => x.clientUs), 1)} | ${fmt(of((x) => x.redisUs), 1)} | ${fmt(of((x) => x.scripts), 2)} |`)
        if (route === 'floor') rows.push({ scenario: 'http', system: `${side.label}@${side.sha}`, metric: 'floor ÷ plain req/s', value: vsPlain.median, unit: 'x', runs: vsPlain.runs, min: vsPlain.min, max: vsPlain.max })
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
