import { FST_FIFO_INVALID_LIMITER, FST_FIFO_INVALID_LIMITER_NAME } from './errors'
import { show } from './options'
import type { LimitSpec } from '../store/store'

/**
 * Limiters: named limits on how often and how many heads may start, shared by
 * every instance of a namespace (README "Rate limits").
 *
 * Names. A limiter is defined once per app with an exact name (`'stripe'`) or
 * a pattern: a name ending in `*` (`'partner:*'`) stands for every name that
 * starts with what comes before the `*` and has at least one more character.
 * Each concrete name a task uses (`'partner:42'`) is its own limiter with the
 * pattern's limits and its own window, slots and pause: one limit per
 * customer without defining each. An exact definition wins over a pattern;
 * among patterns, the longest prefix wins.
 */
export interface LimiterOptions {
  /** Starts allowed in any window of `perMs` (sliding). Give both or neither. */
  max?: number
  /** The window of `max`, in ms (10 ms to 1 hour). */
  perMs?: number
  /** Heads running at once under this limiter, across every instance. */
  concurrency?: number
}

export interface LimiterDefinition {
  /** As defined: an exact name, or a pattern ending in `*`. */
  name: string
  pattern: boolean
  /** 0 when the limiter has no rate limit. */
  max: number
  perMs: number
  /** 0 when the limiter has no concurrency limit. */
  concurrency: number
}

export const LIMITER_NAME_MAX = 128
export const LIMIT_MAX = 100_000
export const PER_MS_MIN = 10
export const PER_MS_MAX = 3_600_000

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** Why `name` cannot be a concrete limiter name, or null when it can. */
export function badLimiterName (name: unknown): string | null {
  if (typeof name !== 'string') return `must be a string, got ${show(name)}`
  if (name.length === 0 || name.length > LIMITER_NAME_MAX) return `must be 1-${LIMITER_NAME_MAX} characters, got ${name.length}: ${show(name)}`
  if (CONTROL.test(name) || !name.isWellFormed()) return `must not contain control characters, got ${show(name)}`
  if (name.includes('*')) return `must not contain "*" (only a definition may be a pattern), got ${show(name)}`
  return null
}

function limit (name: string, key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FST_FIFO_INVALID_LIMITER(JSON.stringify(name), `"${key}" must be a whole number from ${min} to ${max}, got ${show(value)}`)
  }
  return value
}

/** The limiters of one app. Defined before ready; looked up by concrete name. */
export class Limiters {
  readonly #exact = new Map<string, LimiterDefinition>()
  /** Longest prefix first. */
  #patterns: Array<{ prefix: string, def: LimiterDefinition }> = []
  #sealed = false

  get size (): number {
    return this.#exact.size + this.#patterns.length
  }

  /** Every definition, exact names then patterns. */
  get definitions (): LimiterDefinition[] {
    return [...this.#exact.values(), ...this.#patterns.map((p) => p.def)]
  }

  seal (): void {
    this.#sealed = true
  }

  define (name: string, options: LimiterOptions): LimiterDefinition {
    const label = typeof name === 'string' ? JSON.stringify(name) : show(name)
    if (this.#sealed) throw new FST_FIFO_INVALID_LIMITER(label, 'limiter() must be called before the app is ready')
    const pattern = typeof name === 'string' && name.endsWith('*')
    const bad = badLimiterName(pattern ? name.slice(0, -1) : name)
    if (bad !== null) throw new FST_FIFO_INVALID_LIMITER(label, `name ${bad}${pattern ? ' (before the final "*")' : ''}`)
    if (this.#exact.has(name) || this.#patterns.some((p) => p.def.name === name)) {
      throw new FST_FIFO_INVALID_LIMITER(label, 'a limiter with this name is already defined')
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new FST_FIFO_INVALID_LIMITER(label, `options must be an object { max, perMs, concurrency }, got ${show(options)}`)
    }
    const o = options as Record<string, unknown>
    for (const key of Object.keys(o)) {
      if (key !== 'max' && key !== 'perMs' && key !== 'concurrency') {
        throw new FST_FIFO_INVALID_LIMITER(label, `"${key}" is not a limiter option (known: max, perMs, concurrency)`)
      }
    }
    if ((o.max === undefined) !== (o.perMs === undefined)) {
      throw new FST_FIFO_INVALID_LIMITER(label, `"max" and "perMs" go together (a rate is max starts per perMs), got max ${show(o.max)} and perMs ${show(o.perMs)}`)
    }
    if (o.max === undefined && o.concurrency === undefined) {
      throw new FST_FIFO_INVALID_LIMITER(label, 'needs a rate ({ max, perMs }), a concurrency, or both')
    }
    const def: LimiterDefinition = {
      name,
      pattern,
      max: o.max === undefined ? 0 : limit(name, 'max', o.max, 1, LIMIT_MAX),
      perMs: o.perMs === undefined ? 0 : limit(name, 'perMs', o.perMs, PER_MS_MIN, PER_MS_MAX),
      concurrency: o.concurrency === undefined ? 0 : limit(name, 'concurrency', o.concurrency, 1, LIMIT_MAX),
    }
    if (pattern) {
      this.#patterns.push({ prefix: name.slice(0, -1), def })
      this.#patterns.sort((a, b) => b.prefix.length - a.prefix.length)
    } else {
      this.#exact.set(name, def)
    }
    return def
  }

  /** The definition a concrete name takes its limits from, or undefined. */
  resolve (name: string): LimiterDefinition | undefined {
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    for (const p of this.#patterns) {
      if (name.length > p.prefix.length && name.startsWith(p.prefix)) return p.def
    }
    return undefined
  }

  /** The store's view of concrete limiter `name`; undefined when no definition covers it. */
  spec (name: string): LimitSpec | undefined {
    const def = this.resolve(name)
    return def === undefined ? undefined : { name, max: def.max, perMs: def.perMs, concurrency: def.concurrency }
  }

  /**
   * Checks the name a task's limiter function returned for one call: a
   * concrete name that a definition covers. Throws FST_FIFO_INVALID_LIMITER_NAME.
   */
  checkCall (task: string, name: unknown): LimitSpec {
    const bad = badLimiterName(name)
    if (bad !== null) throw new FST_FIFO_INVALID_LIMITER_NAME(task, `the limiter function's result ${bad}`)
    const spec = this.spec(name as string)
    if (spec === undefined) throw new FST_FIFO_INVALID_LIMITER_NAME(task, `the limiter function returned ${JSON.stringify(name)}, which no fifo.limiter() definition covers`)
    return spec
  }
}
