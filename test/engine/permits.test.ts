import '../helpers/guard'
import t from 'tap'
import { MemoryStore } from '../../plugin'
import { backend, sleep, until, type StoreKind } from '../helpers/app'

// Run permits (README "How it works", plugin/core/worker/permits.ts): an
// instance may hold more queues than `concurrency`, so a head of one queue
// runs while another queue's completion is on the wire; but handlers running
// at once never exceed `concurrency`, each queue still runs one task at a
// time in order, and a head that finds no free permit soon gives its queue
// back, so a second instance is not left idle.

interface Run { who: string, queue: string, n: number, start: number, end: number }

/** Per-queue order: task n starts after task n-1 ended, every task once, in enqueue order. */
function orderBreaks (runs: Run[], queues: string[], perQueue: number): string[] {
  const breaks: string[] = []
  for (const q of queues) {
    const mine = runs.filter((r) => r.queue === q).sort((a, b) => a.start - b.start)
    if (mine.map((r) => r.n).join() !== Array.from({ length: perQueue }, (_, i) => i).join()) breaks.push(`${q}: ran ${mine.map((r) => r.n).join()}`)
    for (let i = 1; i < mine.length; i++) if (mine[i].start < mine[i - 1].end) breaks.push(`${q}: ${mine[i].n} started before ${mine[i - 1].n} ended`)
  }
  return breaks
}

for (const kind of ['memory', 'redis'] as StoreKind[]) {
  t.test(kind, async (t) => {
    t.test('handlers running at once never exceed concurrency, although the instance holds more queues; each queue keeps its order', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 2 })
      const runs: Run[] = []
      let running = 0
      let peak = 0
      const step = app.fifo.define('step', { queue: (q: string) => q }, async (q: string, n: number) => {
        const start = performance.now()
        running++
        peak = Math.max(peak, running)
        await sleep((n * 7 + q.length) % 4)
        running--
        runs.push({ who: 'a', queue: q, n, start, end: performance.now() })
      })
      await app.ready()
      const queues = Array.from({ length: 8 }, (_, i) => `q${i}`)
      const perQueue = 6
      for (let n = 0; n < perQueue; n++) await Promise.all(queues.map(async (q) => await step(q, n)))
      await until('all ran', () => runs.length === queues.length * perQueue, 20_000)
      t.equal(peak, 2, 'at most `concurrency` handlers ran at once, and that many did')
      t.same(orderBreaks(runs, queues, perQueue), [], 'each queue ran in enqueue order, one task at a time')
    })

    t.test('two instances × concurrency 8, 16 busy queues: an instance that took every queue gives the ones it cannot run to the other', async (t) => {
      const b = await backend(kind, kind === 'memory' ? new MemoryStore({}) : undefined)
      t.teardown(() => b.cleanup())
      const runs: Run[] = []
      const peak: Record<string, number> = { a: 0, b: 0 }
      const running: Record<string, number> = { a: 0, b: 0 }
      // 60–140 ms, different per task: handlers end at different times, so `a`'s permits free up
      // one by one while the next heads of its queues are on their way.
      const handler = (who: string) => async (q: string, n: number) => {
        const start = performance.now()
        running[who]++
        peak[who] = Math.max(peak[who], running[who])
        await sleep(60 + (n * 17 + Number(q.slice(1)) * 29) % 80)
        running[who]--
        runs.push({ who, queue: q, n, start, end: performance.now() })
      }
      const a = await b.app({ concurrency: 8, leaseMs: 30_000 })
      const stepA = a.fifo.define('busy', { queue: (q: string) => q }, handler('a'))
      await a.ready()
      const queues = Array.from({ length: 16 }, (_, i) => `b${i}`)
      const perQueue = 6
      for (let n = 0; n < perQueue; n++) await Promise.all(queues.map(async (q) => await stepA(q, n)))
      // Alone, `a` runs 8 queues at a time; as its handlers end it takes the other 8, and the
      // next heads of the first 8 come back while all its permits are busy.
      await sleep(300)
      const other = await b.app({ concurrency: 8, leaseMs: 30_000 })
      other.fifo.define('busy', { queue: (q: string) => q }, handler('b'))
      await other.ready()
      const joined = performance.now()
      await until('all ran', () => runs.length === queues.length * perQueue, 20_000)
      const afterJoin = runs.filter((r) => r.start >= joined)
      const byB = afterJoin.filter((r) => r.who === 'b').length
      t.ok(byB >= afterJoin.length / 4, `the second instance ran its share: ${byB} of the ${afterJoin.length} tasks started after it joined`)
      t.ok(peak.a <= 8 && peak.b <= 8, `neither instance ran more than concurrency handlers at once (a ${peak.a}, b ${peak.b})`)
      t.same(orderBreaks(runs, queues, perQueue), [], 'each queue ran in enqueue order, one task at a time')
    })

    t.test('a ready head that finds every permit taken does not wait for it while another instance is idle', async (t) => {
      const b = await backend(kind, kind === 'memory' ? new MemoryStore({}) : undefined)
      t.teardown(() => b.cleanup())
      const started: Array<[string, string]> = []
      const gates = new Map<string, () => void>()
      const held = new Set<string>(['q0:1', 'q1:0'])
      let enqueueQ1: () => void = () => {}
      const handler = (who: string) => async (q: string, n: number) => {
        const key = `${q}:${n}`
        started.push([who, key])
        if (key === 'q0:0') {
          // Right after this handler settles (its permit free, its completion on the wire), the
          // same instance enqueues to another queue and claims it on enqueue: of the next head of
          // q0 and the head of q1, one finds the only permit taken.
          setImmediate(enqueueQ1)
          return
        }
        if (held.has(key)) await new Promise<void>((resolve) => { gates.set(key, resolve) })
      }
      const idle = await b.app({ concurrency: 1, leaseMs: 30_000 })
      idle.fifo.define('gated', { queue: (q: string) => q }, handler('idle'))
      await idle.ready()
      // `a` claims once at start, finds nothing and blocks for sweepMs; after EXTRA_CLAIM_PAUSE_MS
      // (50 ms) it may hold a queue beyond its one permit again.
      const a = await b.app({ concurrency: 1, leaseMs: 30_000, sweepMs: 5000 })
      const stepA = a.fifo.define('gated', { queue: (q: string) => q }, handler('a'))
      await a.ready()
      await sleep(100)
      enqueueQ1 = () => { stepA('q1', 0).catch(() => {}) }
      await stepA('q0', 0)
      await stepA('q0', 1)
      // Both heads block until released below: without the give-back, the one left waiting for
      // `a`'s permit would start only after the other ended.
      await until('both heads run at once, one on each instance', () => started.some(([, k]) => k === 'q0:1') && started.some(([, k]) => k === 'q1:0'), 3000)
      const onIdle = started.filter(([who, k]) => who === 'idle' && held.has(k)).length
      t.equal(onIdle, 1, `the idle instance ran one of them: ${JSON.stringify(started)}`)
      for (const open of gates.values()) open()
    })
  })
}
