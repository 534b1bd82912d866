-- resume: undoes pause. The queue becomes waiting again (back of the ready
-- list, one wake-up) when it can run; an empty one is forgotten; a halted,
-- retrying or missing-handler one shows that state again. Resuming a queue
-- that is not paused changes nothing.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] qname    HASH number → queue
-- KEYS[3] paused   SET of paused queues
-- KEYS[4] ready    LIST of waiting queues
-- KEYS[5] wake     LIST of wake-up tokens
-- KEYS[6] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[7] halted   HASH queue → haltedAt
-- KEYS[8] delayed  ZSET queue → retryAt
-- KEYS[9] parked   HASH queue → handler name
-- KEYS[10] queues  ZSET listing index
-- KEYS[11] q       prefix of the queue lists
--
-- ARGV[1] queue
--
-- Returns 0, or -2 when the queue does not exist.
local rcall = redis.call
-- @include _queue
-- @include _lease

local queue = ARGV[1]
local num = rcall('HGET', KEYS[1], queue)
if not num then return -2 end
if rcall('SREM', KEYS[3], queue) == 0 then return 0 end
local token, leaseNum, expiresAt, _, owner = parseLease(rcall('HGET', KEYS[6], queue))
local held = token ~= nil
if held then rcall('HSET', KEYS[6], queue, leaseValue(token, leaseNum, expiresAt, '', owner)) end
if rcall('LLEN', KEYS[11] .. num) == 0 then
  if not held then dropQueue(KEYS[1], KEYS[2], KEYS[10], queue, num) end
  return 0
end
local haltedAt = rcall('HGET', KEYS[7], queue)
if haltedAt then
  rcall('ZADD', KEYS[10], haltedAt, queue)
elseif not held and not rcall('ZSCORE', KEYS[8], queue) and rcall('HEXISTS', KEYS[9], queue) == 0 then
  makeWaiting(KEYS[4], KEYS[5], queue, false)
end
return 0
