import { FST_FIFO_PARTITIONS_MISMATCH } from '../../core/errors'
import type { RedisConnection } from './connection'
import { keyBase } from './keys'
import { partitionBase } from './partitions'

/**
 * The namespace's partition count, recorded at `{prefix}:partitions` (the
 * base tag, one slot whatever the count) by the first instance that connects.
 *
 * An instance configured with another count than the recorded one:
 * - refuses to start with FST_FIFO_PARTITIONS_MISMATCH (naming both numbers)
 *   while the recorded layout holds anything: tasks, dead letters, queues
 *   (a paused or halted one) or a live instance. Two counts at once would put
 *   one queue in two partitions, and order between them would be lost;
 * - takes the namespace over and records its own count when that layout is
 *   empty: nothing can be misplaced, so there is nothing to refuse.
 * A namespace that has no record yet was written (if at all) by a version
 * without partitions, that is with one partition; it is checked as such.
 */
export async function checkPartitions (conn: RedisConnection, prefix: string, configured: number): Promise<void> {
  const client = conn.client
  const key = keyBase(prefix) + 'partitions'
  const recorded = async (): Promise<number | null> => {
    const v = await conn.call('connect', async () => await client.get(key))
    return v === null ? null : Number(v)
  }
  let stored = await recorded()
  for (let round = 0; round < 3; round++) {
    const layout = stored ?? 1
    if (layout !== configured) {
      const found = await contents(conn, prefix, layout)
      if (found !== null) throw new FST_FIFO_PARTITIONS_MISMATCH(prefix, `${layout} and holds ${found}`, configured)
    }
    if (stored === configured) return
    // Record ours only if the record is still what was checked (another instance may be starting too).
    const swapped = await conn.call('connect', async () => await client.eval(
      "local v = redis.call('GET', KEYS[1]) if (v or '') == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0",
      1, key, stored === null ? '' : String(stored), String(configured)))
    if (Number(swapped) === 1) return
    stored = await recorded()
  }
  throw new FST_FIFO_PARTITIONS_MISMATCH(prefix, `${String(stored)} (a record that keeps changing)`, configured)
}

/** What the layout of `n` partitions holds (`"12 tasks"`…), or null when it is empty. */
async function contents (conn: RedisConnection, prefix: string, n: number): Promise<string | null> {
  const client = conn.client
  let tasks = 0
  let dead = 0
  let queues = 0
  let live = 0
  for (let i = 0; i < n; i++) {
    const base = partitionBase(prefix, i, n)
    const [pending, deadLen, qidLen, beats] = await conn.call('connect', async () => await Promise.all([
      client.get(base + 'pending'), client.llen(base + 'dead'), client.hlen(base + 'qid'),
      // Instance records expire by their score (last heartbeat + 3 × leaseMs); a live one is in the future.
      client.time().then(async ([s, us]) => await client.zcount(base + 'beat', `(${Number(s) * 1000 + Math.floor(Number(us) / 1000)}`, '+inf')),
    ]))
    tasks += Math.max(0, Number(pending ?? 0))
    dead += deadLen
    queues += qidLen
    live += beats
  }
  const parts: string[] = []
  if (tasks > 0) parts.push(`${tasks} task(s)`)
  if (dead > 0) parts.push(`${dead} dead letter(s)`)
  if (tasks === 0 && queues > 0) parts.push(`${queues} queue(s)`)
  if (live > 0) parts.push(`${live} live instance(s)`)
  return parts.length === 0 ? null : parts.join(', ')
}
