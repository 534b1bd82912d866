/**
 * Every Redis key of one namespace, from one place. All keys start with
 * `{prefix}:`, so they share one hash tag and every script touches a single
 * Cluster slot. A script is sent one key, the base `{prefix}:`, and builds
 * the names it declares in its `-- KEYS[i] <name>` header lines from it (the
 * loader prepends `local KEYS = {base .. 'ready', …}`, see scripts.ts), as it
 * builds the per-queue and per-dedupe keys from the `q` and `dd` prefixes; so
 * an ioredis `keyPrefix`, applied to the one key, applies to every key alike.
 *
 * Layout (Q = queue name, N = queue number in base 36):
 */
export interface RedisKeys {
  /** `{p}:ready` LIST of waiting queue names, claim order; a queue appears at most once. */
  ready: string
  /**
   * `{p}:lease` HASH Q → `<token>:<N>:<expiresAt ms>:<flags>:<owner>` for each held queue;
   * flags `p` when paused while held. All the hot path needs in one field.
   */
  lease: string
  /** `{p}:delayed` ZSET Q → retryAt (ms) of a retrying head. */
  delayed: string
  /** `{p}:halted` HASH Q → haltedAt (ms). */
  halted: string
  /** `{p}:paused` SET of Q. */
  paused: string
  /** `{p}:parked` HASH Q → handler name the head needs (missing-handler). */
  parked: string
  /**
   * `{p}:queues` ZSET Q → urgency score (haltedAt; 1e13 + head enqueuedAt; 3e13 when empty), the listing
   * index. A running queue's score is refreshed by its readers, not by every complete.
   */
  queues: string
  /** `{p}:qid` HASH Q → N, for every queue that exists. */
  qid: string
  /** `{p}:qname` HASH N → Q. */
  qname: string
  /** `{p}:qseq` counter of queue numbers (never reused). */
  qseq: string
  /** `{p}:tseq` counter of task numbers. */
  tseq: string
  /** `{p}:token` counter of fencing tokens. */
  token: string
  /** `{p}:epoch` STRING `<epoch>:<master replid>`: the tokens' epoch, bumped when the master changes (lua/_grant.lua). */
  epoch: string
  /** `{p}:heads` HASH Q → `<attempts>` or `<attempts>\n<lastError>` of its head (one field: one write per task). */
  heads: string
  /** `{p}:pending` counter of tasks in all queues. */
  pending: string
  /** `{p}:moved` HASH task id → Q, for a requeued task whose id names a queue number Q no longer has. */
  moved: string
  /** `{p}:dead` LIST of dead letter ids, newest first (capped). */
  dead: string
  /** `{p}:deadrec` HASH id → `deadAt\nattempts\nQ\nreason\nlastError\n<task record>` (reason, lastError escaped). */
  deadrec: string
  /** `{p}:stats` HASH `c<bucket>`/`f<bucket>` → completed/failed count per 10 s bucket; `p` → last pruned bucket. */
  stats: string
  /** `{p}:inst` HASH instance id → `<lastHeartbeatAt>\n<InstanceInfo JSON>`. */
  inst: string
  /** `{p}:beat` ZSET instance id → time its record expires (last heartbeat + 3 × leaseMs). */
  beat: string
  /** `{p}:wake` LIST of wake-up tokens (capped); idle workers BLPOP it. */
  wake: string
  /**
   * `{p}:idle` ZSET owner → until (ms): instances blocked for work that an enqueue may hand a
   * queue to directly (handoff, see lua/_handoff.lua); written by an empty claim.
   */
  idle: string
  /** `{p}:inbox:` — prefix of `{p}:inbox:<owner>`, a LIST of heads handed to an idle owner (JSON claim replies), short-lived. */
  inbox: string
  /** `{p}:q:` — prefix of `{p}:q:<N>`, the LIST of a queue's task records, head first. */
  q: string
  /** `{p}:dd:` — prefix of `{p}:dd:<dedupeId>`, a STRING `id\nQ\nname` that expires after dedupeMs. */
  dd: string
  /** `{p}:throttled` HASH Q → limiter name ('' for none) of a throttled queue; its due time is its `delayed` score. */
  throttled: string
  /** `{p}:backoffs` HASH Q → `<taskId>\t<count>\t<last ms>`: rate-limit back-offs of the current head. */
  backoffs: string
  /** `{p}:nudged` SET of held queues woken before their throttle landed (see throttle.lua). */
  nudged: string
  // Limiter keys, under the limiter's own base (limiterBase in redis-store.ts). L = limiter name.
  /** `{p}:limiters` SET of limiter names used in the last day. */
  limiters: string
  /** `{p}:lim:` — prefix of `{p}:lim:<L>`, a HASH: def (`max:perMs:concurrency`), pause (`<until ms or -1>:<by>`), next (promised time), backoffs. */
  lim: string
  /** `{p}:limw:` — prefix of `{p}:limw:<L>`, the ZSET of starts in the window (score: start ms). */
  limw: string
  /** `{p}:limc:` — prefix of `{p}:limc:<L>`, the ZSET of running slots `Q\ntoken\ntaskId` → expiry ms. */
  limc: string
  /** `{p}:limq:` — prefix of `{p}:limq:<L>`, the ZSET of queues waiting for a slot or a resume → since (ms). */
  limq: string
  /**
   * `{p}:res:` — prefix of `{p}:res:<task id>`, a STRING holding the outcome of a task someone waits on
   * (see store.ts `waitOutcome`), kept a few minutes; also the sharded pub/sub channel its settling publishes on.
   */
  res: string
}

export type KeyName = keyof RedisKeys

const names: KeyName[] = ['ready', 'lease', 'delayed', 'halted', 'paused', 'parked', 'queues', 'qid', 'qname',
  'qseq', 'tseq', 'token', 'epoch', 'heads', 'pending', 'moved', 'dead', 'deadrec', 'stats', 'inst', 'beat', 'wake', 'idle', 'inbox', 'q', 'dd',
  'throttled', 'backoffs', 'nudged', 'limiters', 'lim', 'limw', 'limc', 'limq', 'res']
/** Keys that are prefixes of per-queue, per-dedupe or per-limiter keys. */
const PREFIXES = new Set<KeyName>(['q', 'dd', 'inbox', 'lim', 'limw', 'limc', 'limq', 'res'])

export function isKeyName (name: string): name is KeyName {
  return (names as string[]).includes(name)
}

/** `{prefix}:`, what every key of the namespace starts with. Scripts get it as their one key (see scripts.ts). */
export function keyBase (prefix: string): string {
  return `{${prefix}}:`
}

/** What follows the base in key `name`. */
export function keySuffix (name: KeyName): string {
  return PREFIXES.has(name) ? `${name}:` : name
}

/** The keys of namespace `prefix` (with one partition). */
export function redisKeys (prefix: string): RedisKeys {
  return redisKeysAt(keyBase(prefix))
}

/** The keys under `base` (`{tag}:`: a namespace, or one partition of it). */
export function redisKeysAt (base: string): RedisKeys {
  const keys = {} as RedisKeys
  for (const name of names) keys[name] = base + keySuffix(name)
  return keys
}

/** The LIST of the queue numbered `num` (base 36, as stored in `qid`). */
export function queueKey (keys: RedisKeys, num: string): string {
  return keys.q + num
}

/** The dedupe marker of `dedupeId`. */
export function dedupeKey (keys: RedisKeys, dedupeId: string): string {
  return keys.dd + dedupeId
}
