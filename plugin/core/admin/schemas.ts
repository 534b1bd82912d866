/**
 * JSON schemas of the admin API: Fastify validates requests and serializes
 * responses with them, so a response can never carry a field that is not
 * listed here (a stored record's extra fields, a payload when showArgs is off).
 */

const QUEUE_STATES = ['waiting', 'running', 'retrying', 'halted', 'missing-handler', 'paused', 'throttled'] as const

const str = { type: 'string' } as const
const int = { type: 'integer' } as const
const bool = { type: 'boolean' } as const
const nullableStr = { type: ['string', 'null'] } as const
const nullableInt = { type: ['integer', 'null'] } as const

function object (properties: Record<string, unknown>, description?: string): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...(description === undefined ? {} : { description }) }
}

/** The body of every error the admin API sends. */
export const errorReply = object({
  statusCode: int,
  code: { type: 'string', description: 'Stable FST_FIFO_* code' },
  error: { type: 'string', description: 'HTTP status text' },
  message: str,
}, 'Every admin API error')

// Serialized leniently: a dashboard.auth hook may send its own refusal (any
// shape) from inside this context, and a strict schema would turn it into a 500.
const errorSerialized = { ...errorReply, required: [], additionalProperties: true }

const errorResponses = { '4xx': errorSerialized, '5xx': errorSerialized }

// ---- request parts ----

const pageProperties = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0, description: 'Rows to skip' },
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Rows per page (1–500)' },
}
export const pageQuery = { type: 'object', additionalProperties: false, properties: pageProperties }

export const queuesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageProperties,
    state: { type: 'string', enum: QUEUE_STATES, description: 'Only queues in this state' },
    search: { type: 'string', maxLength: 256, description: 'Case-sensitive substring of the queue name' },
  },
}

const emptyQuery = { type: 'object', additionalProperties: false, properties: {} }

export const queueParams = object({ queue: { type: 'string', minLength: 1, maxLength: 256, description: 'Queue name, URL-encoded' } })
export const idParams = object({ id: { type: 'string', minLength: 1, maxLength: 512 } })

/**
 * Every action takes a JSON object body (send `{}` when there is nothing to
 * say). Requiring a JSON body is what keeps a cross-site HTML form, which can
 * only send form or text bodies, from triggering an action.
 */
export const actionBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reason: { type: 'string', minLength: 1, maxLength: 500, description: 'skip only: recorded on the dead letter' },
  },
}
export const emptyBody = { type: 'object', additionalProperties: false, properties: {} }

// ---- response parts ----

const head = object({
  id: str,
  name: { type: 'string', description: 'Handler name' },
  attempts: { type: 'integer', description: 'Attempts started so far (0: not started yet)' },
  enqueuedAt: { type: 'integer', description: 'ms since epoch' },
  ageMs: { type: 'integer', description: 'Time since it was enqueued' },
  lastError: nullableStr,
  requestId: nullableStr,
})

export const queueView = {
  ...object({
    name: str,
    state: { type: 'string', enum: QUEUE_STATES },
    depth: { type: 'integer', description: 'Tasks in the queue, head included' },
    paused: bool,
    head: nullable(head),
    holder: { type: ['string', 'null'], description: 'Instance holding the lease while running' },
    leaseExpiresAt: nullableInt,
    retryAt: { type: ['integer', 'null'], description: 'When a retrying head runs again' },
    missingHandler: { type: ['string', 'null'], description: 'The handler a missing-handler head needs' },
    haltedAt: nullableInt,
    throttledUntil: { type: ['integer', 'null'], description: 'When a throttled head tries for its token again (sooner when a slot frees)' },
    limiter: { type: ['string', 'null'], description: "The limiter a throttled head waits for ('' for a back-off without one)" },
  }),
}

export const limiterParams = object({ limiter: { type: 'string', minLength: 1, maxLength: 128, description: 'Concrete limiter name, URL-encoded' } })

