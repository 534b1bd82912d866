import '../helpers/guard'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parsePrometheusText, sampleValue } from '../admin/prometheus-parser'

// Packs the package as `npm publish` would, installs the tarball into a fresh
// project, and uses it from CommonJS, ESM and TypeScript as a user would.

const run = promisify(execFile)
const root = join(__dirname, '..', '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

interface PackResult { filename: string, files: Array<{ path: string }> }

/** A user's shell environment: without this test runner's loaders and npm's per-script variables. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TAP|TS_NODE|npm_)/.test(key) && key !== 'NODE_OPTIONS'))
env.npm_config_update_notifier = 'false'

async function npmIn (cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run(npm, args, { cwd, env, maxBuffer: 32 * 1024 * 1024 })
  return stdout
}

// What a user project does with the package: register it, define a task, enqueue, see it run, see the dashboard.
const USE = `
  const app = Fastify({ logger: false })
  await app.register(fifo, { leaseMs: 1000, sweepMs: 50 })
  const ran = []
  const greet = app.fifo.define('greet', { queue: (who) => 'greet:' + who }, async (who, n) => { ran.push(who + n + ':' + taskContext().queue) })
  await app.ready()
  const stored = await greet('ada', 1)
  await greet('ada', 2)
  for (let i = 0; i < 500 && ran.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const page = await app.inject('/fifo/')
  const config = await app.inject('/fifo/api/config')
  const metrics = await app.inject('/fifo/metrics')
  await app.close()
  console.log(JSON.stringify({
    ran, stored,
    shape: { type: typeof fifo, defaultIsSelf: fifo.default === fifo, named: fifo.fifo === fifo, errors: typeof errors.FST_FIFO_INVALID_OPTION, decorator: typeof bindTasks + typeof task + typeof taskOf },
    page: { status: page.statusCode, type: String(page.headers['content-type']) },
    storeKind: config.json().storeKind,
    metrics: { status: metrics.statusCode, type: String(metrics.headers['content-type']), body: metrics.body },
  }))
`

const CJS = `'use strict'
const Fastify = require('fastify')
const fifo = require('fastify-fifo')
const { errors, taskContext, bindTasks, task, taskOf } = require('fastify-fifo')
;(async () => {${USE}})().catch((err) => { console.error(err); process.exit(1) })
`

const ESM = `import Fastify from 'fastify'
import fifo, { errors, taskContext, bindTasks, task, taskOf } from 'fastify-fifo'
${USE}
`

// Type-checked against the installed declarations, from both module systems.
const TS_BODY = `
const app = Fastify()
app.register(fifo, { redis: 'redis://127.0.0.1:1', concurrency: 2, dashboard: { path: '/ops' } })
const reserve = app.fifo.define('reserve', { queue: (id: string) => 'order:' + id }, async (id: string, qty: number) => { taskContext()?.log.info({ id, qty }) })
const stored: Promise<EnqueuedTask> = reserve('o-1', 2)
// @ts-expect-error qty is a number
reserve('o-1', 'two')
const code: string = new errors.FST_FIFO_INVALID_OPTION('x', 'y').code
class Orders { @task({ queue: (id: string) => id }) async reserve (id: string): Promise<void> { taskContext()?.log.info(id) } }
const orders = bindTasks(app, new Orders())
const typed: Task<[id: string]> = taskOf(orders, 'reserve')
export { stored, code, typed }
`
const TS_IMPORTS = "import Fastify from 'fastify'\nimport fifo, { bindTasks, errors, task, taskContext, taskOf, type EnqueuedTask, type Task } from 'fastify-fifo'\n"

// Three installs into fresh projects (two fetch Express from the registry) outlast tap's default file timeout.
t.setTimeout(900_000)
const dir = mkdtempSync(join(tmpdir(), 'fifo-pack-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let packing: Promise<PackResult[]> | null = null
/** Builds and packs once for the whole file (what `npm pack` does, with its prepack script, the build, run first on its own so its output stays out of the JSON). */
async function pack (): Promise<PackResult[]> {
  packing ??= (async () => {
    await npmIn(root, ['run', 'build'])
    return JSON.parse(await npmIn(root, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir])) as PackResult[]
  })()
  return await packing
}

