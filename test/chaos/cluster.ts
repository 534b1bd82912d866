import { fork, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import type { AppConfig } from './app'
import type { EventBody } from './events'

/**
 * Server processes of app.ts, forked with an IPC channel, and the signals a
 * chaos run or a multi-process test sends them. The TS loader comes along in
 * process.execArgv (tsx or tap's loader).
 */
export class AppProcess {
  readonly inst: string
  readonly cfg: AppConfig
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  port = 0
  stopped = false
  /** Set before the test or runner ends the process itself, so its exit is not taken for a crash. */
  expectExit = false
  #events = new Set<(event: EventBody) => void>()

  constructor (cfg: AppConfig) {
    this.inst = cfg.inst
    this.cfg = cfg
    const stderr = openSync(join(cfg.logDir, `stderr-${cfg.inst}.log`), 'a')
    // tsx (esbuild, cached on disk) rather than the parent's loader: under tap, the
    // inherited TypeScript loader makes each server take seconds to start.
    this.child = fork(join(__dirname, 'app.ts'), [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', stderr, 'ipc'], execArgv: ['--import', 'tsx'] })
    closeSync(stderr)
    this.exited = new Promise((resolve) => this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })))
    this.child.on('message', (message: { type?: string, event?: EventBody }) => {
      if (message.type === 'event' && message.event !== undefined) for (const fn of this.#events) fn(message.event)
    })
    this.child.on('error', () => {})
  }

  get alive (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  get pid (): number {
    return this.child.pid ?? -1
  }

  /** Resolves with the port once the app listens; rejects if it dies first or takes longer than timeoutMs. */
  async ready (timeoutMs = 30_000): Promise<number> {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${this.inst} not ready within ${timeoutMs} ms`)) }, timeoutMs)
      const onMessage = (m: { type?: string, port?: number }): void => {
        if (m.type !== 'ready') return
        cleanup()
        this.port = m.port ?? 0
        resolve(this.port)
      }
      const onExit = (): void => { cleanup(); reject(new Error(`${this.inst} exited before it was ready: ${this.stderr().slice(-2000)}`)) }
      const cleanup = (): void => {
        clearTimeout(timer)
        this.child.off('message', onMessage)
        this.child.off('exit', onExit)
      }
      this.child.on('message', onMessage)
      this.child.once('exit', onExit)
    })
  }

  /** Listen to events the app logs (only when started with ipcEvents). Returns an unsubscribe function. */
  onEvent (fn: (event: EventBody) => void): () => void {
    this.#events.add(fn)
    return () => { this.#events.delete(fn) }
  }

  stderr (): string {
    try {
      return readFileSync(join(this.cfg.logDir, `stderr-${this.inst}.log`), 'utf8')
    } catch {
      return ''
    }
  }

  kill9 (): void {
    this.expectExit = true
    this.child.kill('SIGKILL')
  }

  stop (): void {
    this.stopped = true
    this.child.kill('SIGSTOP')
  }

  cont (): void {
    this.stopped = false
    this.child.kill('SIGCONT')
  }

  /** Graceful: SIGTERM (the app closes, handing its queues over). SIGKILL after timeoutMs. */
  async term (timeoutMs = 15_000): Promise<void> {
    this.expectExit = true
    if (!this.alive) return
    if (this.stopped) this.cont()
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await this.exited
    clearTimeout(timer)
  }

  async enqueue (body: unknown, timeoutMs = 3000): Promise<{ status: number, body: { id?: string, code?: string, message?: string } }> {
    return await postJson(this.port, '/enqueue', body, timeoutMs)
  }
}

/** POST a JSON body to 127.0.0.1:port without keep-alive (no sockets left behind). */
export async function postJson (port: number, path: string, body: unknown, timeoutMs: number): Promise<{ status: number, body: { id?: string, code?: string, message?: string } }> {
  const data = JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), connection: 'close' },
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { id?: string } })
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { code: 'BAD_RESPONSE', message: text.slice(0, 200) } })
        }
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(data)
  })
}
