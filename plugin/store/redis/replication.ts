import { Cluster, Command } from 'ioredis'
import { FST_FIFO_NOT_REPLICATED } from '../../core/errors'
import type { OutgoingCommand, RedisConnection } from './connection'

/**
 * The `replicas` option: a write resolves only once Redis `WAIT` says that
 * many replicas have it. WAIT cannot run inside a script, and it answers for
 * the writes made so far *on its own connection*, so it is sent on the same
 * connection right behind the scripts: every confirmed script written in one
 * turn of the event loop shares one WAIT, sent at the end of that turn
 * (pipelined, no extra round trip of its own; a blocked WAIT holds that
 * connection, so one per turn rather than one per script).
 *
 * On a Cluster, ioredis routes a keyless command to any node, so the scripts
 * and their WAIT are pinned to one node object per slot (ioredis'
 * `sendCommand(command, stream, node)`: the first command picks the
 * connection, the others reuse it). A pinned command gets no MOVED/ASK
 * handling from ioredis: such a reply means the script did not run, so it is
 * sent again (with a new WAIT) after the slot map is refreshed, within the
 * call's commandTimeoutMs.
 */

/** Replies that say the script did not run on that node. */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/

interface PinnedNode { slot: number, redis?: unknown }

interface Group {
  node: PinnedNode | undefined
  /** Replicas that acknowledged, or why WAIT failed. Never rejects. */
  acked: Promise<number | Error>
  settle: (value: number | Error) => void
}

const UTF8 = { replyEncoding: 'utf8' as const }

export class ReplicaWait {
  readonly replicas: number
  readonly timeoutMs: number
  readonly #conn: RedisConnection
  readonly #commandTimeoutMs: number
  /** Groups open in this turn of the event loop, by slot (-1 off a Cluster). */
  #open = new Map<number, Group>()

  constructor (conn: RedisConnection, replicas: number, timeoutMs: number, commandTimeoutMs: number) {
    this.#conn = conn
    this.replicas = replicas
    this.timeoutMs = timeoutMs
    this.#commandTimeoutMs = commandTimeoutMs
  }

  /**
   * Runs the command from `make` and resolves with `decode(reply)` once WAIT
   * confirms it, when `needs(value)` says the reply wrote something worth
   * confirming. Otherwise calls `unconfirmed(value)` (to undo what can be
   * undone) and rejects with FST_FIFO_NOT_REPLICATED.
   */
  async send<T> (what: string, make: () => OutgoingCommand, decode: (reply: unknown) => T,
    needs: (value: T) => boolean, unconfirmed?: (value: T) => void): Promise<T> {
    const deadline = performance.now() + this.#commandTimeoutMs
    return await this.#conn.call(what, async () => {
      let command = make()
      while (true) {
        const group = this.#write(command)
        let reply: unknown
        try {
          reply = await command.promise
        } catch (err) {
          const next = command.instead(err) ?? (await this.#redirected(err, deadline) ? make() : null)
          if (next === null) throw err
          command = next
          continue
        }
        const value = decode(reply)
        if (!needs(value)) return value
        const acked = await group.acked
        if (typeof acked === 'number' && acked >= this.replicas) return value
        unconfirmed?.(value)
        const got = typeof acked === 'number' ? `${acked} of ${this.replicas} replicas` : `no replica count (${this.#conn.redact(acked.message)})`
        throw new FST_FIFO_NOT_REPLICATED(what, got, this.timeoutMs)
      }
    })
  }

  /** Writes `command` into this turn's group for its node, opening the group (and scheduling its WAIT) if needed. */
  #write (command: OutgoingCommand): Group {
    const client = this.#conn.client
    const cluster = client instanceof Cluster
    const slot = cluster ? (command.getSlot() ?? -1) : -1
    let group = this.#open.get(slot)
    if (group === undefined) {
      let settle!: (value: number | Error) => void
      const acked = new Promise<number | Error>((resolve) => { settle = resolve })
      group = { node: cluster ? { slot: slot < 0 ? 0 : slot } : undefined, acked, settle }
      if (this.#open.size === 0) setImmediate(this.#flush)
      this.#open.set(slot, group)
    }
    if (cluster) client.sendCommand(command, undefined, group.node)
    else client.sendCommand(command)
    return group
  }

  /** Sends one WAIT per open group, on that group's connection. */
  readonly #flush = (): void => {
    const groups = [...this.#open.values()]
    this.#open.clear()
    const client = this.#conn.client
    for (const group of groups) {
      const wait = new Command('wait', [this.replicas, this.timeoutMs], UTF8)
      wait.promise.then((n) => group.settle(Number(n)), (err: unknown) => group.settle(err instanceof Error ? err : new Error(String(err))))
      try {
        if (client instanceof Cluster) client.sendCommand(wait, undefined, group.node)
        else client.sendCommand(wait)
      } catch (err) {
        group.settle(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  /** True when `err` is a cluster redirect (the script did not run) and there is time to send it again, after refreshing the slot map. */
  async #redirected (err: unknown, deadline: number): Promise<boolean> {
    const client = this.#conn.client
    if (!(client instanceof Cluster) || !(err instanceof Error) || !NOT_RUN.test(err.message)) return false
    if (performance.now() + 100 > deadline) return false
    client.refreshSlotsCache()
    await new Promise((resolve) => setTimeout(resolve, 100))
    return true
  }
}
