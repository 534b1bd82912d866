import Fastify from 'fastify'
import adminRoutes from '../../plugin/admin/routes'
import { MemoryStore } from '../../plugin/store/memory'
import { Metrics } from '../../plugin/metrics'

async function main () {
  const app = Fastify({ logger: { level: 'warn' } })
  const store = new MemoryStore()
  const readOnly = process.argv.includes('--ro')
  await app.register(adminRoutes, { prefix: '/fifo', store, dashboard: { path: '/fifo', auth: readOnly ? null : async () => {}, readOnly: false, showArgs: true }, metrics: new Metrics(), instanceId: 'web-1:4242:a1b2c3', storeKind: 'memory', heldLeases: () => 0 })
  const info = { id: 'web-1:4242:a1b2c3', host: 'web-1', pid: 4242, version: '0.1.0', startedAt: Date.now() - 3_600_000, concurrency: 8, handlers: ['reserve', 'commit', 'release', 'send-email'] }
  if (!process.argv.includes('--empty')) {
    for (let i = 0; i < 120; i++) {
      await store.enqueue({ queue: `order:o-${1000 + i}`, name: ['reserve', 'commit', 'release'][i % 3], payload: JSON.stringify([`o-${1000 + i}`, i % 5 + 1, { sku: 'SKU-' + i }]) })
      if (i % 4 === 0) await store.enqueue({ queue: `order:o-${1000 + i}`, name: 'commit', payload: JSON.stringify([`o-${1000 + i}`]) })
    }
    await store.enqueue({ queue: 'email:<img src=x onerror=alert(1)>', name: 'send-email', payload: JSON.stringify(['<img src=x onerror=alert(1)>']) })
    // halt two, retry one, run a few
    for (let k = 0; k < 6; k++) {
      const c = await store.claim(info.id, 60_000)
      if (c === null) break
      if (k < 2) await store.fail({ queue: c.queue, token: c.token }, { error: k === 0 ? 'Error: payment gateway timeout after 30000 ms (POST /v1/charges)' : 'TypeError: Cannot read properties of undefined (reading \'sku\')', maxAttempts: 1, delayMs: 0, onExhausted: 'halt' })
      else if (k === 2) await store.fail({ queue: c.queue, token: c.token }, { error: 'ECONNRESET: socket hang up', maxAttempts: 5, delayMs: 45_000, onExhausted: 'halt' })
      else if (k === 3) { await store.complete({ queue: c.queue, token: c.token }, c.id, info.id, 60_000, false) }
    }
    await store.pause('order:o-1010')
    await store.heartbeat(info, [], 60_000)
    await store.heartbeat({ ...info, id: 'web-2:977:ff00aa', host: 'web-2', pid: 977 }, [], 60_000)
    const d = await store.claim(info.id, 60_000)
    if (d) await store.fail({ queue: d.queue, token: d.token }, { error: 'FST_FIFO_UNRECOVERABLE: card declined', maxAttempts: 3, delayMs: 0, onExhausted: 'halt', deadLetterNow: true })
  }
  const hb = setInterval(() => { store.heartbeat(info, [], 60_000).catch(() => {}) }, 5000)
  const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
  console.log(address + '/fifo/')
  process.on('SIGTERM', () => { clearInterval(hb); app.close().then(() => process.exit(0)) })
}
main()