const limiterView = object({
  name: str,
  definition: { type: 'string', description: 'The fifo.limiter() name it takes its limits from (a pattern ends in *)' },
  max: { type: ['integer', 'null'], description: 'Starts per window; null without a rate' },
  perMs: nullableInt,
  concurrency: { type: ['integer', 'null'], description: 'Heads running at once; null without a concurrency limit' },
  usedInWindow: { type: 'integer', description: 'Starts in the current window (now − perMs, now]' },
  running: { type: 'integer', description: 'Running slots held now, across every instance' },
  queuesWaiting: { type: 'integer', description: 'Queues throttled waiting for it' },
  paused: bool,
  pausedUntil: { type: ['integer', 'null'], description: 'End of a back-off pause; null when not paused or paused by an operator until resumed' },
  pausedBy: { type: ['string', 'null'], enum: ['operator', 'backoff', null] },
  backoffs: { type: 'integer', description: 'FST_FIFO_RATE_LIMITED back-offs recorded (state kept a day after last use)' },
})

const args = { type: ['string', 'null'], description: 'The arguments array as JSON text; null when dashboard.showArgs is false' }

export const taskView = {
  ...object({
    id: str,
    queue: str,
    name: str,
    where: { type: 'string', enum: ['head', 'pending', 'dead'] },
    position: { type: ['integer', 'null'], description: '0 = head; null for a dead letter' },
    attempts: int,
    enqueuedAt: int,
    ageMs: int,
    requestId: nullableStr,
    lastError: nullableStr,
    deadReason: nullableStr,
    deadAt: nullableInt,
    args,
  }),
}

export const deadView = {
  ...object({
    id: str,
    queue: str,
    name: str,
    attempts: int,
    enqueuedAt: int,
    requestId: nullableStr,
    reason: str,
    deadAt: int,
    args,
  }),
}

const partitionView = object({
  partition: int,
  tag: { type: 'string', description: 'hash tag of the partition\'s keys' },
  slot: int,
  node: { type: 'string', description: 'host:port of the Redis node (master) serving the partition' },
  queues: int,
  depth: { type: 'integer', description: 'pending tasks, heads included' },
  running: int,
  oldestHeadAgeMs: int,
})

const instanceView = object({
  id: str,
  host: str,
  pid: int,
  version: str,
  startedAt: int,
  concurrency: int,
  handlers: { type: 'array', items: str },
  lastHeartbeatAt: int,
  lastHeartbeatAgeMs: int,
  queuesHeld: int,
  self: { type: 'boolean', description: 'true for the instance answering this request' },
})

/** Serializes as null or as the object (fast-json-stringify handles a type list without anyOf's per-row validation). */
function nullable (schema: Record<string, unknown>): Record<string, unknown> {
  return { ...schema, type: ['object', 'null'] }
}

function page (item: Record<string, unknown>): Record<string, unknown> {
  return object({ items: { type: 'array', items: item }, total: int, offset: int, limit: int, now: int })
}

const overview = object({
  now: int,
  queues: int,
  waiting: { type: 'integer', description: 'Runnable queues not held by anyone' },
  running: int,
  retrying: int,
  halted: int,
  paused: int,
  missingHandler: int,
  throttled: { type: 'integer', description: 'Queues whose head waits for a limiter token or a back-off' },
  pendingTasks: int,
  deadLetters: int,
  liveInstances: int,
  completedLastMinute: int,
  failedLastMinute: int,
  bucketMs: { type: 'integer', description: 'Width of one series bucket' },
  series: { type: 'array', items: object({ at: int, completed: int, failed: int }), description: 'Oldest first, last 10 minutes' },
  oldestHeadAgeMs: int,
  instanceId: str,
  heldLeases: { type: 'integer', description: 'Leases the answering instance holds' },
})

