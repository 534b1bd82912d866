/**
 * Completion batching, as enqueue-batch.ts does for enqueues. A worker
 * process running many queues ends many heads in one turn of its event loop
 * (the completions' replies of one socket read hand it their next heads, and
 * no-op or quick handlers end in the same turn). While a completion is on
 * the wire, the completions made in this turn are sent as one `complete`
 * call, flushed by setImmediate; with nothing on the wire a completion is
 * sent at once, so a lone holder (serial drain, one slot) never waits —
 * unless the last call carried more than one completion or asked for a
 * lookahead: completions that come in bursts then wait for the end of their
 * turn too, so a turn's burst is one call, not one for its first completion
 * and one for the rest (as enqueue batching does). A lookahead is asked only
 * by a pipelined-acks holder (opt-in), whose next completions are the burst
 * of the tasks it then runs from that reply. A head that came without its
 * lookahead (claimed on enqueue, handed over; before claims carried one, the
 * first head of every hold) has its completion go alone, and the burst behind
 * it was sent as two calls (its first completion at once, the rest at the end
 * of the turn): in the serial drain with pipelinedAcks 16 (burst 50), 6 → 5
 * script calls per 50 tasks.
 *
 * Nothing about a completion changes: each is fenced by its own lease token,
 * handled by the script exactly as its own call would be, in the order made,
 * and each caller resolves with its own reply once Redis ran the batch. The
 * completions of one batch are for different held queues (a holder has one
 * completion out at a time; with the opt-in pipelined acks, those of one
 * queue stay in order within the call as they would on the wire). A batch
 * that fails fails each of its callers, as the calls would have failed one
 * by one: completing is retry-safe (complete.lua, by task id). With the
 * `replicas` option each completion is still its own call with its own WAIT.
 * Measured in the saturate bench (bench/README.md): script calls per task
 * 1.60 → 0.99, Node CPU per task 0.93×, Redis CPU per task 0.97× (within the
 * spread of the rounds).
 */
const MAX_BATCH = 64

/** The script's 9 arguments of one completion (see complete.lua). */
export type CompleteArgs = [queue: string, token: string, owner: string, leaseMs: number, keep: '1' | '0', taskId: string, lookahead: number, outcome: string, claimNext: '1' | '']

/**
 * One completion waiting for its reply. The decoder is one function for all
 * completions, given the completion's own arguments, not a closure made per
 * completion: closures per task were most of what the hot path had left
 * after the script calls themselves.
 */
interface Pending {
  args: CompleteArgs
  decode: (args: CompleteArgs, reply: unknown) => unknown
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/** Sends the `complete` script with the completions' arguments back to back; resolves with one reply per completion. */
export type SendComplete = (args: Array<string | number>) => Promise<unknown>

export class CompleteBatcher {
  readonly #send: SendComplete
  #batch: Pending[] | null = null
  /** Complete calls sent and not answered yet. */
  #sending = 0
  /** The last call sent carried more than one completion or asked for a lookahead: the next call waits for the end of its turn. */
  #lastBurst = false

  constructor (send: SendComplete) {
    this.#send = send
  }

  /**
   * Queues one completion; resolves with `decode(args, reply)` of its own reply
   * (complete.lua's per-completion reply), or rejects with what decode throws.
   */
  add<T> (args: CompleteArgs, decode: (args: CompleteArgs, reply: unknown) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const now = this.#batch === null && this.#sending === 0 && !this.#lastBurst
      if (this.#batch === null) {
        this.#batch = []
        if (!now) setImmediate(this.#flushSoon)
      }
      this.#batch.push({ args, decode, resolve: resolve as Pending['resolve'], reject })
      if (now || this.#batch.length >= MAX_BATCH) this.#flush()
    })
  }

  readonly #flushSoon = (): void => { this.#flush() }

  #flush (): void {
    const batch = this.#batch
    if (batch === null) return
    this.#batch = null
    this.#lastBurst = batch.length > 1 || batch[0].args[6] > 0
    const args: Array<string | number> = []
    for (const p of batch) for (const a of p.args) args.push(a)
    this.#sending++
    this.#send(args).finally(() => { this.#sending-- }).then((reply) => {
      if (!Array.isArray(reply) || reply.length !== batch.length) throw new Error(`fifo: complete returned ${Array.isArray(reply) ? reply.length : typeof reply} replies for ${batch.length} completions`)
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]
        try {
          p.resolve(p.decode(p.args, reply[i]))
        } catch (err) {
          p.reject(err)
        }
      }
    }).catch((err: unknown) => {
      for (const p of batch) p.reject(err)
    })
  }
}
