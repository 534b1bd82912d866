import '../helpers/guard'
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readEvents } from './events'
import { planFaults } from './faults'

t.test('events written before a kill -9 are all in the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fifo-log-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const child = fork(join(__dirname, 'fixtures', 'log-writer.ts'), [dir, '5000'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  await new Promise<void>((resolve) => child.once('message', () => resolve()))
  const exited = new Promise((resolve) => child.once('close', resolve))
  child.kill('SIGKILL')
  await exited
  // The child's process handle closes one loop turn after 'close'; the guard would see it.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const { events, malformedLines } = readEvents(dir)
  t.equal(malformedLines, 0)
  t.equal(events.length, 5000)
  t.same(events.map((e) => e.type === 'start' ? e.seq : -1), Array.from({ length: 5000 }, (_, i) => i + 1), 'in order of hr')
  t.ok(events.every((e) => e.src === 'writer' && Number.isInteger(e.hr)))
})

t.test('the fault plan is a function of the seed and meets the short run\'s quotas', async (t) => {
  const options = { seconds: 45, gapMs: [900, 1800] as [number, number], redisRestartsAt: [0.3, 0.65], minProcessFaults: 24 }
  t.same(planFaults(7, options), planFaults(7, options), 'same seed, same plan')
  t.notSame(planFaults(7, options), planFaults(8, options), 'another seed, another plan')
  for (let seed = 1; seed <= 50; seed++) {
    const plan = planFaults(seed, options)
    const processFaults = plan.filter((f) => f.kind === 'kill' || f.kind === 'stop').length
    const restarts = plan.filter((f) => f.kind === 'redis-restart').length
    if (processFaults < 24 || restarts < 2) t.fail(`seed ${seed}: ${processFaults} kills/stops, ${restarts} redis restarts`)
    t.ok(plan.every((f, i) => i === 0 || f.atMs >= plan[i - 1].atMs))
  }
})
