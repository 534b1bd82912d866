-- fail: the lease holder's head failed. Checks the lease, records the error
-- and the failure, releases the lease, then:
--   dead-letter now, or attempts spent with onExhausted 'dead-letter' → the
--     head goes to the dead letters and the queue moves on (back of the ready list);
--   attempts spent otherwise → the queue halts until an operator acts;
--   attempts left → the queue retries its head at now + delayMs.
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
-- KEYS[14] halted  HASH queue → haltedAt
-- KEYS[15] delayed ZSET queue → retryAt
-- KEYS[16] dead    LIST of dead letter ids, newest first
-- KEYS[17] deadrec HASH id → dead letter entry
-- KEYS[18] tseq    counter of task numbers (ids for corrupt records)
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] error: one line shown to operators
-- ARGV[4] maxAttempts: the handler's attempts limit
-- ARGV[5] delayMs: backoff before the next attempt (ms)
-- ARGV[6] onExhausted: 'halt' or 'dead-letter'
-- ARGV[7] deadLetterNow: '1' to dead-letter whatever the attempts
-- ARGV[8] deadLetterLimit: dead letters kept
--
-- Returns {-1} when fenced (nothing changed), {1, retryAt (ms)} retrying,
-- {2} halted, {3} dead-lettered.
local rcall = redis.call
-- @include _clock
-- @include _base36
-- @include _queue
-- @include _lease
-- @include _dead
-- @include _head

local queue, token, errorText = ARGV[1], ARGV[2], ARGV[3]
local now = nowMs()
local held = leaseValid(KEYS[1], KEYS[2], queue, token, now)
if not held then return {-1} end

local num = leaseNum(held)
unlease(KEYS[1], KEYS[2], queue)
rcall('HINCRBY', KEYS[9], 'f' .. math.floor(now / 10000), 1)
local attempts = headState(rcall('HGET', KEYS[4], queue))
local exhausted = attempts >= tonumber(ARGV[4])
local paused = rcall('SISMEMBER', KEYS[6], queue) == 1

if ARGV[7] == '1' or (exhausted and ARGV[6] == 'dead-letter') then
  local listKey = KEYS[3] .. num
  local rec = rcall('LPOP', listKey)
  if rec then
    rcall('DECR', KEYS[10])
    local id = recordId(rec)
    if id and string.sub(id, 1, #num + 1) ~= num .. '-' then rcall('HDEL', KEYS[13], id) end
    bury(KEYS[16], KEYS[17], id or (num .. '-x' .. base36(rcall('INCR', KEYS[18]))), queue, rec, attempts,
      errorText, errorText, now, tonumber(ARGV[8]))
  end
  rcall('HDEL', KEYS[4], queue)
  local nextRec = rcall('LINDEX', listKey, 0)
  if nextRec then
    rcall('ZADD', KEYS[5], headScore(nextRec), queue)
    if not paused then makeWaiting(KEYS[7], KEYS[8], queue, false) end
  elseif paused then
    rcall('ZADD', KEYS[5], EMPTY_SCORE, queue)
  else
    dropQueue(KEYS[11], KEYS[12], KEYS[5], queue, num)
  end
  return {3}
end

rcall('HSET', KEYS[4], queue, headValue(attempts, errorText))
if exhausted then
  rcall('HSET', KEYS[14], queue, now)
  if not paused then rcall('ZADD', KEYS[5], now, queue) end
  return {2}
end
local delayMs = tonumber(ARGV[5])
local retryAt = now + (delayMs > 0 and delayMs or 0)
rcall('ZADD', KEYS[15], retryAt, queue)
return {1, retryAt}
