import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import pino from 'pino'
import fifoPlugin, { type Fifo } from '../../plugin'
import { createFifo, type ExpressFifoOptions } from '../../plugin/express'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = join(__dirname, '..', 'artifacts')

/** Headless Debian chromium with a fresh profile; nothing leaves 127.0.0.1. */
export async function launch (): Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'fifo-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
    locale: 'en-US',
    timezoneId: 'UTC',
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

export interface PageWatch {
  /** Console errors, uncaught page errors, failed requests, dialogs (alert() would mean injected script ran). */
  problems: string[]
  /** Every URL the page requested. */
  requests: string[]
}

export function watch (page: Page): PageWatch {
  const w: PageWatch = { problems: [], requests: [] }
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') w.problems.push(`console.${m.type()}: ${m.text()}`) })
  page.on('pageerror', (e) => w.problems.push(`pageerror: ${e.message}`))
  // ERR_ABORTED: the page itself dropped the request (a reload while a live refresh was in flight), not a failure.
  page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') w.problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`) })
  page.on('dialog', (d) => {
    w.problems.push(`dialog: ${d.type()} ${d.message()}`)
    d.dismiss().catch(() => {})
  })
  page.on('request', (r) => w.requests.push(r.url()))
  return w
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The queues table row of one queue, matched on its exact name as text. */
export function queueRow (page: Page, name: string): Locator {
  return page.locator('tr.queue-row').filter({ has: page.locator('.qname', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) })
}

export function artifactPath (file: string): string {
  mkdirSync(ARTIFACTS, { recursive: true })
  return join(ARTIFACTS, file)
}

/** A dashboard app on either adapter, listening on loopback once `listen()` is called (define tasks before). */
export interface ServedApp {
  fifo: Fifo
  listen: () => Promise<string>
  close: () => Promise<void>
}

export async function serve (kind: 'fastify' | 'express', opts: Record<string, unknown>): Promise<ServedApp> {
  if (kind === 'fastify') {
    const app = Fastify({ logger: false })
    await app.register(fifoPlugin, opts)
    return { fifo: app.fifo, listen: async () => await app.listen({ host: '127.0.0.1', port: 0 }), close: async () => { await app.close() } }
  }
  const fifo = createFifo({ logger: pino({ level: 'error' }), ...opts } as ExpressFifoOptions)
  const app = express()
  app.use('/fifo', fifo.router())
  let server: Server | null = null
  return {
    fifo,
    async listen () {
      await fifo.start()
      server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    },
    async close () {
      if (server !== null) {
        server.closeAllConnections()
        await new Promise((resolve) => server!.close(resolve))
      }
      await fifo.close()
    },
  }
}
