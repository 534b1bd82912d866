import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/** A redis-server process a test started itself on a free loopback port. */
export interface TestRedis {
  port: number
  url: string
  dir: string
  /** A new client (the caller quits it). */
  client (): Redis
  /** Stops the server (SIGTERM) and waits for it to exit. Keeps the data dir. */
  stop (): Promise<void>
  /** kill -9 the server and wait for it to exit. */
  kill (): Promise<void>
  /** Starts the server again on the same port and data dir. */
  start (): Promise<void>
  /** Stops the server and removes its data dir. Idempotent. */
  cleanup (): Promise<void>
}

export interface RedisServerOptions {
  /** Turn on AOF persistence. */
  appendonly?: boolean
  appendfsync?: 'always' | 'everysec' | 'no'
  extraArgs?: string[]
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function waitForPing (port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
    c.on('error', () => {})
    try {
      await c.connect()
      const pong = await c.ping()
      c.disconnect()
      if (pong === 'PONG') return
    } catch {
      c.disconnect()
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export async function startRedis (opts: RedisServerOptions = {}): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fifo-redis-'))
  let proc: ChildProcess | null = null
  let cleaned = false

  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--dir', dir, '--appendonly', opts.appendonly === true ? 'yes' : 'no',
    '--appendfsync', opts.appendfsync ?? 'everysec',
    '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
    ...(opts.extraArgs ?? []),
  ]

  async function waitExit (p: ChildProcess): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null) return
    await new Promise<void>((resolve) => p.once('exit', () => resolve()))
  }

  const server: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    client () {
      const c = new Redis({ port, host: '127.0.0.1' })
      c.on('error', () => {})
      return c
    },
    async start () {
      if (proc !== null && proc.exitCode === null && proc.signalCode === null) return
      const child = spawn('redis-server', args, { stdio: 'ignore' })
      proc = child
      child.on('error', () => {})
      // A test process that exits without cleanup (a failed assertion, a tap
      // timeout) must not leave its redis-server running.
      const reap = (): void => { child.kill('SIGKILL') }
      process.once('exit', reap)
      child.once('exit', () => process.removeListener('exit', reap))
      await waitForPing(port, 10_000)
    },
    async stop () {
      const p = proc
      if (p === null) return
      proc = null
      p.kill('SIGTERM')
      await waitExit(p)
    },
    async kill () {
      const p = proc
      if (p === null) return
      proc = null
      p.kill('SIGKILL')
      await waitExit(p)
    },
    async cleanup () {
      if (cleaned) return
      cleaned = true
      await server.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

let prefixCounter = 0
/** A prefix no other test in this process uses. */
export function uniquePrefix (name = 't'): string {
  prefixCounter++
  return `${name}-${process.pid}-${prefixCounter}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * A private redis-server and an admin client on it, both ended when the test
 * ends (the set-up most store tests open with).
 */
export async function startRedisWithAdmin (t: { teardown: (fn: () => Promise<void>) => void }, opts: RedisServerOptions = {}): Promise<{ redis: TestRedis, admin: Redis }> {
  const redis = await startRedis(opts)
  const admin = redis.client()
  t.teardown(async () => {
    admin.disconnect()
    await redis.cleanup()
  })
  return { redis, admin }
}
