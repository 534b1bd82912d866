import '../helpers/guard'
import t from 'tap'
import { FST_FIFO_RATE_LIMITED, taskContext } from '../../plugin'
import { backend, sleep, until, type StoreKind } from '../helpers/app'

// G9 through the public API, on both stores: a head without a token waits at its head, attempt unused; other queues run.
for (const kind of ['memory', 'redis'] as StoreKind[]) {
  t.test(kind, async (t) => {
    t.test('a rate limit holds, heads wait at their head in order, attempts unused; an unlimited queue runs meanwhile', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 4 })
      app.fifo.limiter('api', { max: 3, perMs: 400 })
      const starts: Array<{ q: string, n: number, at: number, attempt: number, limiter: string | null }> = []
      const call = app.fifo.define('call', { queue: (q: string) => q, limiter: 'api' }, async (q: string, n: number) => {
        const ctx = taskContext()
        starts.push({ q, n, at: ctx?.limiter?.grantedAt ?? NaN, attempt: ctx?.attempt ?? 0, limiter: ctx?.limiter?.name ?? null })
      })
      const free: number[] = []
      const freeGrants: unknown[] = []
      const local = app.fifo.define('local', { queue: 'free' }, async (n: number) => { free.push(n); freeGrants.push(taskContext()?.limiter) })
      await app.ready()
      const began = Date.now()
      for (let n = 0; n < 5; n++) for (const q of ['a', 'b']) await call(q, n)
      for (let n = 0; n < 20; n++) await local(n)
      await until('the unlimited queue drains', () => free.length === 20, 5000)
      const freeDoneAt = Date.now() - began
      await until('every limited task runs', () => starts.length === 10, 10_000)
      t.ok(freeDoneAt < 1000, `the unlimited queue did not wait for the limiter (${freeDoneAt} ms)`)
      t.ok(starts.every((s) => s.limiter === 'api'), 'ctx.limiter names the limiter each run took its token from')
      t.ok(freeGrants.every((g) => g === null), 'ctx.limiter is null for a task without a limiter')
      // The grant times the store gave (ctx.limiter.grantedAt): the window is about them, exactly.
      const times = starts.map((s) => s.at).sort((x, y) => x - y)
      for (let i = 3; i < times.length; i++) {
        t.ok(times[i] - times[i - 3] >= 400, `grant ${i} is a full window after grant ${i - 3} (${times[i] - times[i - 3]} ms)`)
      }
      for (const q of ['a', 'b']) t.same(starts.filter((s) => s.q === q).map((s) => s.n), [0, 1, 2, 3, 4], `queue ${q} kept its order`)
      t.ok(starts.every((s) => s.attempt === 1), 'no head used more than its first attempt while it waited')
      const limiters = await app.fifo.store.listLimiters()
      t.match(limiters, [{ name: 'api', max: 3, perMs: 400 }])
    })

    t.test('concurrency: never more heads running than the limit; the rest wait at their heads', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 6 })
      app.fifo.limiter('pool', { concurrency: 2 })
      let running = 0
      let peak = 0
      const done: string[] = []
      const work = app.fifo.define('work', { queue: (q: string) => q, limiter: 'pool' }, async (q: string, n: number) => {
        running++
        peak = Math.max(peak, running)
        await sleep(30)
        running--
        done.push(`${q}:${n}`)
      })
      await app.ready()
      for (let n = 0; n < 3; n++) for (const q of ['a', 'b', 'c', 'd']) await work(q, n)
      await until('all ran', () => done.length === 12, 10_000)
      t.equal(peak, 2, 'two at once, never three')
      for (const q of ['a', 'b', 'c', 'd']) t.same(done.filter((d) => d.startsWith(q + ':')), [0, 1, 2].map((n) => `${q}:${n}`))
      await until('slots given back', async () => (await app.fifo.store.listLimiters())[0]?.running === 0)
    })

    t.test('a back-off: runs again at its head without using an attempt, and pauses the limiter for everyone', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app({ concurrency: 4 })
      app.fifo.limiter('partner:*', { max: 100, perMs: 1000 })
      const runs: Array<{ what: string, at: number, attempt: number }> = []
      let refusals = 0
      const push = app.fifo.define('push', { queue: (q: string) => q, limiter: (q: string) => `partner:${q.split('/')[0]}` }, async (q: string, n: number) => {
        runs.push({ what: `${q}#${n}`, at: Date.now(), attempt: taskContext()?.attempt ?? 0 })
        if (q === 'p1/a' && n === 0 && refusals < 2) {
          refusals++
          throw new FST_FIFO_RATE_LIMITED({ retryAfterMs: 300 })
        }
      })
      await app.ready()
      await push('p1/a', 0)
      await push('p1/a', 1)
      await until('the first back-off', () => refusals === 1)
      const backedOffAt = Date.now()
      await push('p1/b', 0)
      await push('p2/a', 0)
      await until('all ran', () => runs.filter((r) => r.what !== 'p1/a#0').length === 3 && runs.some((r) => r.what === 'p1/a#1'), 5000)
      const mine = runs.filter((r) => r.what === 'p1/a#0')
      t.equal(mine.length, 3, 'ran three times')
      t.same(mine.map((r) => r.attempt), [1, 1, 1], 'attempt still 1: back-offs use none')
      t.ok(mine[1].at - mine[0].at >= 290 && mine[2].at - mine[1].at >= 290, 'each run waited the back-off')
      t.ok(runs.findIndex((r) => r.what === 'p1/a#1') > runs.lastIndexOf(mine[2]), 'the task kept its place: the one behind it ran after')
      const other = runs.find((r) => r.what === 'p1/b#0')
      t.ok(other !== undefined && other.at - mine[0].at >= 290, `another queue under the paused limiter waited for the back-off (${other === undefined ? '?' : other.at - mine[0].at} ms)`)
      const p2 = runs.find((r) => r.what === 'p2/a#0')
      t.ok(p2 !== undefined && p2.at - backedOffAt < 250, 'another partner\'s limiter was not paused')
      const rows = await app.fifo.store.listLimiters()
      t.match(rows.find((r) => r.name === 'partner:p1'), { backoffs: 2 })
    })

    t.test('a handler that always backs off uses an attempt after the cap, so it cannot spin forever', async (t) => {
      const b = await backend(kind)
      t.teardown(() => b.cleanup())
      const app = await b.app()
      let runs = 0
      const spin = app.fifo.define('spin', { queue: 'spin', attempts: 1 }, async () => {
        runs++
        throw new FST_FIFO_RATE_LIMITED({ retryAfterMs: 0 })
      })
      await app.ready()
      await spin()
      await until('the queue halts', async () => (await app.fifo.store.getQueue('spin'))?.state === 'halted', 10_000)
      t.equal(runs, 21, '20 free back-offs, then the 21st counts as the one attempt')
      t.match(await app.fifo.store.getQueue('spin'), { head: { attempts: 1, lastError: /FST_FIFO_RATE_LIMITED.*more than 20 back-offs/ } })
    })
  })
}
