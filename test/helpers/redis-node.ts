import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/**
 * One redis-server (or `redis-server --sentinel`) child process on loopback,
 * the building block of the cluster and Sentinel launchers. Like
 * redis-server.ts, a test process that exits without cleanup kills its
 * children (no orphans).
 */
export class RedisNode {
  readonly port: number
  readonly dir: string
  readonly #args: string[]
  #proc: ChildProcess | null = null

  constructor (port: number, dir: string, args: string[]) {
    this.port = port
    this.dir = dir
    this.#args = args
  }

  get addr (): string { return `127.0.0.1:${this.port}` }
  get running (): boolean {
    const p = this.#proc
    return p !== null && p.exitCode === null && p.signalCode === null
  }

  /** A plain client to this node (the caller quits it); it does not retry forever. */
  client (): Redis {
    const c = new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null })
    c.on('error', () => {})
    return c
  }

  async start (): Promise<void> {
    if (this.running) return
    const child = spawn('redis-server', this.#args, { stdio: 'ignore' })
    this.#proc = child
    child.on('error', () => {})
    const reap = (): void => { child.kill('SIGKILL') }
    process.once('exit', reap)
    child.once('exit', () => process.removeListener('exit', reap))
    await waitForPing(this.port, 10_000)
  }

  /** SIGSTOP: the process freezes (no replies, no replication) until resume(). */
  pause (): void { this.#proc?.kill('SIGSTOP') }
  /** SIGCONT after pause(). */
  resume (): void { this.#proc?.kill('SIGCONT') }

  /** Starts it again after a kill/stop: same port, same data dir. */
  async restart (): Promise<void> { await this.start() }

  /** kill -9, waits for the exit. */
  async kill (): Promise<void> { await this.#signal('SIGKILL') }
  /** SIGTERM, waits for the exit. */
  async stop (): Promise<void> { await this.#signal('SIGTERM') }

  async #signal (sig: NodeJS.Signals): Promise<void> {
    const p = this.#proc
    if (p === null) return
    this.#proc = null
    if (p.exitCode !== null || p.signalCode !== null) return
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()))
    p.kill(sig)
    await gone
  }

  /** Runs one command on a short-lived connection. */
  async call (...args: Array<string | number>): Promise<unknown> {
    const c = this.client()
    try {
      return await c.call(String(args[0]), ...args.slice(1).map(String))
    } finally {
      c.disconnect()
    }
  }

  /** `INFO <section>` as a field map. */
  async info (section: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call('INFO', section)))
  }
}

/**
 * Starts a plain redis-server node (AOF off unless extraArgs say so) on a free
 * port; `cleanup` kills it and removes its dir. For a master and replicas:
 * pass `--replicaof 127.0.0.1 <port>` in extraArgs.
 */
export async function launchNode (port: number, extraArgs: string[] = []): Promise<RedisNode & { cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fifo-node-'))
  const node = new RedisNode(port, dir, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--repl-diskless-sync-delay', '0', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...extraArgs,
  ])
  const out = Object.assign(node, {
    async cleanup () {
      node.resume()
      await node.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  })
  try {
    await node.start()
  } catch (err) {
    await out.cleanup()
    throw err
  }
  return out
}

export function parseInfo (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

export async function waitForPing (port: number, timeoutMs: number): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer within ${timeoutMs} ms`)
    await sleep(25)
  }
}

/** Polls `check` until it returns true; throws `what` after timeoutMs. Errors inside check count as "not yet". */
export async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    try {
      if (await check()) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
