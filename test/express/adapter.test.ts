import '../helpers/guard'
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import express, { type Express } from 'express'
import pino from 'pino'
import { bindTasks, createFifo, task, taskContext, type ExpressFifo, type ExpressFifoOptions } from '../../plugin/express'
import { until } from '../helpers/app'

interface Started { fifo: ExpressFifo, app: Express, base: string, logs: Array<Record<string, unknown>> }

/** An Express app with fifo's middleware, a route that enqueues, and the router at /fifo. */
async function start (t: Test, opts: ExpressFifoOptions = {}, setup: (fifo: ExpressFifo, app: Express) => void = () => {}): Promise<Started> {
  const logs: Started['logs'] = []
  const sink = new Writable({ write (chunk, _e, done) { for (const l of String(chunk).split('\n')) if (l !== '') logs.push(JSON.parse(l)); done() } })
  const fifo = createFifo({ logger: pino({ level: 'info' }, sink), leaseMs: 600, sweepMs: 50, ...opts })
  const app = express()
  setup(fifo, app)
  await fifo.start()
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await fifo.close()
  })
  return { fifo, app, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs }
}

async function post (url: string, headers: Record<string, string> = {}, body = '{}'): Promise<{ status: number, body: any }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }, agent: false }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('req.fifo.enqueue carries req.id, else a valid X-Request-Id, else a generated id, into the task and its log lines', async (t) => {
  const seen: Array<string | null> = []
  const { fifo, base, logs } = await start(t, {}, (fifo, app) => {
    const note = fifo.define('note', { queue: 'notes' }, async (text: string) => {
      seen.push(taskContext()?.requestId ?? null)
      taskContext()?.log.info({ text }, 'noted')
    })
    app.use((req, _res, next) => {
      const own = req.get('x-own-id')
      if (own !== undefined) (req as unknown as { id: string }).id = own
      next()
    })
    app.use(fifo.middleware())
    app.post('/note', async (req, res) => { res.json(await req.fifo.enqueue(note, String(req.get('x-text')))) })
  })
  t.equal(fifo.storeKind, 'memory')
  t.equal((await post(`${base}/note`, { 'x-own-id': 'own-1', 'x-request-id': 'hdr-1', 'x-text': 'a' })).status, 200)
  await post(`${base}/note`, { 'x-request-id': 'hdr-2', 'x-text': 'b' })
  await post(`${base}/note`, { 'x-request-id': 'x'.repeat(129), 'x-text': 'c' })
  await post(`${base}/note`, { 'x-request-id': 'bad\tid', 'x-text': 'd' })
  await post(`${base}/note`, { 'x-text': 'e' })
  await until('five tasks ran', () => seen.length === 5)
  t.same(seen.slice(0, 2), ['own-1', 'hdr-2'], 'req.id first, then the header')
  for (const id of seen.slice(2)) t.match(id, /^req-[0-9a-f-]{36}$/, 'a long, control-character or missing header gets a generated id')
  t.equal(new Set(seen).size, 5)
  const lines = logs.filter((l) => l.msg === 'noted')
  t.same(lines.map((l) => [l.text, l.reqId]), [['a', 'own-1'], ['b', 'hdr-2'], ['c', seen[2]], ['d', seen[3]], ['e', seen[4]]], "the handler's log lines carry the request id")
})

t.test('lifecycle: enqueue before start() is refused; define after it is refused; close() is idempotent and refuses later enqueues', async (t) => {
  const fifo = createFifo({ logger: pino({ level: 'silent' }) })
  const job = fifo.define('job', { queue: 'q' }, async () => {})
  await t.rejects(job(), { code: 'FST_FIFO_NOT_STARTED', message: /job.*fifo\.start\(\)/ })
  await t.rejects(fifo.enqueue(job), { code: 'FST_FIFO_NOT_STARTED' })
  const started = fifo.start()
  const during = job()
  await started
  t.match(await during, { queue: 'q', name: 'job' }, 'an enqueue made while start() connects waits for it')
  t.throws(() => fifo.define('late', { queue: 'q' }, async () => {}), { code: 'FST_FIFO_INVALID_DEFINITION' })
  const closing = fifo.close()
  t.equal(fifo.close(), fifo.close(), 'a second close() returns the same promise')
  await closing
  await t.rejects(job(), { code: 'FST_FIFO_CLOSED' })
})

