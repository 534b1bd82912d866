import '../helpers/guard'
import { existsSync, statSync } from 'node:fs'
import t from 'tap'
import type { Page } from 'playwright-core'
import { artifactPath, CHROMIUM, launch, queueRow, serve, watch, type PageWatch } from './harness'

const XSS = '<img src=x onerror=alert(1)>'

// Two full browser sessions (one per adapter) take longer than tap's default file timeout.
t.setTimeout(480_000)

if (!existsSync(CHROMIUM)) {
  t.fail(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`)
} else {
  // The same page, the same checks, served by each adapter.
  for (const kind of ['fastify', 'express'] as const) {
    t.test(`the dashboard in headless Chromium (${kind})`, async (t) => {
    // The screenshots: dashboard.png (Fastify), dashboard-express.png (Express).
      const shot = (name: string): string => artifactPath(kind === 'fastify' ? `${name}.png` : `${name}-express.png`)
      // A gate opened before its handler starts lets it straight through.
      const waiting = new Map<string, () => void>()
      const opened = new Set<string>()
      let allOpen = false
      const gate = async (queue: string): Promise<void> => {
        if (allOpen || opened.has(queue)) return
        await new Promise<void>((resolve) => waiting.set(queue, resolve))
      }
      const open = (queue: string): void => {
        opened.add(queue)
        waiting.get(queue)?.()
      }
      const openAll = (): void => {
        allOpen = true
        for (const resolve of waiting.values()) resolve()
      }
      let supplierUp = false
      const ran: string[] = []
      t.teardown(async () => {
        openAll()
        await app.close()
      })
      // One app for the whole run; handlers wait on gates the test opens.
      const app = await serve(kind, { concurrency: 3, leaseMs: 2000, sweepMs: 50, dashboard: { auth: async () => {} } })
      const hold = app.fifo.define('hold', { queue: (q: string) => q }, async (q: string) => { await gate(q) })
      const reserve = app.fifo.define('reserve', { queue: (order: string) => `order:${order}`, attempts: 1 }, async (order: string, step: number) => {
        if (!supplierUp) throw new Error('Error: supplier API timed out after 5000 ms (POST /v1/reservations)')
        ran.push(`${order}#${step}`)
      })
      const injected = app.fifo.define('injected', { queue: (text: string) => `xss:${text}`, attempts: 1 }, async (text: string) => {
        throw new Error(text)
      })
      const charge = app.fifo.define('charge', { queue: (id: string) => `payment:${id}`, attempts: 5, backoff: 600_000 }, async (id: string) => {
        throw new Error(`ECONNRESET: card network connection reset while charging ${id}`)
      })
      const quick = app.fifo.define('send-email', { queue: (user: string) => `user:${user}` }, async (user: string, template: string) => {
        ran.push(`${user}:${template}`)
      })
      // The Limiters tab: a limiter of 2 starts per 30 s and 1 at once; a partner call holds until the test lets it go.
      app.fifo.limiter('partner-api', { max: 2, perMs: 30_000, concurrency: 1 })
      const calls: string[] = []
      const inCall = new Map<string, () => void>()
      const notify = app.fifo.define('notify-partner', { queue: (partner: string) => `partner:${partner}`, limiter: 'partner-api' }, async (partner: string) => {
        calls.push(partner)
        await new Promise<void>((resolve) => inCall.set(partner, resolve))
      })
      t.teardown(() => { for (const done of inCall.values()) done() })
      const base = await app.listen()
      const url = `${base}/fifo/`

      const browser = await launch()
      t.teardown(browser.close)
      browser.context.setDefaultTimeout(10_000)
      const page = await browser.context.newPage()
      const seen = watch(page)

      await t.test('the page loads with no console errors and only talks to its own server', async (t) => {
        await page.goto(url)
        await page.locator('body.ready').waitFor()
        await page.locator('#live-label', { hasText: 'Live' }).waitFor()
        await page.locator('#queues-empty-first').waitFor({ state: 'visible' })
        t.match(await page.locator('#queues-empty-first').innerText(), /No queues yet/, 'a first-time user is told what to do')
        t.same(seen.problems, [])
        t.ok(seen.requests.length > 5)
        t.same(seen.requests.filter((u) => !u.startsWith(base)), [], 'no request leaves the app (no CDN, no fonts)')
      })

      await t.test('a queue appears within 2 s of enqueueing', async (t) => {
        await hold('arrivals')
        const enqueuedAt = Date.now()
        await queueRow(page, 'arrivals').waitFor({ timeout: 2000 })
        t.comment(`visible ${Date.now() - enqueuedAt} ms after the enqueue resolved`)
        t.equal(await queueRow(page, 'arrivals').locator('.badge').innerText(), 'running')
        open('arrivals')
        await queueRow(page, 'arrivals').waitFor({ state: 'detached', timeout: 5000 })
      })

      await t.test('a halted queue shows its error, and Retry unblocks it', async (t) => {
        await reserve('o-17', 1)
        await reserve('o-17', 2)
        const row = queueRow(page, 'order:o-17')
        await row.and(page.locator('[data-state="halted"]')).waitFor({ timeout: 5000 })
        t.match(await row.locator('.note').innerText(), /supplier API timed out/)
        t.equal(await row.locator('td.num').first().innerText(), '2', 'depth 2: the second task waits behind the head')
        const halted = page.locator('[data-stat="halted"] .stat-value')
        t.equal(await halted.innerText(), '1')

        supplierUp = true
        await row.locator('button[data-action="retry"]').click()
        await page.locator('.toast', { hasText: 'Retry: order:o-17' }).waitFor()
        await row.waitFor({ state: 'detached', timeout: 5000 })
        t.same(ran.filter((r) => r.startsWith('o-17')), ['o-17#1', 'o-17#2'], 'both tasks ran, in order')
      })

      await t.test('queue names, arguments and errors render as text, never as HTML', async (t) => {
        await injected(XSS)
        const name = `xss:${XSS}`
        const row = queueRow(page, name)
        await row.and(page.locator('[data-state="halted"]')).waitFor({ timeout: 5000 })
        t.equal(await row.locator('.qname').innerText(), name)
        t.equal(await row.locator('.note').innerText(), XSS)
        await row.click()
        const detail = page.locator('tr.detail-row')
        await detail.locator('pre.args').waitFor()
        t.equal(await detail.locator('pre.args').innerText(), JSON.stringify([XSS]))
        t.equal(await detail.locator('pre.error-text').innerText(), XSS)
        t.equal(await detail.locator('.detail-title').innerText(), name)

        // Skip it (a destructive action: confirm first) and look at it in the dead letters.
        await detail.locator('button[data-action="skip"]').click()
        const dialog = page.locator('dialog#confirm')
        await dialog.waitFor({ state: 'visible' })
        t.equal(await dialog.locator('#confirm-subject').innerText(), name)
        await dialog.locator('#confirm-ok').click()
        await row.waitFor({ state: 'detached', timeout: 5000 })
        await page.locator('#tab-dead').click()
        const dead = page.locator('tr.dead-row').first()
        await dead.waitFor()
        t.equal(await dead.locator('.qname').innerText(), name)
        await dead.click()
        t.equal(await page.locator('tr.detail-row pre.args').innerText(), JSON.stringify([XSS], null, 2))

        t.equal(await page.locator('img').count(), 0, 'no <img> element was created')
        t.same(seen.problems, [], 'no alert() ran, no errors')
        await page.locator('#tab-queues').click()
      })

      await t.test('the live refresh keeps the filter, the page and the open row', async (t) => {
        for (let i = 0; i < 7; i++) await hold(`keep:${i}`)
        await page.locator('#queue-search').fill('keep:')
        await page.locator('#queues-pager .page-size').selectOption('25')
        await queueRow(page, 'keep:6').waitFor()
        await queueRow(page, 'keep:3').click()
        await page.locator('tr.detail-row .detail-title', { hasText: 'keep:3' }).waitFor()
        const hash = await page.evaluate(() => location.hash)
        t.match(hash, /q=keep%3A/)
        t.match(hash, /open=keep%3A3/)
        await page.waitForTimeout(2500) // two refreshes
        t.equal(await page.locator('#queue-search').inputValue(), 'keep:')
        t.equal(await page.locator('tr.queue-row').count(), 7, 'still filtered')
        t.equal(await queueRow(page, 'keep:3').getAttribute('class'), 'queue-row open')
        t.equal(await page.locator('tr.detail-row .detail-title').innerText(), 'keep:3')
        await page.reload()
        await page.locator('tr.detail-row .detail-title', { hasText: 'keep:3' }).waitFor()
        t.equal(await page.locator('#queue-search').inputValue(), 'keep:', 'a reload keeps them too (URL hash)')
        await page.locator('tr.detail-row button', { hasText: 'Close' }).click()
        await page.locator('#queue-search').fill('')
        for (let i = 0; i < 7; i++) open(`keep:${i}`)
        await queueRow(page, 'keep:6').waitFor({ state: 'detached' })
      })

      await t.test('a screenshot of the loaded dashboard goes to test/artifacts/dashboard.png', async (t) => {
        supplierUp = false
        await reserve('o-1042', 1)
        await reserve('o-1042', 2)
        await reserve('o-1042', 3)
        await charge('pi_3NxK2')
        await page.locator('tr.queue-row[data-state="retrying"]').waitFor({ timeout: 5000 })
        await queueRow(page, 'order:o-1042').and(page.locator('[data-state="halted"]')).waitFor({ timeout: 5000 })
        // Fill the three worker slots so later queues wait.
        for (const q of ['inventory:sku-4471', 'order:o-1040', 'ledger:acct-88']) await hold(q)
        for (let i = 0; i < 14; i++) await quick(`u-${1200 + i * 7}`, i % 3 === 0 ? 'welcome' : 'receipt')
        await app.fifo.store.pause('user:u-1207')
        await page.locator('tr.queue-row[data-state="paused"]').waitFor({ timeout: 5000 })
        await page.locator('tr.queue-row').nth(18).waitFor({ timeout: 5000 })
        await page.waitForTimeout(300)
        const file = shot('dashboard')
        await page.screenshot({ path: file })
        t.ok(statSync(file).size > 20_000, `screenshot written to ${file}`)
        await queueRow(page, 'order:o-1042').click()
        await page.locator('tr.detail-row .tasks-table tbody tr').nth(2).waitFor()
        await page.waitForTimeout(300)
        await page.screenshot({ path: shot('dashboard-queue') })
        openAll()
      })

      await t.test('read-only: actions are disabled and say why', async (t) => {
        const ro = await serve(kind, { worker: false })
        t.teardown(ro.close)
        const roBase = await ro.listen()
        await ro.fifo.store.enqueue({ queue: 'ro:1', name: 'job', payload: '[]' })
        const p2: Page = await browser.context.newPage()
        const seen2: PageWatch = watch(p2)
        await p2.goto(`${roBase}/fifo/`)
        const button = queueRow(p2, 'ro:1').locator('button[data-action="pause"]')
        await button.waitFor()
        t.ok(await button.isDisabled())
        t.match(await queueRow(p2, 'ro:1').locator('.btn-wrap').getAttribute('title'), /dashboard\.auth/)
        t.match(await p2.locator('#banner-readonly').innerText(), /Read-only/)
        t.same(seen2.problems, [])
        await p2.close()
      })

      await t.test('10,000 queues: paging and filtering stay quick and exact', async (t) => {
        const big = await serve(kind, { worker: false, dashboard: { auth: async () => {} } })
        t.teardown(big.close)
        const bigBase = await big.listen()
        const store = big.fifo.store
        for (let i = 0; i < 10_000; i += 500) {
          await Promise.all(Array.from({ length: 500 }, async (_, k) => await store.enqueue({ queue: `tenant:${String(i + k).padStart(5, '0')}`, name: 'sync', payload: '[]' })))
        }
        const p3: Page = await browser.context.newPage()
        const seen3 = watch(p3)
        await p3.goto(`${bigBase}/fifo/`)
        await p3.locator('.pager-range', { hasText: '1–50 of 10,000' }).waitFor()
        t.equal(await p3.locator('tr.queue-row').count(), 50)
        t.equal(await p3.locator('tr.queue-row .qname').first().innerText(), 'tenant:00000', 'oldest head first')

        const jump = p3.locator('#queues-pager .page-input')
        await jump.fill('200')
        await jump.press('Enter')
        await p3.locator('.pager-range', { hasText: '9,951–10,000 of 10,000' }).waitFor()
        t.equal(await p3.locator('tr.queue-row .qname').last().innerText(), 'tenant:09999')
        await p3.locator('#queues-pager button', { hasText: 'Prev' }).click()
        await p3.locator('.pager-range', { hasText: '9,901–9,950 of 10,000' }).waitFor()

        await p3.locator('#queue-search').fill('tenant:0424')
        await p3.locator('.pager-range', { hasText: '1–10 of 10' }).waitFor()
        t.same(await p3.locator('tr.queue-row .qname').allInnerTexts(), Array.from({ length: 10 }, (_, i) => `tenant:0424${i}`))
        await p3.locator('#state-filter .chip[data-state="halted"]').click()
        await p3.locator('#queues-empty-filter').waitFor({ state: 'visible' })
        t.match(await p3.locator('#queues-empty-filter').innerText(), /No queue has state "halted" and a name containing "tenant:0424"/)
        await p3.locator('#queues-clear').click()
        await p3.locator('.pager-range', { hasText: '1–50 of 10,000' }).waitFor()
        t.same(seen3.problems, [])
        await p3.close()
      })

      await t.test('the Limiters tab lists a limiter with its limits and use; pause and resume from the page hold it for everyone', async (t) => {
        const problemsBefore = seen.problems.length
        await notify('acme')
        await notify('globex')
        await notify('initech')
        await page.locator('#tab-limiters').click()
        const row = page.locator('#limiters-body tr[data-limiter="partner-api"]')
        await row.waitFor()
        t.equal(await page.locator('#count-limiters').innerText(), '1')
        const cells = row.locator('td')
        // One runs (1 at once); the other two wait at their heads.
        await row.locator('td.warn-text', { hasText: /^2$/ }).waitFor({ timeout: 5000 })
        t.same(calls, ['acme'], 'one call at a time')
        t.equal(await cells.nth(0).innerText(), 'partner-api')
        t.equal(await cells.nth(1).innerText(), '2 per 30s · 1 at once', 'its limits')
        t.equal(await cells.nth(2).innerText(), '1 / 2', 'used in the window')
        t.equal(await cells.nth(3).innerText(), '1 / 1', 'running')
        t.equal(await cells.nth(4).innerText(), '2', 'queues waiting')
        t.equal(await cells.nth(5).innerText(), 'no', 'not paused')

        await row.locator('button[data-action="pause"]').click()
        const dialog = page.locator('dialog#confirm')
        await dialog.waitFor({ state: 'visible' })
        t.equal(await dialog.locator('#confirm-subject').innerText(), 'partner-api')
        await dialog.locator('#confirm-ok').click()
        await page.locator('.toast', { hasText: 'Paused limiter partner-api' }).waitFor()
        await row.locator('td', { hasText: 'by an operator' }).waitFor()
        t.match(await app.fifo.store.listLimiters(), [{ name: 'partner-api', paused: true, pausedBy: 'operator' }], 'paused in the store')
        // The running call ends; its slot comes back, but the paused limiter lets no one start.
        inCall.get('acme')?.()
        await page.waitForTimeout(1000)
        t.same(calls, ['acme'], 'nothing started while paused')
        await row.locator('td', { hasText: /^0 \/ 1$/ }).waitFor()

        await row.locator('button[data-action="resume"]').click()
        await page.locator('.toast', { hasText: 'Resumed limiter partner-api' }).waitFor()
        await row.locator('td', { hasText: /^no$/ }).waitFor()
        await row.locator('td', { hasText: /^2 \/ 2$/ }).waitFor({ timeout: 5000 })
        t.equal(calls.length, 2, 'resumed: the next waiting queue started')
        t.match(await app.fifo.store.listLimiters(), [{ name: 'partner-api', paused: false, usedInWindow: 2 }])
        await page.screenshot({ path: shot('dashboard-limiters') })
        t.same(seen.problems.slice(problemsBefore), [])
        await page.locator('#tab-queues').click()
      })

      t.same(seen.problems, [], 'no console errors over the whole session')
    })
  }
}
