import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { uniquePort } from './redis-cluster'
import { RedisNode, waitUntil } from './redis-node'

/**
 * A master, its replica(s) and three `redis-server --sentinel` processes
 * (quorum 2) on loopback, started by a test. down-after-milliseconds and
 * failover-timeout are short so a killed master's replica is promoted within
 * a few seconds. AOF on, repl-diskless-sync-delay 0. Every process is a child
 * of the test process and dies with it.
 */
export interface SentinelStartOptions {
  /** The master name the sentinels monitor (default 'fifo-master'). */
  name?: string
  replicas?: number
  sentinels?: number
  quorum?: number
  downAfterMs?: number
  failoverTimeoutMs?: number
  extraArgs?: string[]
}

export interface TestSentinel {
  readonly name: string
  /** The data servers: [initial master, ...replicas]. Roles change on failover. */
  readonly servers: RedisNode[]
  readonly sentinels: RedisNode[]
  readonly downAfterMs: number
  /** What to give ioredis as `sentinels`. */
  readonly sentinelAddrs: Array<{ host: string, port: number }>
  /** A new ioredis client through the sentinels (the caller quits it). */
  client: (opts?: RedisOptions) => Redis
  /** The server the sentinels currently name as master. */
  currentMaster: () => Promise<RedisNode>
  /** Waits until every running sentinel names the same running master, knows the other sentinels, and every other running server replicates from it with its link up. */
  waitHealthy: (timeoutMs?: number) => Promise<void>
  /** kill -9 the current master; waits until the sentinels promote another server (and it says it is master). Returns it. */
  failover: (timeoutMs?: number) => Promise<RedisNode>
  /** Kills every process and removes the data dirs. Idempotent. */
  cleanup: () => Promise<void>
}

function fields (reply: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const arr = reply as string[]
  for (let i = 0; i + 1 < arr.length; i += 2) out[arr[i]] = String(arr[i + 1])
  return out
}

export async function startSentinel (opts: SentinelStartOptions = {}): Promise<TestSentinel> {
  const name = opts.name ?? 'fifo-master'
  const replicaCount = opts.replicas ?? 1
  const sentinelCount = opts.sentinels ?? 3
  const quorum = opts.quorum ?? 2
  const downAfterMs = opts.downAfterMs ?? 1000
  const failoverTimeoutMs = opts.failoverTimeoutMs ?? 3000
  const used = new Set<number>()
  const servers: RedisNode[] = []
  const sentinels: RedisNode[] = []
  let cleaned = false

  async function cleanup (): Promise<void> {
    if (cleaned) return
    cleaned = true
    const all = [...sentinels, ...servers]
    await Promise.all(all.map(async (n) => { await n.kill() }))
    for (const n of all) rmSync(n.dir, { recursive: true, force: true })
  }

  function serverArgs (port: number, dir: string, masterPort: number | null): string[] {
    return [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--repl-diskless-sync-delay', '0', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
      ...(masterPort === null ? [] : ['--replicaof', '127.0.0.1', String(masterPort)]),
      ...(opts.extraArgs ?? []),
    ]
  }

  try {
    const masterPort = await uniquePort(used)
    for (let i = 0; i <= replicaCount; i++) {
      const port = i === 0 ? masterPort : await uniquePort(used)
      const dir = mkdtempSync(join(tmpdir(), 'fifo-sentinel-data-'))
      servers.push(new RedisNode(port, dir, serverArgs(port, dir, i === 0 ? null : masterPort)))
    }
    for (let i = 0; i < sentinelCount; i++) {
      const port = await uniquePort(used)
      const dir = mkdtempSync(join(tmpdir(), 'fifo-sentinel-'))
      const conf = join(dir, 'sentinel.conf')
      // Sentinel rewrites its config file as it learns, so each gets its own, writable.
      writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'daemonize no', `logfile ${join(dir, 'sentinel.log')}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`, '',
      ].join('\n'))
      sentinels.push(new RedisNode(port, dir, [conf, '--sentinel']))
    }
    await Promise.all(servers.map(async (n) => { await n.start() }))
    await Promise.all(sentinels.map(async (n) => { await n.start() }))
  } catch (err) {
    await cleanup()
    throw err
  }

  async function masterPortNow (): Promise<number> {
    for (const s of sentinels) {
      if (!s.running) continue
      try {
        const addr = await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as string[] | null
        if (addr !== null) return Number(addr[1])
      } catch {}
    }
    throw new Error('no sentinel names a master')
  }

  const sentinel: TestSentinel = {
    name,
    servers,
    sentinels,
    downAfterMs,
    sentinelAddrs: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    client (clientOpts: RedisOptions = {}) {
      const c = new Redis({ sentinels: sentinel.sentinelAddrs, name, ...clientOpts })
      c.on('error', () => {})
      return c
    },
    async currentMaster () {
      const port = await masterPortNow()
      const node = servers.find((n) => n.port === port)
      if (node === undefined) throw new Error(`the sentinels name an unknown master on port ${port}`)
      return node
    },
    async waitHealthy (timeoutMs = 30_000) {
      await waitUntil('a healthy sentinel group', async () => {
        const ports = new Set<number>()
        const running = sentinels.filter((s) => s.running)
        for (const s of running) {
          const m = fields(await s.call('SENTINEL', 'MASTER', name))
          if (m.flags !== 'master') return false
          if (Number(m['num-other-sentinels']) < running.length - 1) return false
          ports.add(Number(m.port))
        }
        if (ports.size !== 1) return false
        const port = [...ports][0]
        const master = servers.find((n) => n.port === port)
        if (master === undefined || !master.running) return false
        if ((await master.info('replication')).role !== 'master') return false
        for (const n of servers) {
          if (n === master || !n.running) continue
          const r = await n.info('replication')
          if (r.role !== 'slave' || Number(r.master_port) !== port || r.master_link_status !== 'up') return false
        }
        // The sentinels must also know every running replica, or they cannot promote it.
        const want = servers.filter((n) => n !== master && n.running).length
        for (const s of running) {
          const reps = await s.call('SENTINEL', 'REPLICAS', name) as unknown[]
          const up = reps.map(fields).filter((r) => !r.flags.includes('down') && !r.flags.includes('disconnected'))
          if (up.length < want) return false
        }
        return true
      }, timeoutMs, 100)
    },
    async failover (timeoutMs = 30_000) {
      const old = await sentinel.currentMaster()
      await old.kill()
      let promoted: RedisNode | undefined
      await waitUntil(`the sentinels to promote a replica of ${old.addr}`, async () => {
        const port = await masterPortNow()
        if (port === old.port) return false
        const node = servers.find((n) => n.port === port)
        if (node === undefined || !node.running) return false
        if ((await node.info('replication')).role !== 'master') return false
        promoted = node
        return true
      }, timeoutMs, 50)
      return promoted as RedisNode
    },
    cleanup,
  }

  try {
    await sentinel.waitHealthy(60_000)
  } catch (err) {
    await cleanup()
    throw err
  }
  return sentinel
}
