import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { MAX_PARTITIONS } from '../store/redis/partitions'
import { isClusterInput, type ClusterInput } from '../store/redis/secrets'
import { FST_FIFO_INVALID_OPTION } from './errors'
import type { Store } from '../store/store'
import { resolveMetricsRegistry, type PromRegistry } from './prom'

/**
 * Dashboard options. `Auth` is the adapter's hook type: `(request, reply)` for
 * Fastify, an Express middleware `(req, res, next)` for Express.
 */
export interface DashboardOptions<Auth = unknown> {
  /**
   * Where the dashboard is served; the JSON API is under `<path>/api` and metrics at `<path>/metrics`.
   * @default '/fifo'
   */
  path?: string
  /**
   * Runs on every dashboard, API and metrics request. Throw (an error with a
   * statusCode) or send a reply (e.g. 401) to refuse. Without it the API is read-only.
   * @example auth: async (request, reply) => { if (request.headers.authorization !== `Bearer ${token}`) reply.code(401).send({ error: 'no' }) }
   */
  auth?: Auth
  /**
   * Refuse every action (pause, resume, retry, skip, requeue, delete) even with `auth`.
   * @default false
   */
  readOnly?: boolean
  /**
   * Show task arguments in the API and dashboard. Set false when they may hold personal data.
   * @default true
   */
  showArgs?: boolean
}

/** The options every adapter shares (the Fastify plugin's options are exactly these). */
export interface FifoOptions<Auth = unknown> {
  /**
   * Redis to use: a URL, ioredis options, or an ioredis `Redis`/`Cluster` client
   * (which the plugin duplicates for its blocking connection and never closes).
   * Without it, an in-process memory store is used: single process, not durable.
   */
  redis?: string | RedisOptions | Redis | Cluster | ClusterInput
  /**
   * Partitions of the namespace (see the README, "Scaling out"): with N > 1 it
   * is N independent partitions, each with its own hash tag, so a Redis Cluster
   * spreads one namespace over its masters. A queue's partition is a pure
   * function of its name. Recorded in the namespace: an instance configured
   * with another count than a namespace holding tasks refuses to start
   * (FST_FIFO_PARTITIONS_MISMATCH). 1 keeps exactly the keys of earlier versions.
   * @default 1
   */
  partitions?: number
  /**
   * A Store implementation of your own (advanced; see plugin/store/store.ts). Overrides `redis`.
   */
  store?: Store
  /**
   * Key namespace. All keys share the hash tag `{prefix}`.
   * @default 'fifo'
   */
  prefix?: string
  /**
   * Handlers this instance runs at once. While runnable queues outnumber
   * them it may hold up to twice as many queues, so one queue's head runs
   * while another's completion is on its way to the store (README "How it
   * works", run permits).
   * @default 8
   */
  concurrency?: number
  /**
   * Lease length: how long a crashed instance keeps its queues. Heartbeat runs every leaseMs / 3.
   * @default 15000
   */
  leaseMs?: number
  /**
   * How often each instance sweeps for expired leases and due retries.
   * @default 1000
   */
  sweepMs?: number
  /**
   * Fairness: tasks an instance runs from one queue before giving it back.
   * @default 50
   */
  burst?: number
  /**
   * Pipelined acks, OFF by default: how many completions of one queue may be
   * in flight while the tasks behind them already run. With 0 (the default)
   * task n+1 starts only once Redis has stored task n's completion. With N > 0
   * an instance runs up to N + 1 tasks of a queue per round trip, and a crash
   * (or a lost connection) can run an earlier task again after a later one
   * started: order holds while nothing fails, not across a crash. See README.
   * @default 0
   */
  pipelinedAcks?: number
  /**
   * How long close waits for running handlers before aborting them.
   * @default 10000
   */
  closeTimeoutMs?: number
  /**
   * How long register waits for Redis to answer at startup.
   * @default 10000
   */
  connectTimeoutMs?: number
  /**
   * How long an enqueue or any other store call may wait for Redis before it rejects.
   * @default 5000
   */
  commandTimeoutMs?: number
  /**
   * Durability across a Redis failover: enqueue, claim, completion and failure
   * resolve only once Redis `WAIT` confirms the write on this many replicas.
   * Otherwise the call rejects with FST_FIFO_NOT_REPLICATED (retry it; an
   * enqueue with a dedupeId is never added twice). 0: Redis' usual asynchronous
   * replication, where a failover can lose the last writes. Redis store only.
   * @default 0
   */
  replicas?: number
  /**
   * With `replicas`: how long WAIT may take before the call rejects. Must be below commandTimeoutMs.
   * @default 1000
   */
  replicaTimeoutMs?: number
  /**
   * Largest accepted arguments, in bytes of JSON.
   * @default 524288
   */
  maxPayloadBytes?: number
  /**
   * Largest handler result returned to a caller waiting on its task (`wait`),
   * in bytes of JSON. A larger (or non-JSON) result does not fail the task: the
   * waiter gets FST_FIFO_RESULT_REFUSED. Results are kept only for waited tasks.
   * @default 65536
   */
  maxResultBytes?: number
  /**
   * Dead letters kept; the oldest are dropped beyond it.
   * @default 10000
   */
  deadLetterLimit?: number
  /**
   * This instance's id as shown in the admin API.
   * @default `${hostname}:${pid}:${random}`
   */
  instanceId?: string
  /**
   * Run workers in this instance. false makes an enqueue-only instance.
   * @default true
   */
  worker?: boolean
  /**
   * The admin API and dashboard. false turns both off.
   * @default { path: '/fifo', readOnly: false, showArgs: true }
   */
  dashboard?: false | DashboardOptions<Auth>
  /**
   * Export the metrics to a prom-client registry (prom-client is an optional
   * peer): `true` for prom-client's default registry (the one fastify-metrics
   * serves), `{ registry }` for your own. `<path>/metrics` serves the same
   * families either way; without prom-client it renders them itself.
   * @default false
   * @example metrics: true
   */
  metrics?: boolean | { registry: PromRegistry }
  /**
   * OpenTelemetry spans for enqueues and runs, when @opentelemetry/api is
   * installed (an optional peer) and a tracer provider is registered. false
   * turns them off (nothing is loaded or stored).
   * @default true
   */
  tracing?: boolean
}

