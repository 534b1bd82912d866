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
  page.on('requestfailed', (r) => w.problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`))
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
