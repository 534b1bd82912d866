import '../helpers/guard'
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { PartitionedRedisStore } from '../../plugin/store/redis/partitioned'
import { queuePartition } from '../../plugin/store/redis/partitions'
import { settleHandles } from '../contract/harness'
import { startCluster } from '../helpers/redis-cluster'
import { uniquePrefix } from '../helpers/redis-server'

// G1/G2 across processes on a real 3-master Redis Cluster, partitions: 12:
// 3 server processes, 300 queues × 20 tasks enqueued interleaved through all
// three (task n of queue q through process (q + n) % 3, each queue's tasks one
// after another). Each task runs once, per-queue order = enqueue order, no two
// tasks of a queue overlap, and the queues spread over every master.
const QUEUES = 300
const PER_QUEUE = 20

interface Ran { inst: string, q: string, seq: number, start: number, end: number }

class Proc {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  readonly exited: Promise<void>
  #next = 0
  readonly #pending = new Map<number, { resolve: (id: string) => void, reject: (err: Error) => void }>()

  constructor (cfg: object, onRan: (r: Ran) => void) {
    this.child = fork(join(__dirname, 'order-app.ts'), [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--import', 'tsx'] })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`order-app exited with ${String(code)} before it was ready`)))
      this.child.on('message', (msg: { type: string, id?: number, taskId?: string, error?: string } & Ran) => {
        if (msg.type === 'ready') resolve()
        else if (msg.type === 'ran') onRan(msg)
        else if (msg.type === 'enqueued') {
          const p = this.#pending.get(msg.id as number)
          this.#pending.delete(msg.id as number)
          if (msg.error !== undefined) p?.reject(new Error(msg.error))
          else p?.resolve(msg.taskId as string)
        }
      })
    })
  }

  async enqueue (q: string, seq: number): Promise<string> {
    const id = this.#next++
    return await new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.child.send({ type: 'enqueue', id, q, seq })
    })
  }

  async close (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.send({ type: 'close' })
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
      await this.exited
      clearTimeout(timer)
    }
  }
}

t.test('3 processes on a 3-master cluster, 300 queues × 20 tasks: once each, in order, no overlap, spread over the masters', async (t) => {
  const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 })
  const prefix = uniquePrefix('co')
  const ran: Ran[] = []
  const procs = Array.from({ length: 3 }, (_, i) => new Proc({ inst: `p${i}`, nodes: cluster.startupNodes, prefix }, (r) => ran.push(r)))
  t.teardown(async () => {
    await Promise.all(procs.map(async (p) => await p.close()))
    await cluster.cleanup()
    await settleHandles()
  })
  await Promise.all(procs.map(async (p) => await p.ready))

  const ids = new Set<string>()
  await Promise.all(Array.from({ length: QUEUES }, async (_, q) => {
    for (let seq = 1; seq <= PER_QUEUE; seq++) ids.add(await procs[(q + seq) % 3].enqueue(`q${q}`, seq))
  }))
  t.equal(ids.size, QUEUES * PER_QUEUE, 'every enqueue was accepted with its own id')
  const deadline = Date.now() + 120_000
  while (ran.length < QUEUES * PER_QUEUE && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  await new Promise((resolve) => setTimeout(resolve, 300))

  t.equal(ran.length, QUEUES * PER_QUEUE, 'one run per task')
  const byQueue = new Map<string, Ran[]>()
  for (const r of ran) {
    const list = byQueue.get(r.q) ?? []
    list.push(r)
    byQueue.set(r.q, list)
  }
  let orderViolations = 0
  let overlaps = 0
  let duplicates = 0
  for (const [, list] of byQueue) {
    list.sort((a, b) => a.start - b.start)
    if (new Set(list.map((r) => r.seq)).size !== list.length) duplicates++
    list.forEach((r, i) => {
      if (r.seq !== i + 1) orderViolations++
      if (i > 0 && r.start < list[i - 1].end) overlaps++
    })
  }
  t.equal(byQueue.size, QUEUES, 'every queue ran')
  t.equal(duplicates, 0, 'no task ran twice')
  t.equal(orderViolations, 0, 'per-queue start order equals enqueue order')
  t.equal(overlaps, 0, 'no two tasks of one queue overlapped')
  t.equal(new Set(ran.map((r) => r.inst)).size, 3, 'all three processes ran tasks')

  // Where the tasks lived: each queue's partition, each partition's master.
  const store = new PartitionedRedisStore({ redis: { cluster: cluster.startupNodes }, prefix, partitions: 12, connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadLetterLimit: 100 })
  await store.connect()
  const rows = await store.partitionStats()
  t.equal((await store.overview()).pendingTasks, 0, 'the namespace is drained')
  await store.close()
  const perMaster = new Map<string, number>()
  for (let q = 0; q < QUEUES; q++) {
    const node = rows[queuePartition(`q${q}`, 12)].node
    perMaster.set(node, (perMaster.get(node) ?? 0) + PER_QUEUE)
  }
  const shares = [...perMaster.values()].map((n) => n / (QUEUES * PER_QUEUE))
  t.equal(perMaster.size, 3, 'tasks on all three masters')
  t.ok(shares.every((s) => s >= 0.2 && s <= 0.47), `each master held 20–47 % of the tasks: ${shares.map((s) => `${(100 * s).toFixed(1)} %`).join(', ')}`)
})
