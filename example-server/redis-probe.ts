import { Redis } from 'ioredis'

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** The URL with any password replaced, for logs and pages. */
export function redactUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'an unparsable Redis URL'
  }
}

/**
 * Resolves true when a Redis at `url` answers PING within `timeoutMs`. Never
 * retries and never throws: the example falls back to the memory store instead.
 */
export async function redisAnswers (url: string, timeoutMs: number): Promise<boolean> {
  let client: Redis
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    })
  } catch {
    return false
  }
  client.on('error', () => {})
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
  try {
    const answered = (async () => {
      await client.connect()
      return (await client.ping()) === 'PONG'
    })().catch(() => false)
    return await Promise.race([answered, timeout])
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}
