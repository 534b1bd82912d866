-- retry-head: an operator runs a stuck head now. A halted head gets a fresh
-- set of attempts (its last error stays visible); a retrying head skips the
-- rest of its backoff; a throttled head tries for its token now. The queue
-- goes to the front of the ready list.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[3] paused   SET of paused queues
-- KEYS[4] halted   HASH queue → haltedAt
-- KEYS[5] delayed  ZSET queue → retryAt
-- KEYS[6] parked   HASH queue → handler name
-- KEYS[7] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[8] queues   ZSET listing index
-- KEYS[9] q        prefix of the queue lists
-- KEYS[10] ready   LIST of waiting queues
-- KEYS[11] wake    LIST of wake-up tokens
-- KEYS[12] throttled HASH queue → limiter name
-- KEYS[13] res     prefix of outcome keys of waited tasks
--
-- A halted head runs again, so the halt kept as its outcome (if someone
-- waited on it) is dropped: a wait on it now waits for the new run.
-- ARGV[1] queue
--
-- Returns {0}; {-2} when the queue does not exist; {-6, state} when its
-- state is neither halted, retrying nor throttled.
local rcall = redis.call
-- @include _queue
-- @include _state
-- @include _head

local queue = ARGV[1]
local num = rcall('HGET', KEYS[1], queue)
if not num then return {-2} end
local state = queueState(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[12], queue)
if state == 'halted' then
  rcall('HDEL', KEYS[4], queue)
  local _, lastError = headState(rcall('HGET', KEYS[7], queue))
  if lastError then rcall('HSET', KEYS[7], queue, headValue(0, lastError)) else rcall('HDEL', KEYS[7], queue) end
  local head = rcall('LINDEX', KEYS[9] .. num, 0)
  if head then rcall('ZADD', KEYS[8], headScore(head), queue) end
  local headId = head and recordId(head)
  if headId then rcall('DEL', KEYS[13] .. headId) end
elseif state == 'retrying' or state == 'throttled' then
  rcall('ZREM', KEYS[5], queue)
  rcall('HDEL', KEYS[12], queue)
else
  return {-6, state}
end
makeWaiting(KEYS[10], KEYS[11], queue, true)
return {0}
