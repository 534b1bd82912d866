-- complete: the lease holder's head succeeded. Checks the lease, removes the
-- head and counts it. With `keep`, when the queue has another task and is not
-- paused, the lease is renewed (same token) and the next head is returned with
-- its first attempt counted: one round trip per task. Otherwise the lease is
-- released and the queue goes to the back of the ready list (fairness) when it
-- still has tasks and is not paused, or is forgotten when it is empty.
--
-- KEYS[1] lease    HASH queue → token:owner
-- KEYS[2] held     ZSET queue → lease expiry
-- KEYS[3] qid      HASH queue → number
-- KEYS[4] q        prefix of the queue lists
-- KEYS[5] att      HASH queue → attempts of its head
-- KEYS[6] err      HASH queue → last error of its head
-- KEYS[7] queues   ZSET listing index
-- KEYS[8] paused   SET of paused queues
-- KEYS[9] ready    LIST of waiting queues
-- KEYS[10] wake    LIST of wake-up tokens
-- KEYS[11] stats   HASH of 10 s buckets
-- KEYS[12] pending counter of pending tasks
-- KEYS[13] qname   HASH number → queue
-- KEYS[14] moved   HASH id → queue, for requeued tasks
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] owner: instance id of the caller
-- ARGV[4] leaseMs: length of the renewed lease (ms)
-- ARGV[5] keep: '1' to go on with the next head, '0' to release
-- ARGV[6] taskId: the head the caller ran. When the head is another task under
--         a still-valid lease, an earlier call already completed it and only
--         its reply was lost: nothing is removed again (retry-safe).
--
-- Returns {-1} when fenced (lease lost or expired; nothing changed), {0} when
-- the lease was released, or {1, record, leaseExpiresAt (ms)} for the next head
-- (attempt 1, no last error, same token); a retried call returns
-- {1, record, leaseExpiresAt, attempt, lastError or nil} for the head it had already handed out.
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease

local queue, token = ARGV[1], ARGV[2]
local now = nowMs()
local held = leaseValid(KEYS[1], KEYS[2], queue, token, now)
if not held then return {-1} end

local num = rcall('HGET', KEYS[3], queue)
local listKey = KEYS[4] .. num
local head = rcall('LINDEX', listKey, 0)
if not head or recordId(head) ~= ARGV[6] then
  -- Retry of a call that already completed ARGV[6].
  local paused = rcall('SISMEMBER', KEYS[8], queue) == 1
  if head and ARGV[5] == '1' and not paused then
    local expiresAt = now + tonumber(ARGV[4])
    rcall('ZADD', KEYS[2], expiresAt, queue)
    return {1, head, expiresAt, tonumber(rcall('HGET', KEYS[5], queue) or '1'), rcall('HGET', KEYS[6], queue)}
  end
  unlease(KEYS[1], KEYS[2], queue)
  if head then
    if not paused then makeWaiting(KEYS[9], KEYS[10], queue, false) end
  elseif not paused then
    dropQueue(KEYS[3], KEYS[13], KEYS[7], queue, num)
  end
  return {0}
end
local done = rcall('LPOP', listKey)
if done then
  rcall('DECR', KEYS[12])
  if string.sub(done, 1, #num + 1) ~= num .. '-' then
    local id = recordId(done)
    if id then rcall('HDEL', KEYS[14], id) end
  end
end
rcall('HINCRBY', KEYS[11], 'c' .. math.floor(now / 10000), 1)

local nextRec = rcall('LINDEX', listKey, 0)
local paused = rcall('SISMEMBER', KEYS[8], queue) == 1
if nextRec and ARGV[5] == '1' and not paused then
  local expiresAt = now + tonumber(ARGV[4])
  rcall('ZADD', KEYS[2], expiresAt, queue)
  local owned = token .. ':' .. ARGV[3]
  if held ~= owned then rcall('HSET', KEYS[1], queue, owned) end
  rcall('HSET', KEYS[5], queue, 1)
  rcall('HDEL', KEYS[6], queue)
  rcall('ZADD', KEYS[7], headScore(nextRec), queue)
  return {1, nextRec, expiresAt}
end

unlease(KEYS[1], KEYS[2], queue)
rcall('HDEL', KEYS[5], queue)
rcall('HDEL', KEYS[6], queue)
if nextRec then
  rcall('ZADD', KEYS[7], headScore(nextRec), queue)
  if not paused then makeWaiting(KEYS[9], KEYS[10], queue, false) end
elseif paused then
  rcall('ZADD', KEYS[7], EMPTY_SCORE, queue)
else
  dropQueue(KEYS[3], KEYS[13], KEYS[7], queue, num)
end
return {0}
