import type { ClaimedTask, LeaseRef } from '../store'
import type { Popped, RedisConnection } from './connection'
import type { RedisKeys } from './keys'

const noop = (): void => {}

/**
 * Handoff for one store (lua/_handoff.lua): a claim that finds nothing may
 * offer to take a queue handed over while its instance blocks for work; an
 * enqueue that makes a queue runnable then grants that instance the lease and
 * pushes the head onto its inbox, which the blocking read pops along with the
 * wake list. Pickup loses the wake-up's trip to the worker, the claim's round
 * trip and the claim script: measured in bench/README.md (pickup latency).
 *
 * Off with the `replicas` option (a handed head would start before Redis
 * `WAIT` confirmed its lease, where a claim's reply waits for it) and in a
 * partitioned store (its instances wake on pub/sub from every partition).
 *
 * This object remembers whether an offer may be out (set when a claim that
 * makes one is sent, cleared once a claim took it back without making a new
 * one or `leave` ran), so the next claim takes it back, and the blocking read
 * listens on the inbox only while one is.
 */
export class Handoff {
  readonly #keys: RedisKeys
  readonly #conn: RedisConnection
  readonly #leave: (owner: string, leaseMs: number) => Promise<unknown>
  readonly #giveBack: (lease: LeaseRef) => void
  readonly #decode: (reply: unknown[]) => ClaimedTask | null
  #offer: { owner: string, leaseMs: number } | null = null

  /**
   * `decode` turns a claim.lua reply into a task, `leave` runs leave.lua for an
   * offer, `giveBack` releases a lease in the background.
   */
  constructor (keys: RedisKeys, conn: RedisConnection, decode: (reply: unknown[]) => ClaimedTask | null, leave: (owner: string, leaseMs: number) => Promise<unknown>, giveBack: (lease: LeaseRef) => void) {
    this.#keys = keys
    this.#decode = decode
    this.#conn = conn
    this.#leave = leave
    this.#giveBack = giveBack
  }

  /** claim.lua's ARGV for this claim; call `claimed` with its reply. */
  claimArgs (owner: string, leaseMs: number, offerMs: number | undefined): Array<string | number> {
    const takeBack = this.#offer !== null && this.#offer.owner === owner && this.#offer.leaseMs === leaseMs
    const offer = offerMs === undefined || !(offerMs >= 1) ? '' : Math.floor(offerMs)
    if (offer !== '') this.#offer = { owner, leaseMs }
    return [owner, leaseMs, offer, takeBack ? '1' : '']
  }

  /** After a claim's reply: an offer is out only when it made one and found nothing. */
  claimed (claimed: ClaimedTask | null, offerMs: number | undefined): void {
    if (claimed !== null || offerMs === undefined) this.#offer = null
  }

  /** The wait for work: the wake list, and this owner's inbox while an offer is out. */
  async wait (timeoutMs: number): Promise<boolean | ClaimedTask> {
    const offer = this.#offer
    if (offer === null) return (await this.#conn.blockingPop([this.#keys.wake], timeoutMs)) !== null
    const inbox = this.#keys.inbox + offer.owner
    const popped = await this.#conn.blockingPop([inbox, this.#keys.wake], timeoutMs, (late) => { this.#late(inbox, late) })
    if (popped === null) return false
    if (popped.key !== inbox || popped.value === null) return true
    // The offer was taken by the handover.
    this.#offer = null
    return this.#handed(popped.value) ?? true
  }

  /** A head popped after its wait ended (interrupted, or overdue): nobody runs it, so it is given back. */
  #late (inbox: string, popped: NonNullable<Popped>): void {
    if (popped.key !== inbox || popped.value === null) return
    const task = this.#handed(popped.value)
    if (task !== null) this.#giveBack({ queue: task.queue, token: task.token })
  }

  /** Takes back an offer that may be out and gives back any head handed over and not taken. */
  async leave (): Promise<void> {
    const offer = this.#offer
    if (offer === null) return
    await this.#leave(offer.owner, offer.leaseMs)
    if (this.#offer === offer) this.#offer = null
  }

  /** As leave, in the background (interruptWait). */
  leaveSoon (): void {
    this.leave().catch(noop)
  }

  /** A head handed over, from its inbox entry (claim.lua's reply as JSON); null when it does not decode. */
  #handed (json: string): ClaimedTask | null {
    let c: unknown
    try {
      c = JSON.parse(json)
    } catch {
      return null
    }
    if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'string' || typeof c[3] !== 'string') return null
    return this.#decode([c[0], c[1], c[2], c[3], c[4], typeof c[5] === 'string' ? c[5] : null, 1])
  }
}