export interface ResolvedDashboard {
  path: string
  /** The adapter's hook, as given (the adapter knows its type). */
  auth: ((...args: never[]) => unknown) | null
  readOnly: boolean
  showArgs: boolean
}

export interface ResolvedOptions {
  redis: FifoOptions['redis']
  partitions: number
  store: Store | null
  prefix: string
  concurrency: number
  leaseMs: number
  sweepMs: number
  burst: number
  pipelinedAcks: number
  closeTimeoutMs: number
  connectTimeoutMs: number
  commandTimeoutMs: number
  replicas: number
  replicaTimeoutMs: number
  maxPayloadBytes: number
  maxResultBytes: number
  deadLetterLimit: number
  instanceId: string | null
  worker: boolean
  dashboard: ResolvedDashboard | null
  /** The prom-client registry in use (`own`: a private one, for <path>/metrics only), or null without prom-client. */
  metrics: { registry: PromRegistry, own: boolean } | null
  tracing: boolean
}

const KNOWN = new Set(['redis', 'partitions', 'store', 'prefix', 'concurrency', 'leaseMs', 'sweepMs', 'burst', 'pipelinedAcks', 'closeTimeoutMs',
  'connectTimeoutMs', 'commandTimeoutMs', 'replicas', 'replicaTimeoutMs', 'maxPayloadBytes', 'maxResultBytes', 'deadLetterLimit', 'instanceId', 'worker', 'dashboard', 'metrics', 'tracing'])
const KNOWN_DASHBOARD = new Set(['path', 'auth', 'readOnly', 'showArgs'])

/** Shows a user's value in an error message: its JSON (cut short) and its type. */
export function show (value: unknown): string {
  let text: string
  try {
    // NaN and ±Infinity as themselves (JSON would say null).
    text = typeof value === 'number' ? String(value) : typeof value === 'function' ? `function ${value.name || '(anonymous)'}` : typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' ? value.toString() : JSON.stringify(value) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  if (text.length > 80) text = text.slice(0, 77) + '...'
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
  return `${text} (${type})`
}

function int (opts: Record<string, unknown>, name: string, dflt: number, min: number, max: number, unit: string): number {
  const value = opts[name]
  if (value === undefined) return dflt
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FST_FIFO_INVALID_OPTION(name, `must be a whole number of ${unit} from ${min} to ${max}, got ${show(value)}`)
  }
  return value
}

