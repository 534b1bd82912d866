-- release: gives a held queue back without settling its head (graceful
-- shutdown, a hand-off of a head that has not started). Unless keepAttempt,
-- the attempt the claim counted is taken back. The queue goes to the front
-- of the ready list (unless paused) and one worker is woken.
--
-- KEYS[1] lease    HASH queue → token:number:owner
-- KEYS[2] held     ZSET queue → lease expiry
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[4] paused   SET of paused queues
-- KEYS[5] ready    LIST of waiting queues
-- KEYS[6] wake     LIST of wake-up tokens
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
if not leaseValid(KEYS[1], KEYS[2], queue, ARGV[2], nowMs()) then return -1 end
unlease(KEYS[1], KEYS[2], queue)
if ARGV[3] ~= '1' then
  local attempts, lastError = headState(rcall('HGET', KEYS[3], queue))
  if attempts > 0 then rcall('HSET', KEYS[3], queue, headValue(attempts - 1, lastError)) end
end
if rcall('SISMEMBER', KEYS[4], queue) == 0 then makeWaiting(KEYS[5], KEYS[6], queue, true) end
return 1
