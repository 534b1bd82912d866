import '../helpers/guard'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { until } from '../helpers/app'
import { freePort, startRedis, uniquePrefix } from '../helpers/redis-server'

// Starts the example server as a user would (`npm start`), with no Redis
// reachable and with a Redis this test started, drives the workflows through
// its routes and checks through the admin API that tasks ran, in order.

const root = join(__dirname, '..', '..')

interface Example {
  base: string
  output: () => string
  /** SIGTERM to the process group of `npm start`, then waits for the server process to exit. */
  stop: () => Promise<void>
}

/** The environment of a user's shell: without this test runner's loaders and npm's per-script variables. */
function userEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(TAP|TS_NODE|npm_)/.test(key) || key === 'NODE_OPTIONS') continue
    env[key] = value
  }
  return { ...env, HOST: '127.0.0.1', LOG_FORMAT: 'json', FAIL_RATE: '0', ...extra }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-(child.pid as number), signal) } catch {}
}

async function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => child.once('exit', () => resolve()))
}

async function startExample (t: Test, script: string, env: Record<string, string>): Promise<Example> {
  const port = await freePort()
  // Its own process group: a terminal's Ctrl-C reaches npm, sh and the server alike, and so does
  // our SIGTERM (npm passes signals to sh only, which does not pass them on).
  const child = spawn('npm', ['run', script], { cwd: root, env: userEnv({ PORT: String(port), ...env }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  let serverPid: number | null = null
  let stopped: Promise<void> | null = null
  const example: Example = {
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      stopped ??= (async () => {
        signalGroup(child, 'SIGTERM')
        const pid = serverPid
        if (pid !== null) {
          const deadline = Date.now() + 20_000
          while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
          if (alive(pid)) {
            t.fail(`the example server (pid ${pid}) did not exit within 20 s of SIGTERM`)
            try { process.kill(pid, 'SIGKILL') } catch {}
          }
        }
        signalGroup(child, 'SIGKILL')
        await exited(child)
      })()
      await stopped
    },
  }
  t.teardown(example.stop)
  await until('the example server to be ready', () => {
    if (child.exitCode !== null) throw new Error(`npm run ${script} exited with ${child.exitCode}:\n${output}`)
    const ready = /\{"level":30,[^\n]*"pid":(\d+)[^\n]*example: ready/.exec(output)
    if (ready !== null) serverPid = Number(ready[1])
    return ready !== null
  }, 40_000)
  return example
}

async function api<T = Record<string, unknown>> (ex: Example, method: string, path: string, body?: unknown): Promise<{ status: number, json: T }> {
  const res = await fetch(ex.base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, json: await res.json() as T }
}

interface QueueView { name: string, state: string, depth: number, head: { name: string, attempts: number, lastError: string | null } | null }

async function idle (ex: Example): Promise<void> {
  await until('every queue to drain', async () => {
    const { json } = await api<{ pendingTasks: number, running: number, retrying: number }>(ex, 'GET', '/fifo/api/overview')
    return json.pendingTasks === 0 && json.running === 0 && json.retrying === 0
  }, 20_000)
}

async function exercise (t: Test, ex: Example): Promise<void> {
  // (a) reserve → commit → release, all three enqueued at once.
  t.equal((await api(ex, 'POST', '/orders/o-1/checkout', { sku: 'sku-1', qty: 2 })).status, 202)

  // (b) fifteen price updates, each pushed with a random delay; the last must win.
  for (let i = 1; i <= 15; i++) {
    const { json } = await api<{ version: number, queue: string }>(ex, 'PUT', '/prices/lamp', { cents: 100 + i })
    t.equal(json.version, i)
  }

  // (c) an event chain: each step enqueues the next.
  const signup = await api<{ userId: string }>(ex, 'POST', '/signups', { email: 'ada@example.com' })
  t.equal(signup.status, 202)

  // A step out of order: the premature commit keeps failing at the head of its queue,
  // and the checkout enqueued behind it waits, in order, until an operator skips it.
  t.equal((await api(ex, 'POST', '/orders/o-2/commit')).status, 202)
  t.equal((await api(ex, 'POST', '/orders/o-2/checkout', { sku: 'sku-2', qty: 1 })).status, 202)
  const waiting = await api<{ items: Array<{ name: string, position: number }> }>(ex, 'GET', '/fifo/api/queues/order%3Ao-2/tasks')
  t.same(waiting.json.items.map((task) => [task.position, task.name]), [[0, 'Orders.commit'], [1, 'Orders.reserve'], [2, 'Orders.commit'], [3, 'Orders.release']],
    'the admin API lists the queue in enqueue order')
  const halted = await until('order:o-2 to halt', async () => {
    const { json } = await api<QueueView>(ex, 'GET', '/fifo/api/queues/order%3Ao-2')
    return json.state === 'halted' ? json : null
  }, 20_000)
  t.match(halted, { depth: 4, head: { name: 'Orders.commit', attempts: 5, lastError: /inventory refused commit of order o-2/ } }, 'halted with the error shown')
  const skip = await api<{ ok: boolean }>(ex, 'POST', '/fifo/api/queues/order%3Ao-2/skip', { reason: 'premature commit' })
  t.equal(skip.status, 200, 'the demo auth lets this machine act')

  await idle(ex)

  t.same((await api<{ steps: Array<{ step: string }> }>(ex, 'GET', '/orders/o-1')).json.steps.map((s) => s.step), ['reserve', 'commit', 'release'], 'order o-1 ran in order')
  t.same((await api<{ steps: Array<{ step: string }> }>(ex, 'GET', '/orders/o-2')).json.steps.map((s) => s.step), ['reserve', 'commit', 'release'], 'order o-2 ran in order after the skip')
  const price = (await api<{ inSync: boolean, inOrder: boolean, appliedVersions: number[], storefront: { cents: number } }>(ex, 'GET', '/prices/lamp')).json
  t.same(price.appliedVersions, Array.from({ length: 15 }, (_, i) => i + 1), 'price pushes landed in order')
  t.match(price, { inSync: true, inOrder: true, storefront: { cents: 115 } }, 'the last write won')
  const chain = (await api<{ steps: Array<{ step: string }> }>(ex, 'GET', `/signups/${signup.json.userId}`)).json
  t.same(chain.steps.map((s) => s.step), ['createAccount', 'sendWelcome', 'startTrial'], 'the chain ran step by step')

  const dead = await api<{ items: Array<{ queue: string, name: string, reason: string }> }>(ex, 'GET', '/fifo/api/dead')
  t.match(dead.json.items, [{ queue: 'order:o-2', name: 'Orders.commit', reason: /premature commit/ }], 'the skipped task is a dead letter')
  const overview = await api<{ completedLastMinute: number, halted: number }>(ex, 'GET', '/fifo/api/overview')
  t.ok(overview.json.completedLastMinute >= 3 + 3 + 15 + 3, `completed tasks are counted (${overview.json.completedLastMinute})`)
  t.equal(overview.json.halted, 0)

  // The load generator gives the dashboard something to show, and everything still drains.
  const load = await api<{ tasks: number }>(ex, 'POST', '/demo/load', { orders: 5, prices: 8, signups: 5 })
  t.equal(load.status, 202)
  t.equal(load.json.tasks, 5 * 3 + 8 + 5)
  await idle(ex)
}

// The same example on both frameworks: `npm start` (Fastify) and `npm run start:express`.
for (const [script, framework] of [['start', 'fastify'], ['start:express', 'express']]) {
  t.test(`npm run ${script} with no Redis reachable falls back to the memory store`, async (t) => {
    const closedPort = await freePort()
    const ex = await startExample(t, script, { REDIS_URL: `redis://127.0.0.1:${closedPort}` })
    t.match(ex.output(), /no Redis answered at redis:\/\/127\.0\.0\.1:\d+\/? within 1000 ms, so the example uses the in-memory store/, 'the log says so')
    const info = await api(ex, 'GET', '/demo/info')
    t.match(info.json, { framework, storeKind: 'memory', redis: null, fallbackReason: /no Redis answered/ }, 'the demo page says so')
    t.match((await api(ex, 'GET', '/fifo/api/config')).json, { storeKind: 'memory', readOnly: false }, 'the admin API says so')
    const page = await fetch(ex.base + '/fifo/')
    t.equal(page.status, 200, 'the dashboard is served')
    await page.arrayBuffer()

    await exercise(t, ex)

    await ex.stop()
    t.match(ex.output(), /example: closed/, 'SIGTERM closes the app gracefully')
  })

  t.test(`npm run ${script} with Redis: two instances share the queues`, async (t) => {
    const redis = await startRedis()
    t.teardown(() => redis.cleanup())
    const env = { REDIS_URL: redis.url, FIFO_PREFIX: uniquePrefix('example') }
    const a = await startExample(t, script, env)
    t.match(a.output(), /using Redis at redis:\/\/127\.0\.0\.1:\d+/)
    t.match((await api(a, 'GET', '/fifo/api/config')).json, { storeKind: 'redis' })

    await exercise(t, a)

    const b = await startExample(t, script, env)
    await until('both instances to be listed', async () => (await api<{ items: unknown[] }>(a, 'GET', '/fifo/api/instances')).json.items.length === 2, 10_000)
    // Updates through either instance go to one queue per product and land in order.
    for (let i = 1; i <= 10; i++) {
      t.equal((await api(i % 2 === 0 ? a : b, 'PUT', '/prices/stool', { cents: i })).status, 202)
    }
    t.equal((await api(b, 'POST', '/orders/o-9/checkout', { sku: 'sku-9', qty: 3 })).status, 202)
    await idle(b)
    const stool = (await api<{ appliedVersions: number[], inSync: boolean }>(a, 'GET', '/prices/stool')).json
    t.same(stool.appliedVersions, Array.from({ length: 10 }, (_, i) => i + 1), 'in order across instances')
    t.equal(stool.inSync, true)
    t.same((await api<{ steps: Array<{ step: string }> }>(a, 'GET', '/orders/o-9')).json.steps.map((s) => s.step), ['reserve', 'commit', 'release'])

    await b.stop()
    t.match(b.output(), /example: closed/)
    await a.stop()
    t.match(a.output(), /example: closed/)
  })
}