t.test('close() before start() closes cleanly', async (t) => {
  const fifo = createFifo({ logger: pino({ level: 'silent' }) })
  await fifo.close()
  t.pass()
})

t.test('options: checked up front, naming the bad one', async (t) => {
  t.throws(() => createFifo({ dashboard: { path: '/x' } } as never), { code: 'FST_FIFO_INVALID_OPTION', message: /dashboard\.path.*app\.use/ })
  t.throws(() => createFifo({ logger: console } as never), { code: 'FST_FIFO_INVALID_OPTION', message: /"logger"/ })
  t.throws(() => createFifo({ concurrency: 0 }), { code: 'FST_FIFO_INVALID_OPTION', message: /concurrency/ })
  t.throws(() => createFifo({ nope: 1 } as never), { code: 'FST_FIFO_INVALID_OPTION', message: /"nope"/ })
  t.throws(() => createFifo({ dashboard: { auth: 'yes' } } as never), { code: 'FST_FIFO_INVALID_OPTION', message: /dashboard\.auth/ })
  const off = createFifo({ dashboard: false, logger: pino({ level: 'silent' }) })
  t.throws(() => off.router(), { code: 'FST_FIFO_INVALID_OPTION', message: /dashboard/ })
  await off.close()
})

t.test('without a logger, only warnings and errors are written (to stderr)', async (t) => {
  const written: string[] = []
  const original = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true }) as typeof process.stderr.write
  try {
    const fifo = createFifo()
    fifo.router()
    await fifo.close()
  } finally {
    process.stderr.write = original
  }
  t.ok(written.some((l) => /"level":"warn".*memory/.test(l)), 'the memory-store warning')
  t.ok(written.some((l) => /"level":"warn".*read-only/.test(l)), 'the read-only warning')
  t.notOk(written.some((l) => /"level":"info"/.test(l)))
})

t.test('express.json() ahead of the router: actions still work and stay JSON-only', async (t) => {
  const { fifo, base } = await start(t, { worker: false, dashboard: { auth: (_req, _res, next) => { next() } } }, (fifo, app) => {
    app.use(express.json(), express.urlencoded({ extended: false }))
    app.use('/fifo', fifo.router())
  })
  await fifo.store.enqueue({ queue: 'a', name: 'job', payload: '[]' })
  const ok = await post(`${base}/fifo/api/queues/a/pause`)
  t.equal(ok.status, 200)
  t.match(ok.body, { ok: true, queue: { paused: true } })
  const form = await post(`${base}/fifo/api/queues/a/resume`, { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')
  t.equal(form.status, 415)
  const big = await post(`${base}/fifo/api/queues/a/skip`, {}, JSON.stringify({ reason: 'x'.repeat(5000) }))
  t.equal(big.status, 413, 'the 4 KiB limit holds even when another parser read the body')
  t.match(await fifo.store.getQueue('a'), { paused: true, depth: 1 })
})

t.test('@task classes bind to the Express fifo', async (t) => {
  const ran: string[] = []
  class Mail {
    @task({ queue: (to: string) => `mail:${to}` })
    async send (to: string): Promise<void> { ran.push(to) }
  }
  const { fifo } = await start(t, {}, (fifo) => { Object.assign(t.context, { mail: bindTasks(fifo, new Mail()) }) })
  const mail = (t.context as { mail: Mail }).mail
  await mail.send('a@example.test')
  await until('the method ran', () => ran.length === 1)
  t.same(fifo.tasks, ['Mail.send'])
})