t.test('npm pack ships the build, the dashboard and the docs, and works from CJS, ESM and TypeScript', async (t) => {
  const packed = await pack()
  const files = packed[0].files.map((f) => f.path).sort()
  const outside = files.filter((f) => !(f.startsWith('dist/') || f.startsWith('ui/') || ['package.json', 'README.md', 'LICENSE'].includes(f)))
  t.same(outside, [], 'only dist/, ui/, README.md, LICENSE and package.json are shipped')
  const sources = files.filter((f) => f.startsWith('dist/') && f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.d.mts'))
  t.same(sources, [], 'no TypeScript sources')
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts', 'dist/decorator.js', 'README.md', 'LICENSE', 'ui/index.html',
    'dist/express/index.js', 'dist/express/index.d.ts', 'dist/express/index.mjs', 'dist/express/index.d.mts']) {
    t.ok(files.includes(f), `ships ${f}`)
  }
  t.ok(files.some((f) => /^dist\/store\/redis\/lua\/[a-z][\w-]*\.lua$/.test(f)), 'ships the Lua scripts')
  t.notOk(files.some((f) => /(^|\/)(test|example-server|bench)\//.test(f) || f.endsWith('.tgz')), 'no tests, example or benchmarks')

  const project = join(dir, 'user-project')
  rmSync(project, { recursive: true, force: true })
  mkdirSync(project, { recursive: true })
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, type: 'commonjs' }))
  await npmIn(project, ['install', join(dir, packed[0].filename), '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel', 'error'])

  for (const peer of ['prom-client', '@opentelemetry/api', 'express']) t.notOk(existsSync(join(project, 'node_modules', peer)), `the optional peer ${peer} is not installed`)

  writeFileSync(join(project, 'use.cjs'), CJS)
  writeFileSync(join(project, 'use.mjs'), ESM)
  for (const [file, label] of [['use.cjs', 'require()'], ['use.mjs', 'import']] as const) {
    const { stdout } = await run(process.execPath, [file], { cwd: project, env })
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
    t.same(result.shape, { type: 'function', defaultIsSelf: true, named: true, errors: 'function', decorator: 'functionfunctionfunction' }, `${label}: the plugin function, with .default, .fifo and the named exports`)
    t.same(result.ran, ['ada1:greet:ada', 'ada2:greet:ada'], `${label}: tasks ran in order`)
    t.match(result.stored, { queue: 'greet:ada', name: 'greet' }, `${label}: enqueue resolved the stored task`)
    t.same(result.page, { status: 200, type: 'text/html; charset=utf-8' }, `${label}: the dashboard is served from the package`)
    t.equal(result.storeKind, 'memory')
    t.same([result.metrics.status, result.metrics.type], [200, 'text/plain; version=0.0.4; charset=utf-8'], `${label}: <path>/metrics serves without prom-client`)
    t.equal(sampleValue(parsePrometheusText(result.metrics.body), 'fifo_tasks_completed_total'), 2, `${label}: with the counters`)
  }

  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      typeRoots: [join(root, 'node_modules', '@types')],
      types: ['node'],
    },
    files: ['types.mts', 'types.cts'],
  }))
  writeFileSync(join(project, 'types.mts'), TS_IMPORTS + TS_BODY)
  writeFileSync(join(project, 'types.cts'), TS_IMPORTS + TS_BODY)
  const typecheck = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env }).then(() => '', (err: { stdout?: string }) => err.stdout ?? String(err))
  t.equal(typecheck, '', 'the shipped declarations type-check from ESM (.mts) and CommonJS (.cts)')
})

