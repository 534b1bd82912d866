-- sweep: housekeeping, safe to run from every instance at once.
--   expired leases      → the queue is waiting again (back of the ready list);
--                         the head's attempt stays counted (it may have started)
--   due retries and throttled queues whose time has come → waiting again
--   missing-handler queues whose handler is in ARGV → waiting again
--   stats buckets older than the 60 shown, expired instance records → dropped
-- A paused queue leaves its mark but does not become waiting. One wake-up
-- token is pushed per queue made waiting (capped). Each pass handles at most
-- 1000 queues per kind, so a backlog never blocks Redis for long. Expired
-- leases are found by reading {p}:lease whole: one field per held queue, at
-- most the worker slots of all instances.
--
-- KEYS[1] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] ready    LIST of waiting queues
-- KEYS[3] wake     LIST of wake-up tokens
-- KEYS[4] delayed  ZSET queue → retryAt
-- KEYS[5] parked   HASH queue → handler name its head needs
-- KEYS[6] paused   SET of paused queues
-- KEYS[7] stats    HASH of 10 s buckets
-- KEYS[8] beat     ZSET instance id → when its record expires
-- KEYS[9] inst     HASH instance id → record
-- KEYS[10] q       prefix of the queue lists
-- KEYS[11] queues  ZSET listing index
-- KEYS[12] throttled HASH queue → limiter name
-- KEYS[13] nudged  SET of queues woken while held
-- KEYS[14] backoffs HASH queue → taskId\tcount\tlast ms
-- KEYS[15] idle    ZSET <leaseMs>\t<owner> → until (ms): offers to take a handed queue
--
-- ARGV[1..] handler names the calling instance has
--
-- Returns {recovered, promoted, unparked, nextRetryAt (ms) or -1}; nextRetryAt
-- covers throttled queues too.
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease

local now = nowMs()
local woken = 0

local function toWaiting (queue)
  if rcall('SISMEMBER', KEYS[6], queue) == 0 then
    rcall('RPUSH', KEYS[2], queue)
    woken = woken + 1
  end
end

local recovered = 0
local leases = rcall('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  local queue = leases[i]
  local token, num, expiresAt = parseLease(leases[i + 1])
  -- A field that is not a lease would hold its queue forever: it counts as expired.
  if recovered < 1000 and (not token or expiresAt <= now) then
    rcall('HDEL', KEYS[1], queue)
    local head = num and rcall('LINDEX', KEYS[10] .. num, 0)
    if head then rcall('ZADD', KEYS[11], headScore(head), queue) end
    toWaiting(queue)
    recovered = recovered + 1
  end
end

local due = rcall('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #due do
  rcall('ZREM', KEYS[4], due[i])
  toWaiting(due[i])
end
if #due > 0 and rcall('HLEN', KEYS[12]) > 0 then
  for i = 1, #due do rcall('HDEL', KEYS[12], due[i]) end
end
-- A nudge left by a holder that never throttled (it crashed, or got its slot after all).
if rcall('SCARD', KEYS[13]) > 0 then
  local nudged = rcall('SMEMBERS', KEYS[13])
  for i = 1, #nudged do
    if rcall('HEXISTS', KEYS[1], nudged[i]) == 0 then rcall('SREM', KEYS[13], nudged[i]) end
  end
end

local unparked = 0
if #ARGV > 0 then
  local parked = rcall('HGETALL', KEYS[5])
  if #parked > 0 then
    local have = {}
    for i = 1, #ARGV do have[ARGV[i]] = true end
    for i = 1, #parked, 2 do
      if have[parked[i + 1]] and unparked < 1000 then
        rcall('HDEL', KEYS[5], parked[i])
        toWaiting(parked[i])
        unparked = unparked + 1
      end
    end
  end
end

if woken > 0 then signalWake(KEYS[3], woken) end

-- Stats: prune at most once per bucket.
local bucket = math.floor(now / 10000)
if tonumber(rcall('HGET', KEYS[7], 'p')) ~= bucket then
  local fields = rcall('HKEYS', KEYS[7])
  for i = 1, #fields do
    local b = tonumber(string.sub(fields[i], 2))
    if fields[i] ~= 'p' and (b == nil or b <= bucket - 60) then rcall('HDEL', KEYS[7], fields[i]) end
  end
  rcall('HSET', KEYS[7], 'p', bucket)
  -- Back-off counts of heads that have not backed off for an hour (they settled, or got on).
  if rcall('HLEN', KEYS[14]) > 0 then
    local counts = rcall('HGETALL', KEYS[14])
    for i = 1, #counts, 2 do
      local last = tonumber(string.match(counts[i + 1], '\t(%d+)$'))
      if not last or last < now - 3600000 then rcall('HDEL', KEYS[14], counts[i]) end
    end
  end
end

-- Handoff offers that ended without being taken back (their instance died while idle).
rcall('ZREMRANGEBYSCORE', KEYS[15], '-inf', now)

local gone = rcall('ZRANGEBYSCORE', KEYS[8], '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #gone do
  rcall('ZREM', KEYS[8], gone[i])
  rcall('HDEL', KEYS[9], gone[i])
end

local nextRetry = rcall('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {recovered, #due, unparked, nextRetry[2] and tonumber(nextRetry[2]) or -1}
