import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildMessage, ChildResult, Job } from './protocol'

const CHILD = join(__dirname, '..', 'child.ts')
/** USER_HZ of /proc/<pid>/stat: 100 on every Linux the bench runs on. */
const CLOCK_TICKS = 100

// Children load TypeScript the same way the runner does.
const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx']

/** A forked bench child running one job; see bench/child.ts for the protocol. */
export class Child {
  readonly #proc: ChildProcess
  readonly #results: ChildResult[] = []
  #waiters: Array<() => void> = []
  #failure: Error | null = null
  #exited = false
  #stopSent = false
  port = 0
  done = 0

  private constructor (proc: ChildProcess) {
    this.#proc = proc
    // A send racing the child's own exit fails with EPIPE; the exit handler reports what matters.
    proc.on('error', () => {})
    proc.on('message', (msg: ChildMessage) => {
      if (msg.type === 'progress') this.done = msg.done
      else if (msg.type === 'result') this.#results.push(msg.result)
      else if (msg.type === 'error') this.#failure = new Error(`bench child failed: ${msg.message}`)
      else if (msg.type === 'ready') this.port = msg.port ?? 0
      if (msg.type !== 'progress') this.#wake()
    })
    proc.on('exit', (code, signal) => {
      this.#exited = true
      this.#failure ??= new Error(`bench child exited (${code ?? signal}) early`)
      this.#wake()
    })
  }

  #wake (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  async #until<T> (what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = check()
      if (value !== undefined) return value
      if (this.#failure !== null) throw this.#failure
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`bench child: no ${what} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  /** Forks a child, hands it the job and waits until it is set up (connected, pre-filled). */
  static async start (job: Job, timeoutMs = 180_000): Promise<Child> {
    const proc = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const child = new Child(proc)
    let ready = false
    proc.on('message', (msg: ChildMessage) => { if (msg.type === 'ready') ready = true })
    proc.send({ type: 'job', job })
    try {
      await child.#until('ready', timeoutMs, () => ready ? true : undefined)
    } catch (err) {
      await child.end(0)
      throw err
    }
    return child
  }

  go (): void { this.#proc.send({ type: 'go' }) }

  /** Tells a saturate producer how many of its tasks have run (its backlog bound). */
  completed (done: number): void {
    if (!this.#exited && this.#proc.connected) this.#proc.send({ type: 'completed', done }, (err) => { if (err !== null) this.#wake() })
  }

  /** CPU time the child has used so far (Linux /proc; 0 elsewhere), in µs. */
  cpuUs (): number {
    try {
      const stat = readFileSync(`/proc/${this.#proc.pid ?? 0}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
      return (Number(fields[11]) + Number(fields[12])) * 1e6 / CLOCK_TICKS
    } catch {
      return 0
    }
  }

  stop (): void {
    if (this.#stopSent || this.#exited || !this.#proc.connected) return
    this.#stopSent = true
    this.#proc.send({ type: 'stop' }, (err) => { if (err !== null) this.#wake() })
  }

  /** The next result the child sends. */
  async result (timeoutMs = 300_000): Promise<ChildResult> {
    return await this.#until('result', timeoutMs, () => this.#results.shift())
  }

  /** Sends stop and waits for the child to exit; kills it after `graceMs`. */
  async end (graceMs = 15_000): Promise<void> {
    if (this.#exited) return
    this.stop()
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()))
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  /** Sends stop, waits for the child's final result, then for its exit. */
  async stopAndCollect (timeoutMs = 60_000): Promise<ChildResult> {
    this.stop()
    const result = await this.result(timeoutMs)
    await this.end()
    return result
  }
}
