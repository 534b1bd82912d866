import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

/** A Redis Cluster the store connects to itself: startup nodes (`redis://` URLs or host/port) and ioredis Cluster options. */
export interface ClusterInput {
  cluster: Array<string | { host: string, port: number }>
  options?: ClusterOptions
}

/** What the store's `redis` option may be. */
export type RedisInput = string | RedisOptions | Redis | Cluster | ClusterInput

export function isClusterInput (input: unknown): input is ClusterInput {
  return typeof input === 'object' && input !== null && !isClient(input as RedisInput) && 'cluster' in input
}

export function isClient (input: RedisInput): input is Redis | Cluster {
  return input instanceof Redis || input instanceof Cluster ||
    (typeof input === 'object' && input !== null && typeof (input as Partial<Record<string, unknown>>).duplicate === 'function' &&
      typeof (input as Partial<Record<string, unknown>>).defineCommand === 'function')
}

/** Credentials that must never reach an error message or a log line. */
export function secretsOf (input: RedisInput): string[] {
  const found: Array<string | undefined> = []
  if (typeof input === 'string') {
    found.push(input)
    try {
      const url = new URL(input)
      found.push(decodeURIComponent(url.password), url.password, decodeURIComponent(url.username), url.username)
    } catch {}
  } else if (isClusterInput(input)) {
    const nodes = Array.isArray(input.cluster) ? input.cluster : []
    for (const node of nodes) if (typeof node === 'string') found.push(...secretsOf(node))
    const opts = (input.options ?? {}) as { redisOptions?: Record<string, unknown> }
    for (const field of ['password', 'username']) {
      const value = opts.redisOptions?.[field]
      if (typeof value === 'string') found.push(value)
    }
  } else {
    const opts = (isClient(input) ? input.options : input) as Record<string, unknown> & { redisOptions?: Record<string, unknown> }
    for (const source of [opts, opts.redisOptions ?? {}]) {
      for (const field of ['password', 'username', 'sentinelPassword', 'sentinelUsername']) {
        const value = source[field]
        if (typeof value === 'string') found.push(value)
      }
    }
  }
  // Very short "secrets" (a one-letter user name) would mangle every message; they cannot be guessed from it anyway.
  return found.filter((s): s is string => typeof s === 'string' && s.length >= 3).sort((a, b) => b.length - a.length)
}

/** Removes URLs and credentials from text meant for an error or a log. */
export function redact (text: string, secrets: string[]): string {
  let out = text.replace(/rediss?:\/\/\S*/gi, 'redis://[redacted]')
  for (const secret of secrets) out = out.split(secret).join('[redacted]')
  return out
}
