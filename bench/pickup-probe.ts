/**
 * Where an idle pickup's time goes (issue 13's pickup target): the
 * pickup-latency scenario's loop (worker and producer in one process, claim on
 * enqueue, 10–30 ms idle before each sample), with timestamps at each step of
 * the path, beside an idle `PING` measured the same way in the same process:
 *
 *   call → worker (Worker.enqueue) → store (store.enqueue) → send
 *   (RedisConnection.send) → write (the socket write) → reply (the socket's
 *   data event) → decoded (the reply handed to the store's decode) → handler
 *
 * and Redis's own time for each call from SLOWLOG (threshold 0: every
 * command's execution time, µs), with the same for `return 1` and for the
 * enqueue script's top level alone (its function definitions) after the same
 * idle gaps, to split the script's cost. Figures are p50 (p90) over the samples of
 * the time from the call to each step. The marks wrap prototype methods, so
 * they cost a little themselves: `--no-marks` measures the bare total.
 *
 *   node --import tsx bench/pickup-probe.ts [--ref REF] [--samples 300] [--no-marks] [--hot-warmup N]
 *
 * `--ref` probes the plugin of another commit (git archive into a temp dir).
 * Run two refs one after the other, several times, to compare: each run is
 * one process, so never compare figures of runs far apart in time.
 */
import Fastify from 'fastify'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'node:net'
import { Redis } from 'ioredis'
import { startRedis } from './lib/redis'
import { prepare } from './lib/trees'

const { values: opts } = parseArgs({
  options: {
    ref: { type: 'string', default: '.' },
    samples: { type: 'string', default: '300' },
    'no-marks': { type: 'boolean', default: false },
    'hot-warmup': { type: 'string', default: '0' },
  },
})
const samples = Number(opts.samples)
const withMarks = opts['no-marks'] !== true

const STEPS = ['worker', 'store', 'send', 'write', 'reply', 'decoded', 'handler'] as const
type Step = typeof STEPS[number]
let armed = false
let marks: Partial<Record<string, number>> = {}
const mark = (step: string): void => {
  if (armed && marks[step] === undefined) marks[step] = performance.now()
}
// Marks of your own while looking for where the time goes: add `(globalThis as any).__pmark?.('name')`
// to the plugin's code for a while (never commit it); each name is reported with the steps.
;(globalThis as { __pmark?: (name: string) => void }).__pmark = mark

/** Marks the first write and the first data of `socket` while armed. */
function watchSocket (socket: Socket, onWrite: () => void, onData: () => void): void {
  const write = socket.write
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    onWrite()
    return write.apply(this, args)
  } as Socket['write']
  socket.prependListener('data', onData)
}

type Proto = Record<string, (...args: unknown[]) => unknown>
function wrap (proto: Proto, method: string, step: Step): void {
  const orig = proto[method]
  proto[method] = function (this: unknown, ...args: unknown[]) {
    mark(step)
    return orig.apply(this, args)
  }
}

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const show = (xs: number[]): string => `${pct(xs, 50).toFixed(3)} (${pct(xs, 90).toFixed(3)})`

/** Redis's own time (SLOWLOG, ms) for each script run once after 10–30 ms of idle. */
async function coldScriptUs (admin: Redis, bodies: Record<string, string>, n: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {}
  for (const [name, body] of Object.entries(bodies)) {
    const sha = await admin.script('LOAD', body) as string
    out[name] = []
    for (let i = 0; i < n; i++) {
      await sleep(10 + ((i * 7) % 21))
      await admin.evalsha(sha, 1, '{probe-floor}:')
      const log = await admin.slowlog('GET', 4) as Array<[number, number, number, string[]]>
      const entry = log.find((e) => e[3][0] === 'evalsha')
      if (entry !== undefined) out[name].push(entry[2] / 1000)
    }
  }
  return out
}

