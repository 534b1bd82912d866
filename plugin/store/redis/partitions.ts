/**
 * Partitions: the pure functions that place a namespace's data on Redis
 * Cluster slots. They are part of the stored format: every process and every
 * version must compute the same values, so none of them may change.
 *
 * With `partitions` 1 the namespace is today's layout: one hash tag
 * `{prefix}`, keys `{prefix}:…`, task ids `<queue number>-<task number>`.
 *
 * With N > 1 partition i (0 ≤ i < N) has its own hash tag `{prefix#i.k}`,
 * where k is the smallest whole number ≥ 0 whose tag content `prefix#i.k`
 * has a CRC16 slot in [⌊i·16384/N⌋, ⌊(i+1)·16384/N⌋). Partition slots are
 * thus spread evenly over the 16,384 slots, so any even slot layout (what
 * `redis-cli --cluster create` makes) spreads partitions evenly over masters.
 * A queue belongs to partition FNV-1a-32(UTF-8 of its name) mod N; its task
 * ids (and dead letter ids) are `<i>.<id within the partition>`, so any
 * operation on an id goes straight to its partition.
 */

export const SLOTS = 16384
/** The most partitions a namespace can have (one per slot range of at least 16 slots). */
export const MAX_PARTITIONS = 1024

const CRC16_TABLE = ((): Uint16Array => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let b = 0; b < 8; b++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for key slots. */
export function crc16 (bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]
  return crc
}

/** The Cluster slot of `key` (its `{tag}` when it has a non-empty one, as Redis hashes it). */
export function keySlot (key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(Buffer.from(key, 'utf8')) % SLOTS
}

/** The hash tag content of partition `i` of `n` (`prefix` itself when n is 1). */
export function partitionTag (prefix: string, i: number, n: number): string {
  if (n === 1) return prefix
  const from = Math.floor(i * SLOTS / n)
  const to = Math.floor((i + 1) * SLOTS / n)
  for (let k = 0; ; k++) {
    const tag = `${prefix}#${i}.${k}`
    const slot = crc16(Buffer.from(tag, 'utf8')) % SLOTS
    if (slot >= from && slot < to) return tag
  }
}

/** `{tag}:`, what every key of partition `i` of `n` starts with. */
export function partitionBase (prefix: string, i: number, n: number): string {
  return `{${partitionTag(prefix, i, n)}}:`
}

/** FNV-1a, 32 bits, of the UTF-8 bytes of `text`. */
export function fnv1a32 (text: string): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}

/** The partition of queue `queue` in a namespace of `n` partitions. */
export function queuePartition (queue: string, n: number): number {
  return n === 1 ? 0 : fnv1a32(queue) % n
}

/** The namespace-wide id of `id` of partition `i` (unchanged with one partition). */
export function globalId (i: number, id: string, n: number): string {
  return n === 1 ? id : `${i}.${id}`
}

/** The partition and partition-local id an id names; null when it names none of `n` partitions. */
export function splitId (id: string, n: number): { partition: number, id: string } | null {
  if (n === 1) return { partition: 0, id }
  const dot = id.indexOf('.')
  if (dot < 1 || dot > 4) return null
  const head = id.slice(0, dot)
  if (!/^(0|[1-9][0-9]*)$/.test(head)) return null
  const partition = Number(head)
  return partition < n ? { partition, id: id.slice(dot + 1) } : null
}

/** The store of `partitions` that holds id `id`, its index and the id it knows it by; null when none does. */
export function partitionOf<T> (partitions: T[], id: string): { store: T, i: number, id: string } | null {
  const at = splitId(id, partitions.length)
  return at === null ? null : { store: partitions[at.partition], i: at.partition, id: at.id }
}
