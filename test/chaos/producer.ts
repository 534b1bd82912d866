import type { StepSpec } from './app'
import type { AppProcess } from './cluster'
import { hrNow, type EventLog } from './events'
import { Prng } from './prng'

/**
 * Producers: one serial lane per queue (so a queue's enqueue order is the
 * order of its sequence numbers: a lane sends seq n+1 only after the call for
 * seq n returned). Each call goes over HTTP to a random running instance, whose
 * route calls the task. Accepted = the call resolved with a task id; anything
 * else (503 with an FST_FIFO_* code, a timeout, a dropped connection because
 * the instance was killed) is logged as not accepted.
 */
export interface ProducerOptions {
  queues: string[]
  /** The queue that gets `hotShare` of the traffic; the rest is spread evenly. */
  hot: string
  hotShare: number
  /** Target tasks per second over all lanes. */
  rate: number
  log: EventLog
  /** Each lane draws its task mix from its own PRNG seeded from this, so timing does not reorder the draws. */
  seed: number
  instances: () => AppProcess[]
  requestTimeoutMs?: number
}

/** The work a task asks for, and now and then a planned failure. */
export function taskSpec (prng: Prng): StepSpec {
  const r = prng.next()
  const ms = r < 0.7 ? prng.int(1, 10) : r < 0.95 ? prng.int(20, 100) : prng.int(300, 1200)
  const f = prng.next()
  const fault: StepSpec['fault'] = f < 0.02 ? 'throw' : f < 0.025 ? 'throw-always' : f < 0.03 ? 'hang' : f < 0.033 ? 'zombie' : undefined
  return fault === undefined ? { ms } : { ms, fault }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export class Producers {
  readonly #o: ProducerOptions
  #running = false
  #lanes: Array<Promise<void>> = []
  readonly seqs = new Map<string, number>()
  accepted = 0
  rejected = 0

  constructor (options: ProducerOptions) {
    this.#o = options
  }

  start (): void {
    this.#running = true
    const { queues, hot, hotShare, rate } = this.#o
    const others = queues.filter((q) => q !== hot)
    queues.forEach((queue, i) => {
      const perSecond = queue === hot ? rate * hotShare : (rate * (1 - hotShare)) / Math.max(1, others.length)
      this.#lanes.push(this.#lane(queue, 1000 / Math.max(0.01, perSecond), new Prng(this.#o.seed * 7919 + i)))
    })
  }

  async stop (): Promise<void> {
    this.#running = false
    await Promise.all(this.#lanes)
  }

  async #lane (queue: string, gapMs: number, prng: Prng): Promise<void> {
    const { log } = this.#o
    await sleep(prng.next() * gapMs)
    while (this.#running) {
      const began = Date.now()
      const live = this.#o.instances().filter((p) => p.alive && !p.stopped && p.port > 0)
      if (live.length === 0) {
        await sleep(50)
        continue
      }
      const seq = (this.seqs.get(queue) ?? 0) + 1
      this.seqs.set(queue, seq)
      const spec = taskSpec(prng)
      const target = prng.pick(live)
      const beganHr = hrNow()
      try {
        const res = await target.enqueue({ queue, seq, spec }, this.#o.requestTimeoutMs ?? 3000)
        if (res.status === 200 && typeof res.body.id === 'string') {
          this.accepted++
          log.write({ type: 'enqueue', ok: true, id: res.body.id, queue, seq, beganHr })
        } else {
          this.rejected++
          log.write({ type: 'enqueue', ok: false, queue, seq, beganHr, error: `${res.status} ${res.body.code ?? ''}` })
        }
      } catch (err) {
        this.rejected++
        log.write({ type: 'enqueue', ok: false, queue, seq, beganHr, error: (err as Error).message.slice(0, 200) })
      }
      // Exponential gaps around the lane's mean: bursts and lulls.
      const wait = -Math.log(1 - prng.next()) * gapMs - (Date.now() - began)
      if (wait > 0) await sleep(Math.min(wait, gapMs * 5))
    }
  }
}
