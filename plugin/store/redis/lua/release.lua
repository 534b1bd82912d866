-- release: gives a held queue back without settling its head (graceful
-- shutdown, a hand-off of a head that has not started). Unless keepAttempt,
-- the attempt the claim counted is taken back. The queue goes to the front
-- of the ready list (unless paused) and one worker is woken.
--
-- KEYS[1] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[3] paused   SET of paused queues
-- KEYS[4] ready    LIST of waiting queues
-- KEYS[5] wake     LIST of wake-up tokens
-- KEYS[6] q        prefix of the queue lists
-- KEYS[7] queues   ZSET listing index
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] keepAttempt: '1' keeps the attempt counted, '0' takes it back
--
-- Returns 1, or -1 when fenced (lease lost or expired; nothing changed).
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease
-- @include _head

local queue = ARGV[1]
local num = validLease(KEYS[1], queue, ARGV[2], nowMs())
if not num then return -1 end
rcall('HDEL', KEYS[1], queue)
if ARGV[3] ~= '1' then
  local attempts, lastError = headState(rcall('HGET', KEYS[2], queue))
  if attempts > 0 then rcall('HSET', KEYS[2], queue, headValue(attempts - 1, lastError)) end
end
local head = rcall('LINDEX', KEYS[6] .. num, 0)
if head then rcall('ZADD', KEYS[7], headScore(head), queue) end
if rcall('SISMEMBER', KEYS[3], queue) == 0 then makeWaiting(KEYS[4], KEYS[5], queue, true) end
return 1
