import '../helpers/guard'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { NextFunction, Request, Response } from 'express'
import express from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic from '@fastify/static'
import { MemoryStore } from '../../plugin'
import { forEachAdapter, type AdminApp, type AppOptions, type BuildExtras } from './adapters'
import { call, errorSchema, q, schemaErrors } from './helpers'

interface Built { app: AdminApp, logs: AdminApp['logs'] }

const token = (value: unknown): string | undefined => (value as { headers: Record<string, string | undefined> }).headers.authorization

forEachAdapter(t, async (t, adapter) => {
  async function build (t: Test, opts: AppOptions = {}, extras: BuildExtras = {}): Promise<Built> {
    const app = await adapter.app(t, { worker: false, ...opts }, extras)
    await app.ready()
    return { app, logs: app.logs }
  }

  const ACTIONS: Array<['POST' | 'DELETE', string]> = [
    ['POST', `${q('a')}/pause`], ['POST', `${q('a')}/resume`], ['POST', `${q('a')}/retry`], ['POST', `${q('a')}/skip`],
    ['POST', '/fifo/api/dead/x/requeue'], ['DELETE', '/fifo/api/dead/x'],
  ]

  t.test('without an auth hook: reads work, every action is 403 saying how to enable it, logged once at startup', async (t) => {
    const { app, logs } = await build(t)
    await app.fifo.store.enqueue({ queue: 'a', name: 'job', payload: '[]' })
    t.equal((await call(app, 'GET', '/fifo/api/queues')).status, 200)
    const config = await call(app, 'GET', '/fifo/api/config')
    t.match(config.body, { readOnly: true, readOnlyReason: /dashboard\.auth/ })
    for (const [method, url] of ACTIONS) {
      const res = await call(app, method, url)
      t.equal(res.status, 403, `${method} ${url}`)
      t.same(schemaErrors(res.body, errorSchema), [])
      t.equal(res.body.code, 'FST_FIFO_READ_ONLY')
      t.match(res.body.message, /dashboard: \{ auth:/, 'says how to enable actions')
    }
    t.match(await app.fifo.store.getQueue('a'), { paused: false }, 'nothing changed')
    const warnings = logs.filter((l) => l.level === 40 && /read-only/.test(l.msg))
    t.equal(warnings.length, 1, 'one warning at startup')
    t.match(warnings[0].msg, /readable by anyone/)
  })

  t.test('dashboard.readOnly forces read-only even with an auth hook', async (t) => {
    const { app, logs } = await build(t, { dashboard: { auth: async () => {}, readOnly: true } })
    const res = await call(app, 'POST', `${q('a')}/pause`)
    t.equal(res.status, 403)
    t.match(res.body, { code: 'FST_FIFO_READ_ONLY', message: /dashboard\.readOnly/ })
    t.equal(logs.filter((l) => /read-only/.test(l.msg)).length, 1)
  })

  t.test('the auth hook runs on every dashboard request: API, metrics, page, assets, redirects, unknown paths', async (t) => {
    const seen: string[] = []
    const refusal = (): Error => Object.assign(new Error('missing or wrong token'), { statusCode: 401 })
    // Fastify's form throws; Express's is a middleware that calls next(err).
    const auth = adapter.kind === 'fastify'
      ? async (request: FastifyRequest): Promise<void> => {
        seen.push(request.url)
        if (token(request) !== 'Bearer good') throw refusal()
      }
      : (req: Request, _res: Response, next: NextFunction): void => {
          seen.push(req.originalUrl)
          next(token(req) === 'Bearer good' ? undefined : refusal())
        }
    const { app } = await build(t, { dashboard: { auth } }, {
      fastifySetup: (host) => { host.get('/hello', async () => ({ hello: 'world' })) },
      expressSetup: (host) => { host.get('/hello', (_req, res) => { res.json({ hello: 'world' }) }) },
    })
    const urls = ['/fifo/api/overview', '/fifo/api/queues', '/fifo/metrics', '/fifo/', '/fifo', '/fifo/js/main.js', '/fifo/css/dashboard.css', '/fifo/api/nothing', '/fifo/index.html']
    for (const url of urls) {
      const res = await call(app, 'GET', url)
      t.equal(res.status, 401, url)
      t.same(schemaErrors(res.body, errorSchema), [])
      t.match(res.body, { code: 'FST_FIFO_UNAUTHORIZED', message: /missing or wrong token/ })
    }
    const action = await call(app, 'POST', `${q('a')}/pause`)
    t.equal(action.status, 401, 'refused before the read-only, content-type and body checks')
    t.same(seen, [...urls, `${q('a')}/pause`])

    const ok = { authorization: 'Bearer good' }
    t.equal((await call(app, 'GET', '/fifo/api/overview', { headers: ok })).status, 200)
    t.equal((await call(app, 'GET', '/fifo/metrics', { headers: ok })).status, 200)
    const page = await call(app, 'GET', '/fifo/', { headers: ok })
    t.equal(page.status, 200)
    t.match(page.headers['content-type'], /text\/html/)
    await app.fifo.store.enqueue({ queue: 'a', name: 'job', payload: '[]' })
    t.equal((await call(app, 'POST', `${q('a')}/pause`, { headers: ok })).status, 200, 'actions allowed with auth')
    t.equal((await call(app, 'GET', '/hello')).status, 200, "the host's own routes are not behind the hook")
  })

  t.test('auth hook refusals: its own reply, a 403, a plain throw, a callback hook, a failing hook', async (t) => {
    await t.test('a hook that sends its own reply', async (t) => {
      const auth = adapter.kind === 'fastify'
        ? async (_req: FastifyRequest, reply: FastifyReply) => { await reply.code(403).header('x-why', 'no').send({ denied: true }) }
        : (_req: Request, res: Response) => { res.status(403).set('x-why', 'no').json({ denied: true }) }
      const { app } = await build(t, { dashboard: { auth } })
      const res = await call(app, 'GET', '/fifo/api/overview')
      t.equal(res.status, 403)
      t.same(res.body, { denied: true })
      t.equal(res.headers['x-why'], 'no')
    })
    await t.test('a thrown 403 keeps its status', async (t) => {
      const { app } = await build(t, { dashboard: { auth: () => { throw Object.assign(new Error('not an operator'), { statusCode: 403 }) } } })
      const res = await call(app, 'POST', `${q('a')}/pause`)
      t.equal(res.status, 403)
      t.match(res.body, { code: 'FST_FIFO_UNAUTHORIZED', message: /not an operator/ })
    })
    await t.test('a plain throw is a 401', async (t) => {
      const { app } = await build(t, { dashboard: { auth: async () => { throw new Error('nope') } } })
      const res = await call(app, 'GET', '/fifo/api/queues')
      t.equal(res.status, 401)
      t.equal(res.body.code, 'FST_FIFO_UNAUTHORIZED')
    })
    await t.test('a callback-style hook (like @fastify/basic-auth, or any Express middleware) works', async (t) => {
      const basicAuth = (req: FastifyRequest | Request, reply: FastifyReply | Response, done: (err?: Error) => void): void => {
        if (token(req) === `Basic ${Buffer.from('ops:secret').toString('base64')}`) return done()
        if (adapter.kind === 'fastify') (reply as FastifyReply).header('www-authenticate', 'Basic realm="fifo"')
        else (reply as Response).set('www-authenticate', 'Basic realm="fifo"')
        done(Object.assign(new Error('Missing or bad formatted authorization header'), { statusCode: 401 }))
      }
      const { app } = await build(t, { dashboard: { auth: basicAuth } })
      const refused = await call(app, 'GET', '/fifo/')
      t.equal(refused.status, 401)
      t.equal(refused.headers['www-authenticate'], 'Basic realm="fifo"', 'headers the hook set are kept')
      const ok = await call(app, 'GET', '/fifo/', { headers: { authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` } })
      t.equal(ok.status, 200)
    })
    await t.test('a hook that fails with a 5xx: its status, no details', async (t) => {
      const { app } = await build(t, { dashboard: { auth: async () => { throw Object.assign(new Error('session store at 10.1.2.3 down'), { statusCode: 503 }) } } })
      const res = await call(app, 'GET', '/fifo/api/queues')
      t.equal(res.status, 503)
      t.notMatch(res.raw, /10\.1\.2\.3/)
    })
  })

  t.test('actions accept only JSON bodies: 415 otherwise, nothing parsed or changed', async (t) => {
    const { app } = await build(t, { dashboard: { auth: async () => {} } })
    await app.fifo.store.enqueue({ queue: 'a', name: 'job', payload: '[]' })
    const refused: Array<[string, Record<string, string>, string | undefined]> = [
      ['form', { 'content-type': 'application/x-www-form-urlencoded' }, 'reason=x'],
      ['text/plain (what a cross-site form can send)', { 'content-type': 'text/plain' }, '{}'],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
      ['no content-type, no body', {}, undefined],
      ['no content-type with a body', {}, '{}'],
    ]
    for (const [label, headers, raw] of refused) {
      const res = await call(app, 'POST', `${q('a')}/pause`, { headers, raw: raw ?? null })
      t.equal(res.status, 415, label)
      const body = res.body
      t.same(schemaErrors(body, errorSchema), [])
      t.equal(body.code, 'FST_FIFO_UNSUPPORTED_MEDIA_TYPE')
    }
    const del = await call(app, 'DELETE', '/fifo/api/dead/x', { raw: null })
    t.equal(del.status, 415, 'DELETE too')
    t.match(await app.fifo.store.getQueue('a'), { paused: false }, 'nothing changed')
    t.equal((await call(app, 'POST', `${q('a')}/pause`, { headers: { 'content-type': 'application/json; charset=utf-8' } })).status, 200)
    const badJson = await call(app, 'POST', `${q('a')}/resume`, { raw: '{nope', headers: { 'content-type': 'application/json' } })
    t.equal(badJson.status, 400)
    t.equal(badJson.body.code, 'FST_FIFO_INVALID_REQUEST')
    const extra = await call(app, 'POST', `${q('a')}/skip`, { body: { reason: 'x'.repeat(501) } })
    t.equal(extra.status, 400)
    t.match(extra.body.message, /reason/)
  })

  t.test('a failing store is a 503 with a stable code, never a 500, never its message', async (t) => {
    class BrokenStore extends MemoryStore {
      override async overview (): Promise<never> { throw new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.5:6379') }
      override async listQueues (): Promise<never> { throw new TypeError("Cannot read properties of undefined (reading 'x')") }
    }
    const { app } = await build(t, { store: new BrokenStore(), dashboard: { auth: async () => {} } })
    for (const url of ['/fifo/api/overview', '/fifo/api/queues', '/fifo/metrics']) {
      const res = await call(app, 'GET', url)
      t.equal(res.status, 503, url)
      t.same(schemaErrors(res.body, errorSchema), [])
      t.equal(res.body.code, 'FST_FIFO_STORE_FAILED')
      t.notMatch(res.raw, /hunter2|10\.0\.0\.5|Cannot read|\.ts:\d/)
    }
  })

  t.test('security headers on every dashboard response', async (t) => {
    const { app } = await build(t)
    for (const url of ['/fifo/', '/fifo/js/main.js', '/fifo/api/overview']) {
      const res = await call(app, 'GET', url)
      t.match(res.headers['content-security-policy'], /default-src 'none'.*script-src 'self'/, url)
      t.equal(res.headers['x-content-type-options'], 'nosniff')
      t.equal(res.headers['x-frame-options'], 'DENY')
    }
    t.equal((await call(app, 'GET', '/fifo/api/overview')).headers['cache-control'], 'no-store')
  })

  t.test('paths: <path> redirects to <path>/ keeping the query; a custom path; dashboard: false', async (t) => {
    const { app } = await build(t, {}, { path: '/ops/queues' })
    const redirect = await call(app, 'GET', '/ops/queues?tab=dead')
    t.equal(redirect.status, 302)
    t.equal(redirect.headers.location, '/ops/queues/?tab=dead')
    t.equal((await call(app, 'GET', '/ops/queues/')).status, 200)
    t.equal((await call(app, 'GET', '/ops/queues/api/overview')).status, 200)
    t.equal((await call(app, 'GET', '/fifo/api/overview')).status, 404)

    const root = await build(t, {}, { path: '/' })
    t.match((await call(root.app, 'GET', '/')).raw, /<!doctype html>/, "dashboard.path '/' serves the page at / (no redirect loop)")
    t.equal((await call(root.app, 'GET', '/api/config')).status, 200)

    const off = await build(t, { dashboard: false })
    for (const url of ['/fifo/', '/fifo/api/overview', '/fifo/metrics']) {
      const res = await call(off.app, 'GET', url)
      t.equal(res.status, 404, `${url} is not served`)
      t.notOk(String(res.body?.code).startsWith('FST_FIFO'), 'the host app answers, not the plugin')
    }
  })

  t.test("the dashboard's static files never clash with the host app's", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'host-static-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'index.html'), '<p>host</p>')
    writeFileSync(join(dir, 'app.js'), 'host()')
    const { app } = await build(t, {}, {
      fastifySetup: async (host) => {
        await host.register(fastifyStatic, { root: dir })
        host.get('/download', async (_req, reply) => await reply.sendFile('app.js'))
      },
      expressSetup: (host) => {
        host.use(express.static(dir))
        host.get('/download', (_req, res) => { res.sendFile(join(dir, 'app.js')) })
      },
    })
    t.equal((await call(app, 'GET', '/app.js')).raw, 'host()')
    t.equal((await call(app, 'GET', '/download')).raw, 'host()', "the host's reply.sendFile still works")
    t.match((await call(app, 'GET', '/fifo/')).raw, /fastify-fifo/)
    t.match((await call(app, 'GET', '/fifo/js/main.js')).headers['content-type'], /javascript/)
  })
})
