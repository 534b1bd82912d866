-- complete: the lease holder's head succeeded. Checks the lease, removes the
-- head and counts it. With `keep`, when the queue has another task and is not
-- paused, the lease is renewed (same token) and the next head is returned with
-- its first attempt counted: one round trip per task. Otherwise the lease is
-- released and the queue goes to the back of the ready list (fairness) when it
-- still has tasks and is not paused, or is forgotten when it is empty.
--
-- KEYS[1] lease    HASH queue → token:number:owner
-- KEYS[2] held     ZSET queue → lease expiry
-- KEYS[3] q        prefix of the queue lists
-- KEYS[4] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[5] queues   ZSET listing index
-- KEYS[6] paused   SET of paused queues
-- KEYS[7] ready    LIST of waiting queues
-- KEYS[8] wake     LIST of wake-up tokens
-- KEYS[9] stats    HASH of 10 s buckets
-- KEYS[10] pending counter of pending tasks
-- KEYS[11] qid     HASH queue → number
-- KEYS[12] qname   HASH number → queue
-- KEYS[13] moved   HASH id → queue, for requeued tasks
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
-- @include _head

local queue, token = ARGV[1], ARGV[2]
local keep = ARGV[5] == '1'
local now = nowMs()
local held = leaseValid(KEYS[1], KEYS[2], queue, token, now)
if not held then return {-1} end

local num = leaseNum(held)
local listKey = KEYS[3] .. num
local done = rcall('LPOP', listKey)
if not done or recordId(done) ~= ARGV[6] then
  -- Retry of a call that already completed ARGV[6]: the head is the next task. Put it back.
  if done then rcall('LPUSH', listKey, done) end
  local paused = rcall('SISMEMBER', KEYS[6], queue) == 1
  if done and keep and not paused then
    local expiresAt = now + tonumber(ARGV[4])
    rcall('ZADD', KEYS[2], expiresAt, queue)
    local attempts, lastError = headState(rcall('HGET', KEYS[4], queue))
    return {1, done, expiresAt, attempts, lastError}
  end
  unlease(KEYS[1], KEYS[2], queue)
  if done then
    if not paused then makeWaiting(KEYS[7], KEYS[8], queue, false) end
  elseif not paused then
    dropQueue(KEYS[11], KEYS[12], KEYS[5], queue, num)
  end
  return {0}
end

rcall('DECR', KEYS[10])
if string.sub(done, 1, #num + 1) ~= num .. '-' then rcall('HDEL', KEYS[13], ARGV[6]) end
rcall('HINCRBY', KEYS[9], 'c' .. math.floor(now / 10000), 1)

local nextRec = rcall('LINDEX', listKey, 0)
local paused = rcall('SISMEMBER', KEYS[6], queue) == 1
if nextRec and keep and not paused then
  local expiresAt = now + tonumber(ARGV[4])
  rcall('ZADD', KEYS[2], expiresAt, queue)
  local owned = token .. ':' .. num .. ':' .. ARGV[3]
  if held ~= owned then rcall('HSET', KEYS[1], queue, owned) end
  rcall('HSET', KEYS[4], queue, 1)
  rcall('ZADD', KEYS[5], headScore(nextRec), queue)
  return {1, nextRec, expiresAt}
end

unlease(KEYS[1], KEYS[2], queue)
rcall('HDEL', KEYS[4], queue)
if nextRec then
  rcall('ZADD', KEYS[5], headScore(nextRec), queue)
  if not paused then makeWaiting(KEYS[7], KEYS[8], queue, false) end
elseif paused then
  rcall('ZADD', KEYS[5], EMPTY_SCORE, queue)
else
  dropQueue(KEYS[11], KEYS[12], KEYS[5], queue, num)
end
return {0}