const config = object({
  version: str,
  instanceId: str,
  storeKind: { type: 'string', enum: ['redis', 'memory'] },
  readOnly: bool,
  readOnlyReason: { type: ['string', 'null'], description: 'Why actions are refused, and how to enable them' },
  showArgs: bool,
  refreshMs: int,
})

const enqueued = object({ id: str, queue: str, name: str })
const queueAction = object({ ok: bool, queue: nullable(queueView) })

// ---- route schemas ----

const tags = ['fastify-fifo']

export const schemas = {
  config: { tags, summary: 'Dashboard settings: read-only status, argument visibility', querystring: emptyQuery, response: { 200: config, ...errorResponses } },
  overview: { tags, summary: 'Totals, throughput and oldest head', querystring: emptyQuery, response: { 200: overview, ...errorResponses } },
  queues: { tags, summary: 'Queues by urgency (halted first, then oldest head), paginated', querystring: queuesQuery, response: { 200: page(queueView), ...errorResponses } },
  queue: { tags, summary: 'One queue', params: queueParams, querystring: emptyQuery, response: { 200: queueView, ...errorResponses } },
  queueTasks: { tags, summary: "A queue's tasks in order, head first", params: queueParams, querystring: pageQuery, response: { 200: page(taskView), ...errorResponses } },
  queueDetail: { tags, summary: 'One queue (null when it does not exist) and a page of its tasks, in one round trip', params: queueParams, querystring: pageQuery, response: { 200: object({ queue: nullable(queueView), tasks: page(taskView) }), ...errorResponses } },
  task: { tags, summary: 'One task and where it is now', params: idParams, querystring: emptyQuery, response: { 200: taskView, ...errorResponses } },
  dead: { tags, summary: 'Dead letters, newest first', querystring: pageQuery, response: { 200: page(deadView), ...errorResponses } },
  deadOne: { tags, summary: 'One dead letter', params: idParams, querystring: emptyQuery, response: { 200: deadView, ...errorResponses } },
  partitions: { tags, summary: 'The namespace\'s partitions: where each lives and what it holds', querystring: emptyQuery, response: { 200: object({ items: { type: 'array', items: partitionView }, now: int }), ...errorResponses } },
  instances: { tags, summary: 'Live instances, newest heartbeat first', querystring: emptyQuery, response: { 200: object({ items: { type: 'array', items: instanceView }, now: int }), ...errorResponses } },
  queueAction: { tags, summary: 'pause | resume | retry | skip', params: queueParams, querystring: emptyQuery, body: actionBody, response: { 200: queueAction, ...errorResponses } },
  skip: { tags, summary: 'Move the head to the dead letters and let the queue continue', params: queueParams, querystring: emptyQuery, body: actionBody, response: { 200: object({ ok: bool, queue: nullable(queueView), dead: deadView }), ...errorResponses } },
  requeue: { tags, summary: 'Append a dead letter to the tail of its queue again', params: idParams, querystring: emptyQuery, body: emptyBody, response: { 200: object({ ok: bool, task: enqueued }), ...errorResponses } },
  deleteDead: { tags, summary: 'Delete a dead letter', params: idParams, querystring: emptyQuery, body: emptyBody, response: { 200: object({ ok: bool }), ...errorResponses } },
  limiters: { tags, summary: 'Limiters: limits, use in the current window, running slots, waiting queues, pause', querystring: emptyQuery, response: { 200: object({ items: { type: 'array', items: limiterView }, now: int }), ...errorResponses } },
  limiterAction: { tags, summary: 'pause (until resumed) | resume a limiter on every instance', params: limiterParams, querystring: emptyQuery, body: emptyBody, response: { 200: object({ ok: bool, limiter: limiterView }), ...errorResponses } },
  metrics: {
    tags,
    summary: 'Prometheus text format',
    querystring: emptyQuery,
    response: { 200: { content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses },
  },
  page: { querystring: emptyQuery, response: errorResponses },
}

export type QueueStateName = typeof QUEUE_STATES[number]