async function main (): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'fifo-probe-'))
  const side = prepare('probe', opts.ref, scratch)
  const redis = await startRedis()
  const admin = redis.client()
  const app = Fastify({ logger: false })
  const ping = new Redis(redis.url)
  try {
    const plugin = require(join(side.tree, 'plugin')) as typeof import('../plugin')
    if (withMarks) {
      const { Worker } = require(join(side.tree, 'plugin/core/worker/worker')) as { Worker: { prototype: Proto } }
      const { RedisConnection } = require(join(side.tree, 'plugin/store/redis/connection')) as { RedisConnection: { prototype: Proto } }
      wrap(Worker.prototype, 'enqueue', 'worker')
      const send = RedisConnection.prototype.send
      RedisConnection.prototype.send = function (this: unknown, command: unknown, decode: unknown) {
        mark('send')
        return send.call(this, command, (reply: unknown) => {
          mark('decoded')
          return (decode as (r: unknown) => unknown)(reply)
        })
      }
    }
    const { scripts } = require(join(side.tree, 'plugin/store/redis/scripts')) as { scripts: () => Map<string, { sha: string, lua: string }> }
    const enqueueSha = scripts().get('enqueue')?.sha
    const completeSha = scripts().get('complete')?.sha

    let started: (() => void) | null = null
    await app.register(plugin.default, { redis: redis.url, prefix: 'probe', concurrency: 1, dashboard: false })
    const task = app.fifo.define('bench', { queue: (key: string, _seq: number) => key }, async (_key: string, _seq: number) => {
      mark('handler')
      started?.()
      started = null
    })
    await app.ready()
    const store = app.fifo.store as unknown as { client: Redis, enqueue: (...a: unknown[]) => unknown }
    if (withMarks) {
      const enqueue = store.enqueue
      store.enqueue = function (this: unknown, ...args: unknown[]) {
        mark('store')
        return enqueue.apply(this, args)
      }
    }
    await ping.ping()
    await store.client.ping()
    watchSocket((store.client as unknown as { stream: Socket }).stream, () => mark('write'), () => { if (marks.write !== undefined) mark('reply') })
    let pingWrite = 0
    let pingReply = 0
    let pingArmed = false
    watchSocket((ping as unknown as { stream: Socket }).stream,
      () => { if (pingArmed && pingWrite === 0) pingWrite = performance.now() },
      () => { if (pingArmed && pingReply === 0) pingReply = performance.now() })

    await admin.config('SET', 'slowlog-log-slower-than', '0')
    await admin.config('SET', 'slowlog-max-len', '100000')
    const steps = new Map<string, number[]>(STEPS.map((s) => [s, []]))
    const total: number[] = []
    const pingTotal: number[] = []
    const pingToWrite: number[] = []
    const pingWireTime: number[] = []
    // --hot-warmup N: N pickups back to back first (no idle), so V8 has optimised the path:
    // what is left after idle gaps is then cold caches, not unoptimised code.
    for (let i = 0; i < Number(opts['hot-warmup']); i++) {
      const handlerStarted = new Promise<void>((resolve) => { started = resolve })
      await task('warm', i)
      await handlerStarted
    }
    const warmup = 20
    for (let i = 0; i < warmup + samples; i++) {
      if (i === warmup) await admin.slowlog('RESET')
      // The idle PING, then the pickup, each after 10–30 ms of nothing (the scenario's sequence).
      await sleep(10 + ((i * 7) % 21))
      pingWrite = pingReply = 0
      pingArmed = true
      const p0 = performance.now()
      await ping.ping()
      const p1 = performance.now()
      pingArmed = false
      await sleep(10 + ((i * 11) % 21))
      const handlerStarted = new Promise<void>((resolve) => { started = resolve })
      marks = {}
      armed = true
      const t0 = performance.now()
      await task('pickup', i)
      await handlerStarted
      armed = false
      if (i < warmup) continue
      total.push((marks.handler as number) - t0)
      for (const [s, t] of Object.entries(marks)) {
        if (!steps.has(s)) steps.set(s, [])
        steps.get(s)?.push((t as number) - t0)
      }
      pingTotal.push(p1 - p0)
      pingToWrite.push(pingWrite - p0)
      pingWireTime.push(pingReply - pingWrite)
    }
    const log = await admin.slowlog('GET', 100000) as Array<[number, number, number, string[]]>
    const usOf = (pred: (args: string[]) => boolean): number[] => log.filter((e) => pred(e[3])).map((e) => e[2] / 1000)
    const enqueueUs = usOf((a) => a[0] === 'evalsha' && a[1] === enqueueSha)
    const completeUs = usOf((a) => a[0] === 'evalsha' && a[1] === completeSha)
    const pingUs = usOf((a) => a[0] === 'ping')

    console.log(`pickup probe: ${side.ref} (${side.sha}), ${samples} samples after 10–30 ms idle, ${opts['hot-warmup']} back-to-back pickups first, marks ${withMarks ? 'on' : 'off'}; ms from the call, p50 (p90)`)
    console.log(`  idle PING          ${show(pingTotal)}   call→write ${show(pingToWrite)}, write→reply ${show(pingWireTime)}, in Redis ${show(pingUs)}`)
    console.log(`  pickup             ${show(total)}   over the PING: p50 ${(pct(total, 50) - pct(pingTotal, 50)).toFixed(3)}, p99 ${(pct(total, 99) - pct(pingTotal, 99)).toFixed(3)}`)
    const order = [...steps].filter(([s, xs]) => xs.length > 0 && s !== 'handler').sort((a, b) => pct(a[1], 50) - pct(b[1], 50))
    for (const [s, xs] of order) console.log(`    → ${s.padEnd(8)}       ${show(xs)}`)
    console.log(`  in Redis: enqueue script ${show(enqueueUs)}, complete script ${show(completeUs)} (ms)`)
    // The same idle gaps before two scripts that write nothing: `return 1`, and the enqueue
    // script's top level only (its includes' function definitions), to split the script's cost.
    const lua = scripts().get('enqueue')?.lua ?? ''
    const floor = await coldScriptUs(admin, { 'return 1': 'return 1', 'enqueue, definitions only': lua.slice(0, lua.indexOf('\nlocal now = ')) + '\nreturn 1' }, Math.min(samples, 100))
    console.log(`  in Redis after the same idle gaps: ${Object.entries(floor).map(([name, us]) => `${name} ${show(us)}`).join(', ')} (ms)`)
  } finally {
    await app.close()
    ping.disconnect()
    admin.disconnect()
    await redis.cleanup()
    rmSync(scratch, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