function bool (opts: Record<string, unknown>, name: string, dflt: boolean, label = name): boolean {
  const value = opts[name]
  if (value === undefined) return dflt
  if (typeof value !== 'boolean') throw new FST_FIFO_INVALID_OPTION(label, `must be true or false, got ${show(value)}`)
  return value
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** `redis: { cluster: [nodes], options? }`: nodes are redis:// URLs or { host, port }. */
function checkClusterInput (input: ClusterInput): void {
  const nodes = input.cluster as unknown
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new FST_FIFO_INVALID_OPTION('redis.cluster', `must be a non-empty array of redis:// URLs or { host, port }, got ${Array.isArray(nodes) ? 'an empty array' : typeof nodes}`)
  }
  nodes.forEach((node: unknown, i) => {
    if (typeof node === 'string') {
      // Never echo the value: it may hold a password.
      if (!/^rediss?:\/\//.test(node)) throw new FST_FIFO_INVALID_OPTION(`redis.cluster[${i}]`, 'must be a URL starting with redis:// or rediss://')
      return
    }
    const n = node as { host?: unknown, port?: unknown } | null
    if (n === null || typeof n !== 'object' || typeof n.host !== 'string' || typeof n.port !== 'number' || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535) {
      throw new FST_FIFO_INVALID_OPTION(`redis.cluster[${i}]`, 'must be a redis:// URL or { host: string, port: number }')
    }
  })
  const extra = Object.keys(input).filter((k) => k !== 'cluster' && k !== 'options')
  if (extra.length > 0) throw new FST_FIFO_INVALID_OPTION(`redis.${extra[0]}`, 'is not a cluster setting (known: cluster, options)')
  if (input.options !== undefined && (input.options === null || typeof input.options !== 'object')) {
    throw new FST_FIFO_INVALID_OPTION('redis.options', 'must be ioredis Cluster options (an object)')
  }
}

/** Checks and completes the options; `extraKeys` are an adapter's own options, checked by it. */
export function resolveOptions (input: unknown, extraKeys: readonly string[] = []): ResolvedOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FST_FIFO_INVALID_OPTION('options', `must be an object, got ${show(input)}`)
  }
  const opts = input as Record<string, unknown>
  for (const key of Object.keys(opts)) {
    if (!KNOWN.has(key) && !extraKeys.includes(key)) throw new FST_FIFO_INVALID_OPTION(key, `is not an option of fastify-fifo (known: ${[...KNOWN].join(', ')})`)
  }

  const redis = opts.redis
  if (redis !== undefined && typeof redis !== 'string' && (redis === null || typeof redis !== 'object')) {
    throw new FST_FIFO_INVALID_OPTION('redis', `must be a redis:// URL, ioredis options or an ioredis client, got ${show(redis)}`)
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    // Never echo the value: it may hold a password.
    throw new FST_FIFO_INVALID_OPTION('redis', 'must be a URL starting with redis:// or rediss://')
  }
  if (isClusterInput(redis)) checkClusterInput(redis)
  const store = opts.store
  if (store !== undefined && (store === null || typeof store !== 'object' || typeof (store as Store).claim !== 'function')) {
    throw new FST_FIFO_INVALID_OPTION('store', `must implement the Store contract, got ${show(store)}`)
  }

  const prefix = opts.prefix === undefined ? 'fifo' : opts.prefix
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 64 || !/^[A-Za-z0-9_.:-]+$/.test(prefix)) {
    throw new FST_FIFO_INVALID_OPTION('prefix', `must be 1-64 characters of letters, digits, _ . : -, got ${show(prefix)}`)
  }

  const leaseMs = int(opts, 'leaseMs', 15_000, 200, 3_600_000, 'milliseconds')
  const instanceId = opts.instanceId
  if (instanceId !== undefined && (typeof instanceId !== 'string' || instanceId.length === 0 || instanceId.length > 128 || CONTROL.test(instanceId))) {
    throw new FST_FIFO_INVALID_OPTION('instanceId', `must be 1-128 characters without control characters, got ${show(instanceId)}`)
  }

  let dashboard: ResolvedDashboard | null = null
  const d = opts.dashboard
  if (d !== false) {
    if (d !== undefined && (d === null || typeof d !== 'object' || Array.isArray(d))) {
      throw new FST_FIFO_INVALID_OPTION('dashboard', `must be false or an object, got ${show(d)}`)
    }
    const dash = (d ?? {}) as Record<string, unknown>
    for (const key of Object.keys(dash)) {
      if (!KNOWN_DASHBOARD.has(key)) throw new FST_FIFO_INVALID_OPTION(`dashboard.${key}`, `is not a dashboard option (known: ${[...KNOWN_DASHBOARD].join(', ')})`)
    }
    const path = dash.path === undefined ? '/fifo' : dash.path
    if (typeof path !== 'string' || !/^\/[A-Za-z0-9_\-./]*$/.test(path) || path.length > 200 || path.includes('//') || (path.length > 1 && path.endsWith('/'))) {
      throw new FST_FIFO_INVALID_OPTION('dashboard.path', `must be a URL path like "/fifo" (no trailing slash), got ${show(path)}`)
    }
    if (dash.auth !== undefined && typeof dash.auth !== 'function') {
      throw new FST_FIFO_INVALID_OPTION('dashboard.auth', `must be a function (request, reply), got ${show(dash.auth)}`)
    }
    dashboard = {
      path,
      auth: (dash.auth as ResolvedDashboard['auth']) ?? null,
      readOnly: bool(dash, 'readOnly', false, 'dashboard.readOnly'),
      showArgs: bool(dash, 'showArgs', true, 'dashboard.showArgs'),
    }
  }

  const commandTimeoutMs = int(opts, 'commandTimeoutMs', 5_000, 50, 600_000, 'milliseconds')
  const replicas = int(opts, 'replicas', 0, 0, 100, 'replicas')
  const replicaTimeoutMs = int(opts, 'replicaTimeoutMs', 1000, 1, 600_000, 'milliseconds')
  if (replicas > 0 && (redis === undefined || store !== undefined)) {
    throw new FST_FIFO_INVALID_OPTION('replicas', `waits for Redis replicas, so it needs the "redis" option (and no "store"), got replicas: ${replicas}`)
  }
  if (replicas > 0 && replicaTimeoutMs >= commandTimeoutMs) {
    throw new FST_FIFO_INVALID_OPTION('replicaTimeoutMs', `must be below commandTimeoutMs (${commandTimeoutMs}), got ${show(replicaTimeoutMs)}`)
  }

  return {
    redis: redis as FifoOptions['redis'],
    partitions: int(opts, 'partitions', 1, 1, MAX_PARTITIONS, 'partitions'),
    store: (store as Store | undefined) ?? null,
    prefix,
    concurrency: int(opts, 'concurrency', 8, 1, 1024, 'queues'),
    leaseMs,
    sweepMs: int(opts, 'sweepMs', 1000, 10, 600_000, 'milliseconds'),
    burst: int(opts, 'burst', 50, 1, 1_000_000, 'tasks'),
    pipelinedAcks: int(opts, 'pipelinedAcks', 0, 0, 1000, 'completions'),
    closeTimeoutMs: int(opts, 'closeTimeoutMs', 10_000, 0, 3_600_000, 'milliseconds'),
    connectTimeoutMs: int(opts, 'connectTimeoutMs', 10_000, 50, 600_000, 'milliseconds'),
    commandTimeoutMs,
    replicas,
    replicaTimeoutMs,
    maxPayloadBytes: int(opts, 'maxPayloadBytes', 512 * 1024, 64, 64 * 1024 * 1024, 'bytes'),
    maxResultBytes: int(opts, 'maxResultBytes', 64 * 1024, 16, 16 * 1024 * 1024, 'bytes'),
    deadLetterLimit: int(opts, 'deadLetterLimit', 10_000, 1, 10_000_000, 'dead letters'),
    instanceId: (instanceId as string | undefined) ?? null,
    worker: bool(opts, 'worker', true),
    dashboard,
    metrics: resolveMetricsRegistry(opts.metrics),
    tracing: bool(opts, 'tracing', true),
  }
}
