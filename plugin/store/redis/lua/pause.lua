-- pause: stops new heads of a queue from starting. A running head finishes;
-- its complete/fail then releases instead of going on. Pausing a paused queue
-- changes nothing. A paused queue stays listed even when empty.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] paused   SET of paused queues
-- KEYS[3] ready    LIST of waiting queues
-- KEYS[4] halted   HASH queue → haltedAt
-- KEYS[5] queues   ZSET listing index
-- KEYS[6] q        prefix of the queue lists
-- KEYS[7] lease    HASH queue → token:number:expiresAt:flags:owner
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
if rcall('SADD', KEYS[2], queue) == 1 then
  rcall('LREM', KEYS[3], 1, queue)
  -- A running queue carries the mark in its lease, where complete reads it.
  local token, leaseNum, expiresAt, _, owner = parseLease(rcall('HGET', KEYS[7], queue))
  if token then rcall('HSET', KEYS[7], queue, leaseValue(token, leaseNum, expiresAt, 'p', owner)) end
  -- A paused queue is listed by its head, not by its halt.
  if rcall('HEXISTS', KEYS[4], queue) == 1 then
    local head = rcall('LINDEX', KEYS[6] .. num, 0)
    if head then rcall('ZADD', KEYS[5], headScore(head), queue) end
  end
end
return 0