// The Express adapter from the same tarball, in a fresh project with Express 4 and with Express 5 from the registry.
const EXPRESS_USE = `
  const fifo = createFifo({ leaseMs: 1000, sweepMs: 50, dashboard: { auth: (req, res, next) => next() } })
  const ran = []
  const greet = fifo.define('greet', { queue: (who) => 'greet:' + who }, async (who, n) => { ran.push(who + n + ':' + taskContext().requestId) })
  const app = express()
  app.use(fifo.middleware())
  app.post('/greet/:who', async (req, res, next) => { try { res.json(await req.fifo.enqueue(greet, req.params.who, Number(req.query.n))) } catch (err) { next(err) } })
  app.use('/fifo', fifo.router())
  await fifo.start()
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  const base = 'http://127.0.0.1:' + server.address().port
  const stored = await (await fetch(base + '/greet/ada?n=1', { method: 'POST', headers: { 'x-request-id': 'r-1' } })).json()
  await fetch(base + '/greet/ada?n=2', { method: 'POST', headers: { 'x-request-id': 'r-2' } })
  for (let i = 0; i < 500 && ran.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const page = await fetch(base + '/fifo/')
  await page.text()
  const config = await (await fetch(base + '/fifo/api/queues/' + encodeURIComponent('a/' + 'b'.repeat(254)))).json()
  const pause = await fetch(base + '/fifo/api/queues/x/pause', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })
  const closed = new Promise((resolve) => server.close(resolve))
  server.closeAllConnections()
  await closed
  await fifo.close()
  console.log(JSON.stringify({
    ran, stored, expressVersion: require('express/package.json').version,
    shape: { createFifo: typeof createFifo, errors: typeof errors.FST_FIFO_INVALID_OPTION, decorator: typeof bindTasks + typeof task + typeof taskOf },
    page: { status: page.status, type: page.headers.get('content-type') },
    longName: config.code, pause: pause.status,
  }))
`
const EXPRESS_CJS = `'use strict'
const express = require('express')
const { createFifo, errors, taskContext, bindTasks, task, taskOf } = require('fastify-fifo/express')
;(async () => {${EXPRESS_USE}})().catch((err) => { console.error(err); process.exit(1) })
`
const EXPRESS_ESM = `import express from 'express'
import { createRequire } from 'node:module'
import { createFifo, errors, taskContext, bindTasks, task, taskOf } from 'fastify-fifo/express'
const require = createRequire(import.meta.url)
${EXPRESS_USE}
`
const EXPRESS_TS = `
const fifo = createFifo({ redis: 'redis://127.0.0.1:1', dashboard: { auth: (req, res, next) => { if (req.get('authorization') === undefined) res.status(401).end(); else next() } } })
const reserve = fifo.define('reserve', { queue: (id: string) => 'order:' + id }, async (id: string, qty: number) => { taskContext()?.log.info({ id, qty }) })
const app = express()
app.use(fifo.middleware())
app.post('/orders/:id', async (req, res) => {
  const stored: EnqueuedTask = await req.fifo.enqueue(reserve, String(req.params.id), 2)
  // @ts-expect-error qty is a number
  await req.fifo.enqueue(reserve, 'o-1', 'two')
  res.json(stored)
})
app.use('/fifo', fifo.router())
const started: Promise<void> = fifo.start()
class Orders { @task({ queue: (id: string) => id }) async reserve (id: string): Promise<void> { taskContext()?.log.info(id) } }
const typed: Task<[id: string]> = taskOf(bindTasks(fifo, new Orders()), 'reserve')
export { started, typed }
`
const EXPRESS_TS_IMPORTS = "import express from 'express'\nimport { bindTasks, createFifo, task, taskContext, taskOf, type EnqueuedTask, type Task } from 'fastify-fifo/express'\n"

for (const major of [4, 5]) {
  t.test(`fastify-fifo/express works with Express ${major} from CJS, ESM and TypeScript`, async (t) => {
    const packed = await pack()
    const project = join(dir, `express-${major}`)
    mkdirSync(project, { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `express-${major}-project`, version: '1.0.0', private: true, type: 'commonjs' }))
    await npmIn(project, ['install', join(dir, packed[0].filename), `express@${major}`, `@types/express@${major}`, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel', 'error'])

    writeFileSync(join(project, 'use.cjs'), EXPRESS_CJS)
    writeFileSync(join(project, 'use.mjs'), EXPRESS_ESM)
    for (const [file, label] of [['use.cjs', 'require()'], ['use.mjs', 'import']] as const) {
      const { stdout } = await run(process.execPath, [file], { cwd: project, env })
      const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
      t.match(result.expressVersion, new RegExp(`^${major}\\.`), `${label}: runs on Express ${major}`)
      t.same(result.shape, { createFifo: 'function', errors: 'function', decorator: 'functionfunctionfunction' }, `${label}: the named exports`)
      t.same(result.ran, ['ada1:r-1', 'ada2:r-2'], `${label}: tasks ran in order with their request ids`)
      t.match(result.stored, { queue: 'greet:ada', name: 'greet' }, `${label}: req.fifo.enqueue resolved the stored task`)
      t.same(result.page, { status: 200, type: 'text/html; charset=utf-8' }, `${label}: the dashboard is served from the package`)
      t.equal(result.longName, 'FST_FIFO_NOT_FOUND', `${label}: a 256-character name with "/" reaches the API`)
      t.equal(result.pause, 415, `${label}: actions are JSON-only`)
    }

    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, typeRoots: ['node_modules/@types', join(root, 'node_modules', '@types')], types: ['node'] },
      files: ['types.mts', 'types.cts'],
    }))
    writeFileSync(join(project, 'types.mts'), EXPRESS_TS_IMPORTS + EXPRESS_TS)
    writeFileSync(join(project, 'types.cts'), EXPRESS_TS_IMPORTS.replace("import express from 'express'", "import express = require('express')") + EXPRESS_TS)
    const typecheck = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env }).then(() => '', (err: { stdout?: string }) => err.stdout ?? String(err))
    t.equal(typecheck, '', `the shipped declarations type-check with @types/express ${major} from ESM (.mts) and CommonJS (.cts)`)
  })
}
