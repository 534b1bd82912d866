-- sweep: housekeeping, safe to run from every instance at once.
--   expired leases      → the queue is waiting again (back of the ready list);
--                         the head's attempt stays counted (it may have started)
--   due retries         → waiting again
--   missing-handler queues whose handler is in ARGV → waiting again
--   stats buckets older than the 60 shown, expired instance records → dropped
-- A paused queue leaves its mark but does not become waiting. One wake-up
-- token is pushed per queue made waiting (capped). Each pass handles at most
-- 1000 queues per kind, so a backlog never blocks Redis for long.
--
-- KEYS[1] held     ZSET queue → lease expiry
-- KEYS[2] lease    HASH queue → token:number:owner
-- KEYS[3] ready    LIST of waiting queues
-- KEYS[4] wake     LIST of wake-up tokens
-- KEYS[5] delayed  ZSET queue → retryAt
-- KEYS[6] parked   HASH queue → handler name its head needs
-- KEYS[7] paused   SET of paused queues
-- KEYS[8] stats    HASH of 10 s buckets
-- KEYS[9] beat     ZSET instance id → when its record expires
-- KEYS[10] inst    HASH instance id → record
--
-- ARGV[1..] handler names the calling instance has
--
-- Returns {recovered, promoted, unparked, nextRetryAt (ms) or -1}.
local rcall = redis.call
-- @include _clock
-- @include _queue

local now = nowMs()
local woken = 0

local function toWaiting (queue)
  if rcall('SISMEMBER', KEYS[7], queue) == 0 then
    rcall('RPUSH', KEYS[3], queue)
    woken = woken + 1
  end
end

local expired = rcall('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #expired do
  rcall('ZREM', KEYS[1], expired[i])
  rcall('HDEL', KEYS[2], expired[i])
  toWaiting(expired[i])
end

local due = rcall('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #due do
  rcall('ZREM', KEYS[5], due[i])
  toWaiting(due[i])
end

local unparked = 0
if #ARGV > 0 then
  local parked = rcall('HGETALL', KEYS[6])
  if #parked > 0 then
    local have = {}
    for i = 1, #ARGV do have[ARGV[i]] = true end
    for i = 1, #parked, 2 do
      if have[parked[i + 1]] and unparked < 1000 then
        rcall('HDEL', KEYS[6], parked[i])
        toWaiting(parked[i])
        unparked = unparked + 1
      end
    end
  end
end

if woken > 0 then signalWake(KEYS[4], woken) end

-- Stats: prune at most once per bucket.
local bucket = math.floor(now / 10000)
if tonumber(rcall('HGET', KEYS[8], 'p')) ~= bucket then
  local fields = rcall('HKEYS', KEYS[8])
  for i = 1, #fields do
    local b = tonumber(string.sub(fields[i], 2))
    if fields[i] ~= 'p' and (b == nil or b <= bucket - 60) then rcall('HDEL', KEYS[8], fields[i]) end
  end
  rcall('HSET', KEYS[8], 'p', bucket)
end

local gone = rcall('ZRANGEBYSCORE', KEYS[9], '-inf', now, 'LIMIT', 0, 1000)
for i = 1, #gone do
  rcall('ZREM', KEYS[9], gone[i])
  rcall('HDEL', KEYS[10], gone[i])
end

local nextRetry = rcall('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
return {#expired, #due, unparked, nextRetry[2] and tonumber(nextRetry[2]) or -1}
